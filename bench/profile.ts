/**
 * Where a daemon's time goes, for the throughput figures' details: its
 * timeline from its own log (start, each cut, each push, the finish) and
 * the CPU of its process tree by command (the daemon itself, `zstd`, `git`
 * and git's helpers), sampled from `/proc` while it runs (a child that lives
 * less than a sample between looks is missed: the rest is reported as
 * unattributed).
 *
 * @module
 */
import { readLogLines } from "../tests/support/daemon.ts";
import { processTree, readStat } from "./proc.ts";
import { round } from "./figure.ts";
import { sleep } from "./rig.ts";

/** A running sampler of CPU by command. */
export interface CpuSampler {
  /** Stops sampling; CPU seconds by command name. */
  stop(): Promise<Record<string, number>>;
}

function commOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "?";
  }
}

/** Samples `pid`'s tree every `intervalMs` (default 25 ms) until stopped. */
export function sampleCpu(pid: number, hz: number, intervalMs = 25): CpuSampler {
  // The most ticks seen per process (their own, not their reaped children's).
  const seen = new Map<number, { comm: string; ticks: number }>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const member of processTree(pid)) {
        const stat = readStat(member);
        if (!stat) continue;
        const ticks = stat.utime + stat.stime;
        const known = seen.get(member);
        if (!known) seen.set(member, { comm: commOf(member), ticks });
        else known.ticks = Math.max(known.ticks, ticks);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const byCommand: Record<string, number> = {};
      for (const { comm, ticks } of seen.values()) {
        byCommand[comm] = round((byCommand[comm] ?? 0) + ticks / hz, 2);
      }
      return byCommand;
    },
  };
}

/** The daemon's timeline from its log, in seconds since `startedAt` (wall ms). */
export async function timeline(
  home: string,
  startedAt: number,
): Promise<Record<string, unknown>> {
  const lines = await readLogLines(home);
  const at = (line: Record<string, unknown>) =>
    round((Date.parse(String(line["@timestamp"])) - startedAt) / 1000, 3);
  const cuts = lines.filter((line) => /^Cut /.test(String(line.message)));
  const pushes = lines.filter((line) => /^Pushed \d+ chunk/.test(String(line.message)));
  const first = (pattern: RegExp) => {
    const line = lines.find((l) => pattern.test(String(l.message)));
    return line ? at(line) : null;
  };
  return {
    started_s: first(/^Daemon started/),
    first_cut_s: cuts.length ? at(cuts[0]) : null,
    last_cut_s: cuts.length ? at(cuts[cuts.length - 1]) : null,
    cuts: cuts.length,
    pushes_s: pushes.map((line) => ({
      t: at(line),
      chunks: Number(/^Pushed (\d+)/.exec(String(line.message))?.[1] ?? 0),
    })),
    finished_s: first(/fully pushed/),
  };
}
