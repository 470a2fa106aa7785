/**
 * What every benchmark figure shares: the figure record, percentiles and
 * rounding, and CPU snapshots to tell our load from the machine's.
 *
 * @module
 */
import { machineLoad, treeTicks } from "./proc.ts";

/** One measured figure. */
export interface Figure {
  /** Stable key (results.json). */
  key: string;
  /** For people. */
  name: string;
  /** The value compared with the target. */
  value: number;
  /** Its unit. */
  unit: string;
  /** As shown in the table. */
  shown: string;
  /** The same-run baseline, if any. */
  baseline?: { what: string; value: number; unit: string; shown: string };
  /** value / baseline. */
  ratio?: number;
  /** The target, for people. */
  target: string;
  /** Met? */
  met: boolean;
  /** Everything else worth keeping. */
  details: Record<string, unknown>;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

/** The median (of an odd count; the upper middle one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** A point in time: monotonic ms, the machine's busy ticks, this process tree's ticks. */
export interface Snapshot {
  /** `performance.now()`. */
  t: number;
  /** Busy ticks of the whole machine. */
  busy: number;
  /** Ticks of this benchmark's process tree. */
  ours: number;
}

/** Takes a snapshot. */
export function snapshot(): Snapshot {
  return { t: performance.now(), busy: machineLoad().busy, ours: treeTicks(Deno.pid) };
}

/** CPU (in cores) that processes outside this benchmark used between two snapshots. */
export function othersCores(from: Snapshot, to: Snapshot, hz: number): number {
  const seconds = (to.t - from.t) / 1000;
  const ticks = (to.busy - from.busy) - (to.ours - from.ours);
  return round(Math.max(0, ticks) / hz / seconds, 2);
}

/** What {@linkcode ratioFigure} is given. */
export interface RatioSpec {
  /** Stable key. */
  key: string;
  /** For people. */
  name: string;
  /** The measured duration (ms). */
  ms: number;
  /** The same-run baseline (ms) and what it is. */
  baseline: { ms: number; what: string };
  /** Met when ms / baseline is at most this. */
  most: number;
  /** As shown (default: the seconds). */
  shown?: string;
  /** Everything else worth keeping. */
  details: Record<string, unknown>;
}

/** A duration against a baseline measured in the same run, in seconds. */
export function ratioFigure(spec: RatioSpec): Figure {
  const ratio = spec.ms / spec.baseline.ms;
  return {
    key: spec.key,
    name: spec.name,
    value: round(spec.ms / 1000, 2),
    unit: "s",
    shown: spec.shown ?? `${(spec.ms / 1000).toFixed(2)} s`,
    baseline: {
      what: spec.baseline.what,
      value: round(spec.baseline.ms / 1000, 2),
      unit: "s",
      shown: `${(spec.baseline.ms / 1000).toFixed(2)} s`,
    },
    ratio: round(ratio, 2),
    target: `<= ${spec.most}x`,
    met: ratio <= spec.most,
    details: spec.details,
  };
}
