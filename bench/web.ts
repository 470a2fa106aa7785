/**
 * The web viewer's figures of `deno task bench` (`--only web`), measured in
 * headless Chromium (puppeteer-core, Debian's `chromium`) against
 * `daemon.ts serve`'s server (in this process):
 *
 * - a 1 GB recording (asciicast v3, 8 MiB chunks, made straight onto a bare
 *   repository): time from the page's request to the first frame on the
 *   player's screen, with the bytes the page received; then the middle:
 *   from the same request until the player shows the middle of the
 *   recording (the time map has to be read that far first), and a seek to
 *   the middle once the map is known, each with its bytes. The baseline is
 *   what playing without segments needs before its first frame: the whole
 *   recording read back (`restoreRecording`, the checked path);
 * - 1,000 finished recordings (each with its manifest and text index): the
 *   list (`/api/recordings`) cold and again, and a search
 *   (`/api/search`); baselines `daemon.ts list --json` and `daemon.ts
 *   search` on the same branch (subprocesses, start-up included).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { restoreRecording } from "../lib/branch/mod.ts";
import { manifestPathOnBranch } from "../lib/chunk/mod.ts";
import { chunkCommitMessage, quoteFastImportPath } from "../lib/git/mod.ts";
import { DEFAULT_BRANCH, run } from "../lib/sys/mod.ts";
import {
  encodeDerivedPayload,
  encodeIndexHeader,
  encodeIndexLine,
  fileFeed,
  indexTime,
  renderFeed,
  textIndexPathOnBranch,
  ZstdWriter,
} from "../lib/text/mod.ts";
import { startViewer } from "../lib/web/mod.ts";
import { makeTestHome } from "../tests/support/env.ts";
import { initBare, sha256Hex, zstdCompress } from "../tests/support/fake_branch.ts";
import { writeBigRecording } from "../tests/support/big_branch.ts";
import { withBrowser } from "../tests/support/browser.ts";
import {
  callPlayer,
  screenText,
  waitForScreen,
  waitForWholeMap,
} from "../tests/support/viewer_page.ts";
import { type Figure, othersCores, round, snapshot } from "./figure.ts";
import { writeRecording } from "./recordings.ts";
import { log } from "./rig.ts";

const MB = 1e6;
const BIG_BYTES = 1000 * MB;
const BIG_ID = "bench-web_2024-03-01_10-00-00_1gbx";
const RECORDINGS = 1000;
const SMALL_BYTES = 20_000;
/** Rare in the synthetic output: search reads every line of every recording. */
const PATTERN = "id=0badc0de";
const DAEMON_TS = fileURLToPath(new URL("../daemon.ts", import.meta.url));

/** Seconds, two decimals. */
function s(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** 1,000 finished recordings, each a chunk, a manifest and a text index, in one fast-import. */
async function thousandRecordings(remote: string, dir: string): Promise<void> {
  const cast = join(dir, "small.cast");
  const bytes = await writeRecording(cast, { bytes: SMALL_BYTES, seed: 21, ended: true });
  const data = await Deno.readFile(cast);
  const compressed = await zstdCompress(data);
  let body = "";
  await renderFeed(fileFeed(cast, bytes), (batch) => {
    for (const line of batch) body += encodeIndexLine({ t: indexTime(line.us), text: line.text });
  });
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const add = (part: string | Uint8Array) =>
    parts.push(typeof part === "string" ? encoder.encode(part) : part);
  const sha256 = sha256Hex(data);
  for (let i = 0; i < RECORDINGS; i++) {
    const day = String(1 + (i % 28)).padStart(2, "0");
    const id = `host${i % 7}_2024-04-${day}_10-00-00_${String(i).padStart(4, "0")}`;
    const writer = new ZstdWriter();
    writer.write(encodeIndexHeader({ id, bytes, cols: 120, rows: 40, timestamp: 1_700_000_000 }));
    writer.write(body);
    const index = (await encodeDerivedPayload(await writer.finish())).bytes;
    const started = new Date(Date.UTC(2024, 3, 1 + (i % 28), 10, 0, i % 60)).toISOString();
    const manifest = encoder.encode(JSON.stringify({
      id,
      total_bytes: bytes,
      chunks: 1,
      sha256,
      started,
      ended: new Date(Date.parse(started) + 600_000).toISOString(),
      host: `host${i % 7}.example`,
    }));
    const message = chunkCommitMessage({ id, seq: 0, start: 0, end: bytes, sha256 });
    add(
      `commit refs/heads/${DEFAULT_BRANCH}\ncommitter b <b@localhost> ${
        1_700_000_000 + i
      } +0000\n` +
        `data ${encoder.encode(message).length}\n${message}\n`,
    );
    for (
      const [path, content] of [
        [`chunks/${id}/000000_0-${bytes}.cast.zst`, compressed],
        [manifestPathOnBranch(id), manifest],
        [textIndexPathOnBranch(id), index],
      ] as const
    ) {
      add(`M 100644 inline ${quoteFastImportPath(path)}\ndata ${content.length}\n`);
      add(content);
      add("\n");
    }
  }
  add("done\n");
  const child = new Deno.Command("git", {
    args: ["fast-import", "--quiet", "--done"],
    env: { GIT_DIR: remote, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  for (const part of parts) await writer.write(part);
  await writer.close();
  const output = await child.output();
  if (!output.success) throw new Error(`fast-import: ${new TextDecoder().decode(output.stderr)}`);
}

/** The web figures; see the module. */
export async function webFigures(hz: number): Promise<Figure[]> {
  const home = await makeTestHome("bench-web-");
  try {
    const big = join(home.root, "big.git");
    await initBare(big);
    log(`web: writing a ${BIG_BYTES / MB} MB recording onto a branch`);
    const written = await writeBigRecording(big, { id: BIG_ID, bytes: BIG_BYTES, ended: true });

    log("web: the baseline, reading the whole recording back");
    const restoreStart = performance.now();
    await restoreRecording(BIG_ID, {
      repoUrl: big,
      paths: home.paths,
      offline: false,
      output: join(home.root, "restored.cast"),
      force: true,
    });
    const restoreMs = performance.now() - restoreStart;
    await Deno.remove(join(home.root, "restored.cast"));

    const many = join(home.root, "many.git");
    await initBare(many);
    log(`web: ${RECORDINGS} finished recordings with text indexes`);
    await thousandRecordings(many, home.root);

    const figures: Figure[] = [];
    const from = snapshot();
    const viewer = await startViewer({ repoUrl: big, paths: home.paths });
    const origin = new URL(viewer.url).origin;
    const measured: Record<string, number> = {};
    try {
      await withBrowser(async ({ page, received, resetCount }) => {
        await page.goto(`${viewer.url}#/`);
        await page.waitForSelector("#recordings tbody tr");
        /** Waits for the screen to show something else than `other`; returns what it shows. */
        const screen = async (other?: string) => {
          await waitForScreen(page, "", { other, timeout: 300_000 });
          return await screenText(page);
        };
        log("web: first frame of the 1 GB recording");
        resetCount();
        const opened = performance.now();
        await page.goto(`${origin}/#/play?r=0&id=${BIG_ID}`);
        const first = await screen();
        measured.first_ms = performance.now() - opened;
        measured.first_bytes = received();

        log("web: its middle, from the same request");
        // The page reloads the player once the map is whole; then the seek.
        const duration = await waitForWholeMap(page, BIG_ID);
        measured.map_ms = performance.now() - opened;
        const middle = duration / 2;
        const before = await screenText(page);
        await callPlayer(page, "seek", middle);
        await screen(before);
        measured.middle_cold_ms = performance.now() - opened;
        measured.middle_cold_bytes = received();

        log("web: a seek to the middle once the map is known");
        await callPlayer(page, "pause");
        const atMiddle = await screenText(page);
        await callPlayer(page, "seek", 1);
        const early = await screen(atMiddle);
        resetCount();
        const seekStart = performance.now();
        await callPlayer(page, "seek", middle + 7.5);
        await screen(early);
        measured.seek_ms = performance.now() - seekStart;
        measured.seek_bytes = received();
        measured.first_text = first.length;
        measured.duration_s = duration;
      });
    } finally {
      await viewer.close();
    }
    const bigOthers = othersCores(from, snapshot(), hz);

    log(`web: list and search over ${RECORDINGS} recordings`);
    const listFrom = snapshot();
    const manyViewer = await startViewer({ repoUrl: many, paths: home.paths });
    let listCold = 0;
    let listWarm = 0;
    let searchMs = 0;
    let listed = 0;
    let found = 0;
    try {
      const login = await fetch(manyViewer.url);
      await login.body?.cancel();
      const cookie = login.headers.get("set-cookie")!.split(";")[0];
      const get = async (path: string) => {
        const start = performance.now();
        const response = await fetch(`${new URL(manyViewer.url).origin}${path}`, {
          headers: { cookie },
        });
        const body = await response.json();
        if (!response.ok) throw new Error(`${path}: ${body.error}`);
        return { ms: performance.now() - start, body };
      };
      const cold = await get("/api/recordings");
      listCold = cold.ms;
      listed = cold.body.total;
      listWarm = (await get("/api/recordings?machine=host3.example")).ms;
      const searched = await get(`/api/search?q=${PATTERN}`);
      searchMs = searched.ms;
      found = searched.body.matches;
    } finally {
      await manyViewer.close();
    }
    const listOthers = othersCores(listFrom, snapshot(), hz);
    const cli = async (args: string[]) => {
      const start = performance.now();
      const result = await run(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", DAEMON_TS, ...args],
        env: home.env,
        clearEnv: true,
        timeoutMs: 600_000,
      });
      if (result.code > 1) throw new Error(`${args[0]}: ${result.stderr}`);
      return performance.now() - start;
    };
    const cliList = await cli(["list", "--repo", many, "--json"]);
    const cliSearch = await cli(["search", "--repo", many, PATTERN]);

    const fraction = (bytes: number) => `${(bytes / written.bytes * 100).toFixed(2)} %`;
    figures.push({
      key: "web_first_frame",
      name: "viewer: first frame (1 GB)",
      value: round(measured.first_ms / 1000, 2),
      unit: "s",
      shown: `${s(measured.first_ms)}, ${(measured.first_bytes / MB).toFixed(1)} MB received`,
      baseline: {
        what: "reading the whole recording back (restore), what playing it unsegmented needs first",
        value: round(restoreMs / 1000, 2),
        unit: "s",
        shown: s(restoreMs),
      },
      ratio: round(measured.first_ms / restoreMs, 2),
      target: "<= 2 s, < 5 % of the recording received",
      met: measured.first_ms <= 2000 && measured.first_bytes < written.bytes * 0.05,
      details: {
        recording_bytes: written.bytes,
        chunks: written.chunks,
        compressed_bytes: written.compressed,
        received_bytes: measured.first_bytes,
        received_fraction: fraction(measured.first_bytes),
        others_cores: bigOthers,
      },
    }, {
      key: "web_seek_middle",
      name: "viewer: seek to the middle (1 GB)",
      value: round(measured.seek_ms / 1000, 2),
      unit: "s",
      shown: `${s(measured.seek_ms)} once the time map is known (${
        (measured.seek_bytes / MB).toFixed(1)
      } MB); from the first request ${s(measured.middle_cold_ms)} (map read in ${
        s(measured.map_ms)
      }, ${(measured.middle_cold_bytes / MB).toFixed(1)} MB)`,
      target: "<= 2 s once the map is known, < 5 % received",
      met: measured.seek_ms <= 2000 && measured.middle_cold_bytes < written.bytes * 0.05,
      details: {
        duration_s: round(measured.duration_s, 1),
        seek_ms: round(measured.seek_ms, 0),
        seek_bytes: measured.seek_bytes,
        from_request_ms: round(measured.middle_cold_ms, 0),
        from_request_bytes: measured.middle_cold_bytes,
        from_request_fraction: fraction(measured.middle_cold_bytes),
        time_map_ms: round(measured.map_ms, 0),
        time_map_mb_per_s: round(written.bytes / MB / (measured.map_ms / 1000), 1),
        others_cores: bigOthers,
      },
    }, {
      key: "web_list",
      name: `viewer: list (${RECORDINGS} recordings)`,
      value: round(listCold / 1000, 2),
      unit: "s",
      shown: `${s(listCold)} first, ${s(listWarm)} again (filtered)`,
      baseline: {
        what: "daemon.ts list --json (a process, start-up included)",
        value: round(cliList / 1000, 2),
        unit: "s",
        shown: s(cliList),
      },
      ratio: round(listCold / cliList, 2),
      target: "< 2 s first, < 0.5 s again",
      met: listCold < 2000 && listWarm < 500 && listed === RECORDINGS,
      details: {
        recordings: listed,
        first_ms: round(listCold, 0),
        again_ms: round(listWarm, 0),
        others_cores: listOthers,
      },
    }, {
      key: "web_search",
      name: `viewer: search (${RECORDINGS} recordings)`,
      value: round(searchMs / 1000, 2),
      unit: "s",
      shown: `${s(searchMs)} (${found} matches)`,
      baseline: {
        what: "daemon.ts search (a process, start-up included), same engine",
        value: round(cliSearch / 1000, 2),
        unit: "s",
        shown: s(cliSearch),
      },
      ratio: round(searchMs / cliSearch, 2),
      target: "< 5 s",
      met: searchMs < 5000,
      details: { matches: found, pattern: PATTERN, others_cores: listOthers },
    });
    return figures;
  } finally {
    await home.cleanup();
  }
}
