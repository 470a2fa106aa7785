/**
 * What the engine's parts share: the recordings, their generations, the
 * health counters, and the engine's own next step. The engine builds one
 * {@linkcode EngineCore} and gives it to its parts (remote work, actions,
 * health) — their narrow view of it.
 *
 * @module
 */
import type { RecordingState } from "../chunk/mod.ts";
import type { Recording } from "./actions.ts";
import type { Clock } from "./clock.ts";
import type { Generations } from "./generations.ts";
import type { EngineOptions } from "./options.ts";
import type { Action } from "./planner.ts";

/** Counters and the last error shown in health.json. */
export interface HealthCounters {
  /** Chunks pushed (carried over from the last health.json). */
  chunksPushed: number;
  /** Wall time (ISO) of the last push. */
  lastPush: string | null;
  /** The last error shown in health. */
  lastError: string | null;
}

/** The engine's shared state and hooks. */
export interface EngineCore {
  /** The engine's options. */
  readonly options: EngineOptions;
  /** Its clock. */
  readonly clock: Clock;
  /** Recordings by file id. */
  readonly recs: Map<string, Recording>;
  /** Unfinished generations (and finished ids). */
  readonly generations: Generations;
  /** Ids to look at in the next tick. */
  readonly dirty: Set<string>;
  /** Ids with a cut pass running. */
  readonly cutting: Set<string>;
  /** Ids whose last plan was a cut (running or waiting for a free slot). */
  readonly cutDue: Set<string>;
  /** What health.json counts. */
  readonly counters: HealthCounters;
  /** Starts a tick now (or marks one as needed). */
  kick(): void;
  /** Health changed: write health.json soon. */
  healthChanged(): void;
  /** The actions due now for a recording. */
  plan(rec: Recording): Action[];
}

/** True when a generation has something for its remote: chunks, or its manifest. */
export function hasWork(state: RecordingState): boolean {
  return state.pending.length > 0 || (state.final && !state.manifest_pushed);
}
