/**
 * Data at risk under a terminal that never goes quiet: recordings written
 * like a TUI (a short redraw every 100 ms, a longer burst every few seconds)
 * for minutes, with the daemon at its default settings. Every second it
 * samples the age of the oldest byte that is in a `.cast` but not on the
 * remote yet, and reports its max and p95, the daemon's CPU share, and the
 * commits and pushes per minute.
 *
 * @module
 */
import { join } from "node:path";
import { gitChecked } from "../lib/git/mod.ts";
import { type DaemonProcess, startDaemon } from "../tests/support/daemon.ts";
import { type Figure, othersCores, percentile, round, snapshot } from "./figure.ts";
import { treeTicks } from "./proc.ts";
import { castHeader } from "./recordings.ts";
import { healthSeen, log, setup, sleep, stopDaemon } from "./rig.ts";

const encoder = new TextEncoder();
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A TUI-like writer: what it wrote, and when each byte range was written. */
class TuiWriter {
  readonly path: string;
  /** End offset of each write, and its time (monotonic ms). */
  readonly writes: { end: number; at: number }[] = [];
  #size = 0;
  #tick = 0;

  constructor(path: string) {
    this.path = path;
  }

  get size(): number {
    return this.#size;
  }

  async #append(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    const file = await Deno.open(this.path, { create: true, append: true });
    try {
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
    } finally {
      file.close();
    }
    this.#size += bytes.length;
    this.writes.push({ end: this.#size, at: performance.now() });
  }

  async start(): Promise<void> {
    await this.#append(castHeader());
  }

  /** One 100 ms step: a spinner redraw, and every 3 s a burst of output lines. */
  async step(): Promise<void> {
    const t = this.#tick++;
    let text = JSON.stringify([0.1, "o", `\r\u001b[K${SPINNER[t % 10]} working ${t / 10}s`]) +
      "\n";
    if (t % 30 === 29) {
      for (let i = 0; i < 20; i++) {
        text +=
          JSON.stringify([0.01, "o", `\r\nbuild step ${t}.${i}: compiled ${"#".repeat(50)}`]) +
          "\n";
      }
    }
    await this.#append(text);
  }

  /** Age (ms) at `now` of the oldest byte beyond `remoteEnd`; 0 when all is there. */
  ageAt(remoteEnd: number, now: number): number {
    if (remoteEnd >= this.#size) return 0;
    const first = this.writes.find((write) => write.end > remoteEnd);
    return first ? now - first.at : 0;
  }
}

async function countLines(args: string[], gitDir: string): Promise<number> {
  const text = await gitChecked(args, { gitDir }).catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

/** Runs the load for `seconds` on `recordings` TUI recordings; returns the figure. */
export async function dataAtRisk(
  hz: number,
  options: { seconds: number; recordings: number },
): Promise<Figure[]> {
  // The daemon's defaults are what is measured: only the remote is set.
  const s = await setup("bench-risk-", {});
  await gitChecked(["config", "core.logAllRefUpdates", "always"], { gitDir: s.remote });
  let daemon: DaemonProcess | undefined;
  try {
    const writers = Array.from(
      { length: options.recordings },
      (_, i) => new TuiWriter(join(s.home.paths.active, `tui-${i}.cast`)),
    );
    for (const writer of writers) await writer.start();
    daemon = startDaemon(s.home.env);
    await healthSeen(s.home.paths.health, daemon.child.pid, 30_000);
    log(`data at risk: ${options.recordings} TUI-like recordings for ${options.seconds} s`);
    const from = snapshot();
    const ticksFrom = treeTicks(daemon.child.pid);
    const started = performance.now();
    const samples: number[] = [];
    let stop = false;
    const writing = (async () => {
      for (let step = 0; !stop; step++) {
        await Promise.all(writers.map((writer) => writer.step()));
        const next = started + (step + 1) * 100;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    while (performance.now() - started < options.seconds * 1000) {
      await sleep(1000);
      const remote = await s.watcher.poll();
      const now = performance.now();
      for (let i = 0; i < writers.length; i++) {
        samples.push(writers[i].ageAt(remote.get(`tui-${i}`)?.end ?? 0, now));
      }
    }
    stop = true;
    await writing;
    const minutes = (performance.now() - started) / 60_000;
    const cpu = (treeTicks(daemon.child.pid) - ticksFrom) / hz /
      ((performance.now() - started) / 1000) * 100;
    const to = snapshot();
    const branch = "refs/heads/asciinema-recordings";
    const commits = await countLines(["rev-list", branch], s.remote);
    const pushes = await countLines(["reflog", "show", "--format=%H", branch], s.remote);
    const max = Math.max(...samples) / 1000;
    const p95 = percentile(samples, 0.95) / 1000;
    return [{
      key: "data_at_risk",
      name: `data at risk (${options.recordings} TUI recordings, ${options.seconds} s)`,
      value: round(max, 1),
      unit: "s (max)",
      shown: `max ${max.toFixed(1)} s, p95 ${p95.toFixed(1)} s; CPU ${cpu.toFixed(2)} %; ` +
        `${(commits / minutes).toFixed(1)} commits/min, ${
          (pushes / minutes).toFixed(1)
        } pushes/min`,
      target: "max <= 30 s, CPU < 0.5 %",
      met: max <= 30 && cpu < 0.5,
      details: {
        max_s: round(max, 2),
        p95_s: round(p95, 2),
        samples: samples.length,
        cpu_percent_of_a_core: round(cpu, 3),
        commits,
        pushes,
        commits_per_minute: round(commits / minutes, 2),
        pushes_per_minute: round(pushes / minutes, 2),
        bytes_written: writers.reduce((sum, writer) => sum + writer.size, 0),
        others_cores: othersCores(from, to, hz),
        settings:
          "defaults (idle_threshold 30 s, max_chunk_seconds and push_interval_seconds as shipped)",
      },
    }];
  } finally {
    await stopDaemon(daemon);
    await s.home.cleanup();
  }
}
