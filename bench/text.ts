/**
 * The text figures of `deno task bench` (`--only text`):
 *
 * - rendering: a 64 MB synthetic recording through the renderer
 *   (lib/text/render.ts: xterm headless, line collection and times), in MB/s
 *   of `.cast` bytes; the baseline is xterm alone writing the same output
 *   (details also give both in CPU time, which a busy machine barely moves);
 * - indexed search: `daemon.ts search` (a subprocess, start-up included) over
 *   1 GB of finished recordings on a bare repository, each with its text
 *   index; the baseline is the shell floor for the same bytes
 *   (`git cat-file` of every index, `zstd -d`, `grep -F`).
 *
 * The 1 GB branch is made directly (fast-import): 16 recordings of the same
 * 64 MB session, each with its chunk, manifest and its own index (built from
 * the one rendering). Search reads only manifests and indexes, so this is
 * what 1 GB of finished recordings costs it.
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import xterm from "@xterm/headless";
import {
  encodeDerivedPayload,
  encodeIndexHeader,
  encodeIndexLine,
  EventParser,
  fileFeed,
  indexTime,
  parseCastHeader,
  renderFeed,
  textIndexPathOnBranch,
  ZstdWriter,
} from "../lib/text/mod.ts";
import { git, gitChecked } from "../lib/git/mod.ts";
import { manifestPathOnBranch } from "../lib/chunk/mod.ts";
import { DEFAULT_BRANCH, run } from "../lib/sys/mod.ts";
import { makeTestHome } from "../tests/support/env.ts";
import { type Figure, othersCores, round, snapshot } from "./figure.ts";
import { writeRecording } from "./recordings.ts";
import { log } from "./rig.ts";

const MB = 1e6;
const SESSION_BYTES = 64 * MB;
const RECORDINGS = 16;
/** Rare in the synthetic output: search has to read every line. */
const PATTERN = "id=0badc0de";
const DAEMON_TS = fileURLToPath(new URL("../daemon.ts", import.meta.url));

/** CPU time (user + system, ms) this process used since `from` (a busy machine slows wall time). */
function cpuMs(from?: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
}

/** xterm alone: every output event of `path` written, nothing collected (wall and CPU ms). */
async function xtermAlone(path: string): Promise<{ ms: number; cpuMs: number }> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  const parser = new EventParser(parseCastHeader(lines[0]));
  const term = new xterm.Terminal({
    cols: 120,
    rows: 40,
    scrollback: 4096,
    allowProposedApi: true,
  });
  const start = performance.now();
  const cpu = process.cpuUsage();
  let queued = 0;
  for (let i = 1; i < lines.length; i++) {
    const event = parser.parse(lines[i]);
    if (event?.kind !== "output") continue;
    term.write(event.data);
    queued += event.data.length;
    if (queued > 1 << 20) {
      await new Promise<void>((resolve) => term.write("", resolve));
      queued = 0;
    }
  }
  await new Promise<void>((resolve) => term.write("", resolve));
  const ms = performance.now() - start;
  const used = cpuMs(cpu);
  term.dispose();
  return { ms, cpuMs: used };
}

/** Writes a fast-import stream to `gitDir`. */
async function fastImport(gitDir: string, parts: (string | Uint8Array)[]): Promise<void> {
  const encoder = new TextEncoder();
  const chunks = parts.map((part) => typeof part === "string" ? encoder.encode(part) : part);
  const stdin = new Uint8Array(chunks.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of chunks) {
    stdin.set(part, at);
    at += part.length;
  }
  const result = await git(["fast-import", "--quiet", "--done"], {
    gitDir,
    stdin,
    timeoutMs: 600_000,
  });
  if (!result.success) throw new Error(`fast-import: ${result.stderr}`);
}

/** Rendering and indexed search; see the module. */
export async function textFigures(hz: number): Promise<Figure[]> {
  const home = await makeTestHome("bench-text-");
  try {
    const cast = join(home.root, "session.cast");
    log(`text: writing the ${SESSION_BYTES / MB} MB recording`);
    const bytes = await writeRecording(cast, { bytes: SESSION_BYTES, seed: 11, ended: true });

    log("text: rendering it");
    let body = "";
    const bodyParts: string[] = [];
    let lines = 0;
    const from = snapshot();
    const started = performance.now();
    const renderCpu = process.cpuUsage();
    await renderFeed(fileFeed(cast, bytes), (batch) => {
      for (const line of batch) body += encodeIndexLine({ t: indexTime(line.us), text: line.text });
      lines += batch.length;
      if (body.length > 1 << 20) {
        bodyParts.push(body);
        body = "";
      }
    });
    bodyParts.push(body);
    const renderMs = performance.now() - started;
    const renderCpuMs = cpuMs(renderCpu);
    const renderOthers = othersCores(from, snapshot(), hz);
    log("text: xterm alone on the same output");
    const alone = await xtermAlone(cast);
    const aloneMs = alone.ms;
    const rate = bytes / MB / (renderMs / 1000);
    const aloneRate = bytes / MB / (aloneMs / 1000);

    log(`text: ${RECORDINGS} finished recordings (${(RECORDINGS * bytes / MB).toFixed(0)} MB)`);
    const remote = join(home.root, "remote.git");
    await gitChecked(["init", "--bare", "--quiet", remote]);
    const chunkFile = join(home.root, "session.cast.zst");
    const zstd = await run("zstd", { args: ["-3", "-q", "-f", cast, "-o", chunkFile] });
    if (!zstd.success) throw new Error(`zstd: ${zstd.stderr}`);
    const compressed = await Deno.readFile(chunkFile);
    const parts: (string | Uint8Array)[] = [
      `commit refs/heads/${DEFAULT_BRANCH}\ncommitter b <b@localhost> 1700000000 +0000\n` +
      "data 5\nbench\n",
    ];
    let indexBytes = 0;
    for (let i = 0; i < RECORDINGS; i++) {
      const id = `bench-text-${String(i).padStart(2, "0")}`;
      const writer = new ZstdWriter();
      writer.write(encodeIndexHeader({ id, bytes, cols: 120, rows: 40, timestamp: 1_700_000_000 }));
      for (const part of bodyParts) writer.write(part);
      const index = (await encodeDerivedPayload(await writer.finish())).bytes;
      indexBytes += index.length;
      const manifest = new TextEncoder().encode(JSON.stringify({
        id,
        total_bytes: bytes,
        chunks: 1,
        started: new Date(1_700_000_000_000 + i * 3_600_000).toISOString(),
        ended: new Date(1_700_000_000_000 + i * 3_600_000 + 1_800_000).toISOString(),
      }));
      for (
        const [path, data] of [
          [`chunks/${id}/000000_0-${bytes}.cast.zst`, compressed],
          [manifestPathOnBranch(id), manifest],
          [textIndexPathOnBranch(id), index],
        ] as const
      ) parts.push(`M 100644 inline ${path}\ndata ${data.length}\n`, data, "\n");
    }
    parts.push("done\n");
    await fastImport(remote, parts);

    log("text: indexed search over 1 GB");
    const searchFrom = snapshot();
    const searchStart = performance.now();
    const search = await run(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", DAEMON_TS, "search", "--repo", remote, PATTERN],
      env: home.env,
      clearEnv: true,
      timeoutMs: 600_000,
    });
    const searchMs = performance.now() - searchStart;
    const searchOthers = othersCores(searchFrom, snapshot(), hz);
    if (search.code > 1) throw new Error(`search failed: ${search.stderr}`);
    const matches = search.stdout.split("\n").filter(Boolean).length;
    log("text: the shell floor (git cat-file | zstd -d | grep -F)");
    const floorStart = performance.now();
    await run("sh", {
      args: [
        "-c",
        `for blob in $(git --git-dir="$1" ls-tree -r ${DEFAULT_BRANCH} recordings/ | ` +
        `awk '/text.zst/ {print $3}'); do git --git-dir="$1" cat-file blob "$blob"; done | ` +
        `zstd -d -q -c | grep -c -F -- "$2" || true`,
        "sh",
        remote,
        PATTERN,
      ],
      timeoutMs: 600_000,
    });
    const floorMs = performance.now() - floorStart;

    const total = RECORDINGS * bytes;
    return [{
      key: "text_render",
      name: "rendering (64 MB through xterm)",
      value: round(rate, 1),
      unit: "MB/s",
      shown: `${rate.toFixed(1)} MB/s (${(renderMs / 1000).toFixed(1)} s, ${lines} lines)`,
      baseline: {
        what: "xterm alone on the same output",
        value: round(aloneRate, 1),
        unit: "MB/s",
        shown: `${aloneRate.toFixed(1)} MB/s`,
      },
      ratio: round(rate / aloneRate, 2),
      target: ">= 10 MB/s",
      met: rate >= 10,
      details: {
        bytes,
        lines,
        render_ms: round(renderMs, 0),
        others_cores: renderOthers,
        // CPU time barely depends on what else runs: the fair comparison on a busy machine.
        render_cpu_ms: round(renderCpuMs, 0),
        render_cpu_rate: round(bytes / MB / (renderCpuMs / 1000), 1),
        xterm_alone_cpu_ms: round(alone.cpuMs, 0),
        cpu_ratio: round(alone.cpuMs / renderCpuMs, 2),
      },
    }, {
      key: "text_search",
      name: "indexed search (1 GB finished)",
      value: round(searchMs / 1000, 2),
      unit: "s",
      shown: `${(searchMs / 1000).toFixed(2)} s (${
        (total / MB / (searchMs / 1000)).toFixed(0)
      } MB of recordings/s)`,
      baseline: {
        what: "git cat-file | zstd -d | grep -F of the same indexes",
        value: round(floorMs / 1000, 2),
        unit: "s",
        shown: `${(floorMs / 1000).toFixed(2)} s`,
      },
      ratio: round(searchMs / floorMs, 2),
      target: "< 5 s",
      met: searchMs < 5000,
      details: {
        recordings: RECORDINGS,
        recording_bytes: total,
        index_bytes: indexBytes,
        text_lines: lines * RECORDINGS,
        matches,
        pattern: PATTERN,
        render_estimate_s: round(total / MB / rate, 0),
        others_cores: searchOthers,
      },
    }];
  } finally {
    await home.cleanup();
  }
}
