/**
 * Throughput: a 200 MB recording already on disk when the daemon starts,
 * until every byte is on the remote, against `zstd -3` of the same file.
 * Two figures: a recording that ended (its exit event is there: fully
 * pushed includes its manifest), and one whose recorder has not finished
 * (no exit event, as a v2 recording still being made: its chunks are cut
 * by size, and this is what `push_interval_seconds` must not hold back).
 *
 * Each figure is the median of `runs` runs, each in a fresh home with a
 * fresh remote, its baseline measured right before it on the same file;
 * the two kinds take turns. On a shared machine a single run moves by a
 * fifth either way (`zstd -3` alone took 1.5 to 2.1 s on the same file
 * within minutes here); every run's figures are in the details.
 *
 * @module
 */
import { join } from "node:path";
import { run } from "../lib/sys/mod.ts";
import { type DaemonProcess, startDaemon } from "../tests/support/daemon.ts";
import { type Figure, median, othersCores, ratioFigure, round, snapshot } from "./figure.ts";
import { sha256File, writeRecording } from "./recordings.ts";
import { healthSeen, log, type Setup, setup, stopDaemon, ZSTD_LEVEL } from "./rig.ts";
import { sampleCpu, timeline } from "./profile.ts";
import { treeTicks } from "./proc.ts";

const MB = 1e6;
/** The recording's size. */
export const THROUGHPUT_BYTES = 200 * MB;

/** One run: the daemon's time, its baseline's, and where the time went. */
interface Run {
  ms: number;
  zstdMs: number;
  details: Record<string, unknown>;
}

/** A run's home and remote, kept for the restore figure. */
export interface Kept {
  setup: Setup;
  id: string;
  bytes: number;
  /** sha256 of the recording. */
  sha256: string;
}

/** One run of one kind; `keep` leaves its home for the caller (who cleans it up). */
async function throughputRun(
  hz: number,
  options: { ended: boolean; seed: number; keep?: (kept: Kept) => void },
): Promise<Run> {
  const s = await setup(options.ended ? "bench-200mb-" : "bench-unended-");
  let daemon: DaemonProcess | undefined;
  let kept = false;
  try {
    const id = options.ended ? "bench-200mb" : "bench-unended";
    const cast = join(s.home.paths.active, `${id}.cast`);
    const bytes = await writeRecording(cast, {
      bytes: THROUGHPUT_BYTES,
      seed: options.seed,
      ended: options.ended,
    });
    // It waited for the daemon: older than the idle threshold.
    const minuteAgo = new Date(Date.now() - 60_000);
    await Deno.utime(cast, minuteAgo, minuteAgo);
    const sha256 = options.keep ? await sha256File(cast) : "";
    const baselineFrom = snapshot();
    const zstd = await run("zstd", {
      args: [`-${ZSTD_LEVEL}`, "-q", "-f", cast, "-o", join(s.home.root, "baseline.zst")],
      timeoutMs: 120_000,
    });
    const baselineTo = snapshot();
    if (!zstd.success) throw new Error(`zstd: ${zstd.stderr}`);
    await Deno.remove(join(s.home.root, "baseline.zst"));
    const from = snapshot();
    const wallFrom = Date.now();
    daemon = startDaemon(s.home.env);
    const sampler = sampleCpu(daemon.child.pid, hz);
    const up = healthSeen(s.home.paths.health, daemon.child.pid, 30_000);
    let dataAt = 0;
    const doneAt = await s.watcher.waitUntil((remote) => {
      const found = remote.get(id);
      if (found?.end === bytes && !dataAt) dataAt = performance.now();
      return found?.end === bytes && (found.manifest || !options.ended);
    }, { timeoutMs: 180_000, what: `${id} on the remote`, intervalMs: 10 });
    const to = snapshot();
    const ticks = treeTicks(daemon.child.pid);
    const byCommand = await sampler.stop();
    const startupMs = (await up) - from.t;
    await stopDaemon(daemon);
    daemon = undefined;
    if (options.keep) {
      options.keep({ setup: s, id, bytes, sha256 });
      kept = true;
    }
    const ms = doneAt - from.t;
    return {
      ms,
      zstdMs: baselineTo.t - baselineFrom.t,
      details: {
        s: round(ms / 1000, 2),
        zstd_s: round((baselineTo.t - baselineFrom.t) / 1000, 2),
        ratio: round(ms / (baselineTo.t - baselineFrom.t), 2),
        daemon_startup_s: round(startupMs / 1000, 2),
        all_bytes_on_remote_s: round((dataAt - from.t) / 1000, 2),
        daemon_cpu_s: round(ticks / hz, 2),
        baseline_cpu_s: round((baselineTo.ours - baselineFrom.ours) / hz, 2),
        others_cores: othersCores(from, to, hz),
        baseline_others_cores: othersCores(baselineFrom, baselineTo, hz),
        profile: {
          timeline: await timeline(s.home.paths.home, wallFrom),
          cpu_s_by_command: byCommand,
        },
      },
    };
  } finally {
    await stopDaemon(daemon);
    if (!kept) await s.home.cleanup();
  }
}

function figureOf(key: string, name: string, runs: Run[], how: string): Figure {
  const ms = median(runs.map((r) => r.ms));
  const zstdMs = median(runs.map((r) => r.zstdMs));
  return ratioFigure({
    key,
    name,
    ms,
    baseline: { ms: zstdMs, what: `zstd -${ZSTD_LEVEL} of the same file` },
    most: 2,
    shown: `${(ms / 1000).toFixed(2)} s (${(THROUGHPUT_BYTES / MB / (ms / 1000)).toFixed(0)} MB/s)`,
    details: {
      recording_bytes: THROUGHPUT_BYTES,
      how,
      runs: runs.length,
      median_of_ratios: median(runs.map((r) => round(r.ms / r.zstdMs, 2))),
      note: "value and baseline: medians of the runs, each run's baseline measured right " +
        "before it; CPU sampled every 25 ms by command (children shorter than that are partly " +
        "missed); timeline from the daemon's log, seconds since it was spawned",
      each: runs.map((r) => r.details),
    },
  });
}

/**
 * Both throughput figures, `runs` runs each (taking turns); the last run of
 * the recording that ended is handed to `keep` (its home stays).
 */
export async function throughputFigures(
  hz: number,
  options: { runs: number; keep: (kept: Kept) => void },
): Promise<Figure[]> {
  const ended: Run[] = [];
  const unended: Run[] = [];
  for (let i = 0; i < options.runs; i++) {
    log(
      `throughput ${i + 1}/${options.runs}: 200 MB at start (zstd -${ZSTD_LEVEL}, then the daemon)`,
    );
    ended.push(
      await throughputRun(hz, {
        ended: true,
        seed: 3,
        keep: i === options.runs - 1 ? options.keep : undefined,
      }),
    );
    log(`throughput ${i + 1}/${options.runs}: 200 MB without an end`);
    unended.push(await throughputRun(hz, { ended: false, seed: 5 }));
  }
  return [
    figureOf(
      "throughput",
      "throughput (200 MB at start)",
      ended,
      "ended (exit event): until every byte and the manifest are on the remote",
    ),
    figureOf(
      "throughput_unended",
      "throughput (200 MB, no end yet)",
      unended,
      "no exit event: cut by size (max_chunk_bytes) and the rest when idle; until every " +
        "byte is on the remote (no manifest: the recording has not ended)",
    ),
  ];
}
