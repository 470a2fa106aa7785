/**
 * What the engine's parts share: the recordings, their checkpoints and the
 * engine's own next step. The engine builds one {@linkcode EngineCore}; its
 * remote work ({@linkcode RemoteWork} in remote_work.ts) and health reporter
 * (health_report.ts) read and kick through it.
 *
 * @module
 */
import type { RecordingState } from "../chunk/mod.ts";
import type { Recording } from "./actions.ts";
import type { Clock } from "./clock.ts";
import type { EngineOptions } from "./options.ts";
import type { Action } from "./planner.ts";

/** The engine's shared state and hooks. */
export interface EngineCore {
  /** The engine's options. */
  readonly options: EngineOptions;
  /** Its clock. */
  readonly clock: Clock;
  /** Recordings by file id. */
  readonly recs: Map<string, Recording>;
  /** Checkpoints of unfinished generations by generation id. */
  readonly states: Map<string, RecordingState>;
  /** Ids to look at in the next tick. */
  readonly dirty: Set<string>;
  /** Ids with a cut pass running. */
  readonly cutting: Set<string>;
  /** Starts a tick now (or marks one as needed). */
  kick(): void;
  /** The actions due now for a recording. */
  plan(rec: Recording): Action[];
}

/** True when a generation has something for its remote: chunks, or its manifest. */
export function hasWork(state: RecordingState): boolean {
  return state.pending.length > 0 || (state.final && !state.manifest_pushed);
}
