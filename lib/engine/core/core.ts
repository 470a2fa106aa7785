/**
 * What the engine's parts share: the recordings, their generations, the
 * health counters, and the engine's own next step. The engine builds one
 * {@linkcode EngineCore} and gives it to its parts (remote work, actions,
 * health) — their narrow view of it.
 *
 * @module
 */
import type { RecordingState } from "../../chunk/mod.ts";
import type { Clock } from "../../sys/mod.ts";
import type { Generations } from "./generations.ts";
import type { EngineOptions } from "./options.ts";
import type { Action, FileFacts, Progress, TrackerMemo } from "../watch/mod.ts";

/** The engine's record of one file name in `active/`. */
export interface Recording {
  /** The file's id (name without `.cast`). */
  id: string;
  /** What the tracker remembers. */
  memo: TrackerMemo;
  /** The facts at the last look. */
  facts: FileFacts | null;
  /** Progress of the current generation. */
  progress: Progress;
  /** Chunk id of the current generation, or null. */
  current: string | null;
  /** The one task running for it, or null. */
  task: Promise<void> | null;
  /** A resume look-up is queued. */
  resolving: boolean;
  /** The last failed cut or finish, for health, or null. */
  error: string | null;
  /** Not looked at yet (found at startup: idle since its mtime). */
  firstSight: boolean;
  /** What health last showed of its file (problem, note, held, end), to write health on change. */
  shown: string;
  /** The note last logged, so each is logged once. */
  loggedNote: string | null;
}

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
