/**
 * `deno task bench`: what the daemon costs and how fast it protects data.
 *
 * Runs the real daemon (`deno run -A daemon.ts run`) as a subprocess with a
 * temporary HOME/ASCIINEMA_HOME and a local bare repository as its remote
 * (config.json `repo_url`), on synthetic asciicast v3 recordings, and
 * measures, each in this run and against a baseline where one exists:
 *
 * - backlog: 20 small recordings present at start, until all are on the remote;
 * - idle CPU: daemon plus children over 30 s with those 20 idle, pushed recordings;
 * - latency: an append to a live recording until the remote has it, minus the idle threshold;
 * - memory: peak RSS while a 1 GB recording is backed up, against the peak at idle;
 * - throughput: a 200 MB recording present at start until fully pushed, against `zstd -3`
 *   (with its per-stage profile), and the same without an end (bench/throughput.ts);
 * - restore: of that recording (lib/restore.ts), against `zstd -d` of its concatenated chunks;
 * - data at risk: TUI-like recordings for 5 minutes at the default settings (bench/data_at_risk.ts);
 * - text: rendering through the terminal emulator, and indexed search over 1 GB (bench/text.ts);
 * - year: list, verify, restore, search and a new machine's first push on a branch of 101,000
 *   commits against a short branch with the same recordings; the clone's size and upkeep
 *   (bench/year.ts);
 * - web: the viewer in Chromium: first frame and seeks of a 1 GB recording, list and search over
 *   1,000 recordings (bench/web.ts);
 * - many: 100 and 1,000 recordings appear at once, until each has a chunk on the remote (bench/many.ts).
 *
 * Prints a table and writes `bench/results.json` (or `--output <path>`; with
 * `--only`, the other groups' figures already in the file are kept); with
 * `--strict` it exits 1 when a target is missed. `--only small,big,risk,text,year,web,many` runs
 * some groups; `--risk-seconds N` and `--risk-recordings N` size the data-at-risk figure,
 * `--year-recordings N` and `--year-chunks N` the year (default 1,000 x 100), `--many N` the
 * larger run of the many-recordings one (default 1000).
 * `--big-runs N` (default 5) sets how many runs the throughput and restore medians take.
 * `BENCH_SETTLE_MS` (default 2000) is the pause between the backlog and the idle period.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../lib/sys/mod.ts";
import { run } from "../lib/sys/mod.ts";
import { type DaemonProcess, startDaemon } from "../tests/support/daemon.ts";
import {
  clockTicks,
  machineLoad,
  readMemory,
  resetPeak,
  sampleTreePeak,
  treeTicks,
} from "./proc.ts";
import { type Figure, othersCores, percentile, round, snapshot } from "./figure.ts";
import { dataAtRisk } from "./data_at_risk.ts";
import { textFigures } from "./text.ts";
import { type Kept, throughputFigures } from "./throughput.ts";
import { restoreFigure } from "./restore_figure.ts";
import { yearFigures } from "./year.ts";
import { webFigures } from "./web.ts";
import { manyFigures } from "./many.ts";
import { burst, writeRecording } from "./recordings.ts";
import { healthSeen, IDLE_THRESHOLD, log, setup, sleep, stopDaemon, ZSTD_LEVEL } from "./rig.ts";

const MB = 1e6;
const SMALL_RECORDINGS = 20;
const IDLE_SECONDS = 30;
const LATENCY_ROUNDS = 15;
const MEMORY_BYTES = 1000 * MB;

async function machine(): Promise<Record<string, unknown>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const zstd = await run("zstd", { args: ["--version"], timeoutMs: 5000 });
  const git = await run("git", { args: ["--version"], timeoutMs: 5000 });
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    memory_gb: round(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1e6, 1),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    zstd: /v[\d.]+/.exec(zstd.stdout)?.[0] ?? "unknown",
    git: git.stdout.trim().replace(/^git version /, ""),
  };
}

/** Sets the mtime of `active/<id>.cast` to `seconds` ago: recordings that waited for the daemon. */
async function waitingSince(active: string, ids: string[], seconds: number): Promise<void> {
  const then = new Date(Date.now() - seconds * 1000);
  for (const id of ids) await Deno.utime(join(active, `${id}.cast`), then, then);
}

/** Backlog, idle CPU, latency and memory: one daemon, 20 small recordings, then 1 GB. */
async function smallAndBig(hz: number): Promise<Figure[]> {
  const s = await setup("bench-idle-");
  let daemon: DaemonProcess | undefined;
  try {
    const ids = Array.from(
      { length: SMALL_RECORDINGS },
      (_, i) => `bench-live-${String(i).padStart(2, "0")}`,
    );
    const sizes = new Map<string, number>();
    for (const [i, id] of ids.entries()) {
      const bytes = await writeRecording(join(s.home.paths.active, `${id}.cast`), {
        bytes: 20_000 + i * 3_000,
        seed: 100 + i,
      });
      sizes.set(id, bytes);
    }
    await waitingSince(s.home.paths.active, ids, 60);
    const bigId = "bench-1gb";
    const staging = join(s.home.root, "staging");
    await Deno.mkdir(staging);
    log(`writing the ${MEMORY_BYTES / MB} MB recording`);
    const bigBytes = await writeRecording(join(staging, `${bigId}.cast`), {
      bytes: MEMORY_BYTES,
      seed: 7,
      ended: true,
    });

    // Backlog: from spawning the daemon until all 20 are on the remote.
    log("backlog: starting the daemon with 20 recordings waiting");
    const figures: Figure[] = [];
    const backlogFrom = snapshot();
    daemon = startDaemon(s.home.env);
    const pid = daemon.child.pid;
    const up = healthSeen(s.home.paths.health, pid, 30_000);
    const allPushed = await s.watcher.waitUntil(
      (remote) => ids.every((id) => remote.get(id)?.end === sizes.get(id)),
      { timeoutMs: 60_000, what: "the 20 recordings on the remote" },
    );
    const backlogMs = allPushed - backlogFrom.t;
    const startupMs = (await up) - backlogFrom.t;
    figures.push({
      key: "backlog",
      name: "backlog (20 recordings at start)",
      value: round(backlogMs / 1000, 2),
      unit: "s",
      shown: `${(backlogMs / 1000).toFixed(2)} s`,
      target: "< 6 s",
      met: backlogMs < 6000,
      details: {
        daemon_startup_s: round(startupMs / 1000, 2),
        idle_threshold_s: IDLE_THRESHOLD,
        recordings: SMALL_RECORDINGS,
        total_bytes: [...sizes.values()].reduce((a, b) => a + b, 0),
        others_cores: othersCores(backlogFrom, snapshot(), hz),
      },
    });

    // Idle CPU: let the last pushes settle, then 30 s of nothing.
    await sleep(Number(Deno.env.get("BENCH_SETTLE_MS") ?? 2000));
    log(`idle CPU: ${IDLE_SECONDS} s with ${SMALL_RECORDINGS} idle, pushed recordings`);
    const peakReset = resetPeak(pid);
    const idleFrom = snapshot();
    const ticksFrom = treeTicks(pid);
    await sleep(IDLE_SECONDS * 1000);
    const ticksTo = treeTicks(pid);
    const idleTo = snapshot();
    const idleSeconds = (idleTo.t - idleFrom.t) / 1000;
    const idlePercent = (ticksTo - ticksFrom) / hz / idleSeconds * 100;
    figures.push({
      key: "idle_cpu",
      name: "idle CPU (20 idle recordings)",
      value: round(idlePercent, 3),
      unit: "% of a core",
      shown: `${idlePercent.toFixed(2)} % of a core`,
      target: "< 1 % of a core",
      met: idlePercent < 1,
      details: {
        seconds: round(idleSeconds, 1),
        cpu_ticks: ticksTo - ticksFrom,
        clock_ticks_per_second: hz,
        others_cores: othersCores(idleFrom, idleTo, hz),
      },
    });
    const idleMemory = readMemory(pid)!;

    // Latency: append a burst to one recording; until the remote has it, minus the idle threshold.
    log(`latency: ${LATENCY_ROUNDS} appends`);
    const latencyFrom = snapshot();
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_ROUNDS; i++) {
      const id = ids[i % ids.length];
      const path = join(s.home.paths.active, `${id}.cast`);
      const file = await Deno.open(path, { append: true });
      const bytes = burst(20, 1000 + i);
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
      file.close();
      const appended = performance.now();
      const size = sizes.get(id)! + bytes.length;
      sizes.set(id, size);
      const seen = await s.watcher.waitUntil((remote) => (remote.get(id)?.end ?? 0) >= size, {
        timeoutMs: 30_000,
        what: `append ${i} on the remote`,
      });
      latencies.push(seen - appended - IDLE_THRESHOLD * 1000);
      await sleep(100);
    }
    const p50 = percentile(latencies, 0.5);
    const p95 = percentile(latencies, 0.95);
    figures.push({
      key: "latency",
      name: "latency beyond idle threshold",
      value: round(p95 / 1000, 3),
      unit: "s (p95)",
      shown: `p50 ${(p50 / 1000).toFixed(3)} s, p95 ${(p95 / 1000).toFixed(3)} s`,
      target: "p50 and p95 < 1 s",
      met: p50 < 1000 && p95 < 1000,
      details: {
        p50_s: round(p50 / 1000),
        p95_s: round(p95 / 1000),
        max_s: round(Math.max(...latencies) / 1000),
        rounds_s: latencies.map((ms) => round(ms / 1000)),
        idle_threshold_s: IDLE_THRESHOLD,
        poll_interval_ms: 5,
        others_cores: othersCores(latencyFrom, snapshot(), hz),
      },
    });

    // Memory: peak RSS while a 1 GB recording is backed up, against the peak so far (idle).
    log(`memory: backing up ${bigBytes / MB} MB`);
    resetPeak(pid);
    const beforeBig = readMemory(pid)!;
    const memoryFrom = snapshot();
    await Deno.rename(join(staging, `${bigId}.cast`), join(s.home.paths.active, `${bigId}.cast`));
    const sampler = sampleTreePeak(pid);
    const bigDone = await s.watcher.waitUntil(
      (remote) => remote.get(bigId)?.manifest === true && remote.get(bigId)?.end === bigBytes,
      { timeoutMs: 240_000, what: "the 1 GB recording on the remote", intervalMs: 20 },
    );
    const treePeak = await sampler.stop();
    const bigMemory = readMemory(pid)!;
    const growth = bigMemory.hwm - idleMemory.hwm;
    figures.push({
      key: "memory",
      name: "memory growth (1 GB recording)",
      value: round(growth / MB, 1),
      unit: "MB",
      shown: `${growth >= 0 ? "+" : ""}${(growth / MB).toFixed(1)} MB (peak ${
        (bigMemory.hwm / MB).toFixed(0)
      } MB)`,
      baseline: {
        what: "peak RSS over the 30 s idle (VmHWM)",
        value: round(idleMemory.hwm / MB, 1),
        unit: "MB",
        shown: `${(idleMemory.hwm / MB).toFixed(0)} MB`,
      },
      ratio: round(bigMemory.hwm / idleMemory.hwm, 2),
      target: "grows < 50 MB",
      met: growth < 50 * MB,
      details: {
        recording_bytes: bigBytes,
        idle_rss_mb: round(idleMemory.rss / MB, 1),
        idle_peak_mb: round(idleMemory.hwm / MB, 1),
        rss_before_backup_mb: round(beforeBig.rss / MB, 1),
        peak_reset: peakReset
          ? "VmHWM reset (clear_refs 5) before the idle period and before the backup"
          : "VmHWM could not be reset: the idle peak includes startup and the backlog",
        peak_mb: round(bigMemory.hwm / MB, 1),
        tree_rss_peak_mb_sampled: round(treePeak / MB, 1),
        backup_s: round((bigDone - memoryFrom.t) / 1000, 2),
        others_cores: othersCores(memoryFrom, snapshot(), hz),
      },
    });
    return figures;
  } finally {
    await stopDaemon(daemon);
    await s.home.cleanup();
  }
}

/** Throughput (both kinds) and restore, each the median of `runs` runs. */
async function bigFigures(hz: number, runs: number): Promise<Figure[]> {
  let kept: Kept | undefined;
  try {
    const figures = await throughputFigures(hz, { runs, keep: (k) => kept = k });
    if (!kept) throw new Error("the throughput figure kept no recording to restore");
    figures.push(await restoreFigure(hz, kept, runs));
    return figures;
  } finally {
    await kept?.setup.home.cleanup();
  }
}

function table(figures: Figure[]): string {
  const rows = [["figure", "measured", "baseline", "ratio", "target", "met"]];
  for (const f of figures) {
    rows.push([
      f.name,
      f.shown,
      f.baseline ? `${f.baseline.shown} (${f.baseline.what})` : "-",
      f.ratio !== undefined && f.key !== "memory" ? `${f.ratio.toFixed(2)}x` : "-",
      f.target,
      f.met ? "yes" : "NO",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  return [
    line(rows[0]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

function valueOf(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(): Promise<number> {
  const args = Deno.args;
  const outIndex = args.indexOf("--output");
  const output = outIndex >= 0
    ? args[outIndex + 1]
    : fileURLToPath(new URL("./results.json", import.meta.url));
  for (const tool of ["zstd", "git"]) {
    if ((await run(tool, { args: ["--version"], timeoutMs: 5000 })).code === 127) {
      console.error(`deno task bench needs ${tool} on PATH`);
      return 2;
    }
  }
  const hz = await clockTicks();
  const started = performance.now();
  const loadBefore = machineLoad();
  const only = valueOf(args, "--only")?.split(",");
  const wanted = (group: string) => !only || only.includes(group);
  const figures: Figure[] = [];
  if (wanted("small")) figures.push(...await smallAndBig(hz));
  if (wanted("big")) {
    figures.push(...await bigFigures(hz, Number(valueOf(args, "--big-runs") ?? 5)));
  }
  if (wanted("risk")) {
    figures.push(
      ...await dataAtRisk(hz, {
        seconds: Number(valueOf(args, "--risk-seconds") ?? 300),
        recordings: Number(valueOf(args, "--risk-recordings") ?? 1),
      }),
    );
  }
  if (wanted("text")) figures.push(...await textFigures(hz));
  if (wanted("year")) {
    figures.push(
      ...await yearFigures(hz, {
        recordings: Number(valueOf(args, "--year-recordings") ?? 1000),
        chunks: Number(valueOf(args, "--year-chunks") ?? 100),
      }),
    );
  }
  if (wanted("web")) figures.push(...await webFigures(hz));
  if (wanted("many")) {
    figures.push(...await manyFigures(hz, { big: Number(valueOf(args, "--many") ?? 1000) }));
  }
  const loadAfter = machineLoad();
  const order = [
    "idle_cpu",
    "latency",
    "backlog",
    "throughput",
    "throughput_unended",
    "memory",
    "restore",
    "data_at_risk",
    "text_render",
    "text_search",
    "year_list",
    "year_verify",
    "year_restore",
    "year_search",
    "year_first_push",
    "year_clone_size",
    "year_upkeep",
    "web_first_frame",
    "web_seek_middle",
    "web_list",
    "web_search",
    "many_recordings",
  ];
  figures.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
  const seconds = (performance.now() - started) / 1000;
  // `--only` measures some groups: the other groups' last figures in the file are kept.
  const kept: Record<string, Omit<Figure, "key">> = only
    ? await Deno.readTextFile(output).then((text) => JSON.parse(text).figures ?? {}, () => ({}))
    : {};
  const measured = Object.fromEntries(figures.map(({ key, ...rest }) => [key, rest]));
  const all = { ...kept, ...measured };
  const results = {
    date: new Date().toISOString(),
    machine: await machine(),
    load: {
      load1_before: loadBefore.load1,
      load1_after: loadAfter.load1,
      machine_busy_percent: round(
        (loadAfter.busy - loadBefore.busy) / (loadAfter.total - loadBefore.total) * 100,
        1,
      ),
      note: "others_cores in each figure's details: CPU (in cores) used by processes outside " +
        "the benchmark while it was measured",
    },
    settings: { idle_threshold: IDLE_THRESHOLD, zstd_level: ZSTD_LEVEL, other: "defaults" },
    duration_s: round(seconds, 1),
    groups: only ?? "all",
    all_met: Object.values(all).every((f) => f.met),
    figures: Object.fromEntries(
      Object.entries(all).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)),
    ),
  };
  console.log(table(figures));
  console.log(
    `\n${results.machine.nproc} cores, ${results.machine.cpu}, ${results.machine.memory_gb} GB, ` +
      `deno ${results.machine.deno}; load ${loadBefore.load1} -> ${loadAfter.load1}; ` +
      `${seconds.toFixed(0)} s`,
  );
  await writeFileAtomic(output, JSON.stringify(results, null, 2) + "\n", { mode: 0o644 });
  console.log(`wrote ${output}`);
  return results.all_met || !args.includes("--strict") ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
