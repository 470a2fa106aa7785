/**
 * Throughput of a backlog that has no end: a 200 MB recording already on
 * disk whose recorder has not finished (no exit event, as a v2 recording
 * still being made), until every byte is on the remote, against `zstd -3`
 * of the same file. Its chunks are cut by size: this is what
 * `push_interval_seconds` must not hold back (issue 25).
 *
 * @module
 */
import { join } from "node:path";
import { run } from "../lib/sys/mod.ts";
import { type DaemonProcess, startDaemon } from "../tests/support/daemon.ts";
import { type Figure, othersCores, ratioFigure, round, snapshot } from "./figure.ts";
import { writeRecording } from "./recordings.ts";
import { log, setup, stopDaemon, ZSTD_LEVEL } from "./rig.ts";
import { sampleCpu, timeline } from "./profile.ts";
import { treeTicks } from "./proc.ts";

const MB = 1e6;
const BYTES = 200 * MB;

/** The figure; see the module. */
export async function unendedThroughput(hz: number): Promise<Figure> {
  const s = await setup("bench-unended-");
  let daemon: DaemonProcess | undefined;
  try {
    const id = "bench-unended";
    const cast = join(s.home.paths.active, `${id}.cast`);
    log(`throughput without an end: writing ${BYTES / MB} MB`);
    const bytes = await writeRecording(cast, { bytes: BYTES, seed: 5, ended: false });
    const minuteAgo = new Date(Date.now() - 60_000);
    await Deno.utime(cast, minuteAgo, minuteAgo);
    const zstdFrom = performance.now();
    const zstd = await run("zstd", {
      args: [`-${ZSTD_LEVEL}`, "-q", "-f", cast, "-o", join(s.home.root, "baseline.zst")],
      timeoutMs: 120_000,
    });
    const zstdMs = performance.now() - zstdFrom;
    if (!zstd.success) throw new Error(`zstd: ${zstd.stderr}`);
    await Deno.remove(join(s.home.root, "baseline.zst"));
    log("throughput without an end: the daemon");
    const from = snapshot();
    const wallFrom = Date.now();
    daemon = startDaemon(s.home.env);
    const sampler = sampleCpu(daemon.child.pid, hz);
    const doneAt = await s.watcher.waitUntil((remote) => remote.get(id)?.end === bytes, {
      timeoutMs: 180_000,
      what: "the recording without an end on the remote",
      intervalMs: 10,
    });
    const to = snapshot();
    const ticks = treeTicks(daemon.child.pid);
    const byCommand = await sampler.stop();
    await stopDaemon(daemon);
    daemon = undefined;
    const ms = doneAt - from.t;
    return ratioFigure({
      key: "throughput_unended",
      name: "throughput (200 MB, no end yet)",
      ms,
      baseline: { ms: zstdMs, what: `zstd -${ZSTD_LEVEL} of the same file` },
      most: 2,
      shown: `${(ms / 1000).toFixed(2)} s (${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s)`,
      details: {
        recording_bytes: bytes,
        how: "no exit event: cut by size (max_chunk_bytes) and the rest when idle; until every " +
          "byte is on the remote (no manifest: the recording has not ended)",
        daemon_cpu_s: round(ticks / hz, 2),
        others_cores: othersCores(from, to, hz),
        profile: {
          timeline: await timeline(s.home.paths.home, wallFrom),
          cpu_s_by_command: byCommand,
        },
      },
    });
  } finally {
    await stopDaemon(daemon);
    await s.home.cleanup();
  }
}
