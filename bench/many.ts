/**
 * "1,000 recordings appear at once": a running daemon (default settings but
 * the bench's idle threshold) sees N small live recordings appear in
 * `active/` within a moment (renamed in from a staging folder), and the
 * figure is the time until every one has its first chunk on the remote, the
 * daemon's CPU seconds (its process tree, reaped children included) and its
 * peak RSS, for N = 100 and N = 1,000 side by side: the CPU ratio shows how
 * the work grows with the number of recordings (linear: 10x).
 *
 * @module
 */
import { join } from "node:path";
import { type DaemonProcess, startDaemon } from "../tests/support/daemon.ts";
import { type Figure, othersCores, round, snapshot } from "./figure.ts";
import { readMemory, resetPeak, sampleTreePeak, treeTicks } from "./proc.ts";
import { writeRecording } from "./recordings.ts";
import { healthSeen, log, setup, sleep, stopDaemon } from "./rig.ts";

const MB = 1e6;

/** What one run measured. */
export interface ManyRun {
  /** Recordings. */
  n: number;
  /** From the last rename until every first chunk was on the remote (s). */
  seconds: number;
  /** Daemon CPU (its tree, reaped children included) over that time (s). */
  cpuSeconds: number;
  /** Peak RSS of the daemon process over that time (VmHWM after a reset), MB. */
  peakMb: number;
  /** Peak RSS of the daemon's process tree, sampled every 100 ms, MB. */
  treePeakMb: number;
  /** CPU used by processes outside the benchmark meanwhile (cores). */
  othersCores: number;
}

/** One run: a daemon, then `n` recordings appear; until each has a chunk on the remote. */
export async function manyAtOnce(
  hz: number,
  n: number,
  options: { timeoutMs?: number } = {},
): Promise<ManyRun> {
  const s = await setup(`bench-many-${n}-`);
  let daemon: DaemonProcess | undefined;
  try {
    const staging = join(s.home.root, "staging");
    await Deno.mkdir(staging);
    const ids = Array.from({ length: n }, (_, i) => `many-${String(i).padStart(5, "0")}`);
    for (const [i, id] of ids.entries()) {
      await writeRecording(join(staging, `${id}.cast`), { bytes: 2_000, seed: 500 + i });
    }
    daemon = startDaemon(s.home.env);
    const pid = daemon.child.pid;
    await healthSeen(s.home.paths.health, pid, 30_000);
    await sleep(1000);
    resetPeak(pid);
    const sampler = sampleTreePeak(pid);
    const from = snapshot();
    const ticksFrom = treeTicks(pid);
    log(`many: ${n} recordings appear`);
    for (const id of ids) {
      await Deno.rename(join(staging, `${id}.cast`), join(s.home.paths.active, `${id}.cast`));
    }
    const done = await s.watcher.waitUntil(
      (remote) => ids.every((id) => (remote.get(id)?.chunks ?? 0) > 0),
      { timeoutMs: options.timeoutMs ?? 600_000, what: `${n} first chunks`, intervalMs: 50 },
    );
    const ticks = treeTicks(pid) - ticksFrom;
    const treePeak = await sampler.stop();
    const memory = readMemory(pid);
    return {
      n,
      seconds: round((done - from.t) / 1000, 2),
      cpuSeconds: round(ticks / hz, 2),
      peakMb: round((memory?.hwm ?? 0) / MB, 1),
      treePeakMb: round(treePeak / MB, 1),
      othersCores: othersCores(from, snapshot(), hz),
    };
  } finally {
    await stopDaemon(daemon);
    await s.home.cleanup();
  }
}

/** The figure: N = 100 and N = 1,000 side by side. */
export async function manyFigures(hz: number, options: { big?: number } = {}): Promise<Figure[]> {
  const small = await manyAtOnce(hz, 100);
  const big = await manyAtOnce(hz, options.big ?? 1000);
  const cpuRatio = small.cpuSeconds > 0 ? big.cpuSeconds / small.cpuSeconds : Infinity;
  const scale = big.n / small.n;
  const shownRun = (run: ManyRun) =>
    `N=${run.n}: ${run.seconds.toFixed(1)} s, ${run.cpuSeconds.toFixed(1)} CPU s, ${
      run.peakMb.toFixed(0)
    } MB`;
  return [{
    key: "many_recordings",
    name: `${big.n} recordings appear at once`,
    value: big.seconds,
    unit: "s",
    shown: shownRun(big),
    baseline: {
      what: `the same with N=${small.n}`,
      value: small.seconds,
      unit: "s",
      shown: shownRun(small),
    },
    ratio: round(cpuRatio, 2),
    target: `<= 60 s; CPU ratio <= ${1.2 * scale}x for ${scale}x the recordings`,
    met: big.seconds <= 60 && cpuRatio <= 1.2 * scale,
    details: {
      runs: [small, big],
      cpu_ratio: round(cpuRatio, 2),
      time_ratio: round(big.seconds / small.seconds, 2),
      recording_bytes: 2_000,
      what:
        "from the moment the recordings are renamed into active/ until each has a chunk on the remote",
    },
  }];
}
