/**
 * The planner: what to do next with one recording, as a pure function of the
 * facts about its file, its checkpoint, what the engine remembers about it and
 * the time. No I/O: every rule has a unit test (tests/unit/engine/planner_test.ts).
 *
 * The rules, in order:
 * 1. The manifest is pushed: **finish** (move to `done/`), unless a failed
 *    finish is backing off. A provisional generation (cut before the branch
 *    could be read) whose answer from the branch has come: **settle**
 *    (continue where the branch ends, or stop being provisional).
 * 2. The file is gone: a generation not yet final is **closed** with what
 *    was cut; otherwise nothing.
 * 3. The file is not a recording (symlink, not a regular file, bad name, not
 *    asciicast): **hold**. Its header is still being written: nothing, unless
 *    the recording ended that way (an empty file, one line without its
 *    newline): then it goes on like any other, and is backed up as it is.
 * 4. No checkpoint yet: **resolve** (find where to start, from the branch),
 *    unless a look-up is already under way (then nothing until it ends).
 * 5. The file is not the one the checkpoint describes (another inode, shorter
 *    than what was cut, fingerprint mismatch, or grown after its end): **new
 *    generation**.
 * 6. Final: nothing (publishing pushes the rest and the manifest).
 * 7. A failed cut is backing off: **wait** for its retry.
 * 8. The recording ended: **cut** everything, final.
 * 9. `run --once`: **cut** up to the size it started with.
 * 10. Bytes beyond the cut with no complete line among them: nothing.
 * 11. At least `max_chunk_bytes` pending (**size**), quiet for the idle
 *    threshold (**idle**), or pending for `max_chunk_seconds` (**age**):
 *    **cut** up to the size seen now. Otherwise **wait** for the earlier of
 *    the idle and age deadlines.
 *
 * @module
 */
import type { Retry } from "../../sys/mod.ts";

/** What the tracker found out about a recording's file (cheap: stat, header, config). */
export interface FileFacts {
  /** The `.cast` exists. */
  present: boolean;
  /** Why it is not backed up at all (symlink, not a regular file, not asciicast), or null. */
  problem: string | null;
  /** The header line is complete and valid (an ended file need not have one). */
  headerReady: boolean;
  /** Inode number, when the platform has one. */
  ino: number | null;
  /** Size in bytes. */
  size: number;
  /** Why the recording is over (exit event, `ended`, recorder gone), or null. */
  ended: string | null;
}

/** The facts of a file that is not there. */
export const ABSENT: Readonly<FileFacts> = {
  present: false,
  problem: null,
  headerReady: false,
  ino: null,
  size: 0,
  ended: null,
};

/** The part of a checkpoint the planner reads. */
export interface CheckpointView {
  /** Bytes cut so far. */
  cut_offset: number;
  /** Inode of the file the checkpoint describes. */
  ino: number | null;
  /** Everything is cut; only publishing is left. */
  final: boolean;
  /** The manifest is on the remote. */
  manifest_pushed: boolean;
  /** Finished and moved. */
  done: boolean;
  /** Cut before the branch could be read: published only once it says where this starts. */
  provisional?: boolean;
}

/** What the engine remembers about the current generation (in memory, monotonic times). */
export interface Progress {
  /** When the size last changed (or the file's mtime at first sight). */
  grewAt: number;
  /** When bytes beyond the cut were first seen, or null. */
  pendingSince: number | null;
  /** `[cut_offset, noLineUntil)` holds no complete line (a cut found none), or null. */
  noLineUntil: number | null;
  /** The file failed the identity check before or after a cut: why, or null. */
  mismatch: string | null;
  /** A failed cut's retry, or null. */
  cutRetry: Retry | null;
  /** A failed finish's retry, or null. */
  finishRetry: Retry | null;
}

/** The thresholds the planner applies. */
export interface PlanLimits {
  /** Quiet time that triggers a cut (ms). */
  idleMs: number;
  /** Longest time bytes wait before a cut (ms). */
  maxAgeMs: number;
  /** Pending bytes that trigger a cut. */
  maxBytes: number;
  /** `run --once`: cut up to this size (the size when it started), nothing after it. */
  onceUpTo?: number;
}

/** Why a cut happens. */
export type CutReason = "idle" | "size" | "age" | "end" | "once";

/** The planner's decision. */
export type Action =
  | { type: "idle" }
  | { type: "wait"; until: number }
  | { type: "resolve" }
  | { type: "settle"; id?: string }
  | { type: "hold"; reason: string }
  | { type: "new-generation"; reason: string }
  | { type: "close" }
  | { type: "cut"; upTo: number; final: boolean; reason: CutReason }
  | { type: "finish"; id?: string };

/** Everything the planner looks at. */
export interface PlanInput {
  /** Facts about the file. */
  facts: FileFacts;
  /** The current generation's checkpoint, if there is one. */
  checkpoint: CheckpointView | undefined;
  /** In-memory progress of the current generation. */
  progress: Progress;
  /** Thresholds. */
  limits: PlanLimits;
  /** The branch's answer for a provisional checkpoint has come. */
  answered?: boolean;
  /** A look-up of where it starts is under way (no checkpoint yet): nothing to do until it ends. */
  resolving?: boolean;
}

/** A fresh progress record. */
export function newProgress(now: number): Progress {
  return {
    grewAt: now,
    pendingSince: null,
    noLineUntil: null,
    mismatch: null,
    cutRetry: null,
    finishRetry: null,
  };
}

/** Why the file is not the one `checkpoint` describes, or null when it is (as far as stat tells). */
export function identityChange(facts: FileFacts, checkpoint: CheckpointView): string | null {
  if (checkpoint.ino !== null && facts.ino !== null && checkpoint.ino !== facts.ino) {
    return `replaced (inode ${checkpoint.ino} -> ${facts.ino})`;
  }
  if (facts.size < checkpoint.cut_offset) {
    return `truncated (${facts.size} bytes, ${checkpoint.cut_offset} were cut)`;
  }
  if (checkpoint.final && facts.size > checkpoint.cut_offset) {
    return `written to after its end (${facts.size} bytes, ended at ${checkpoint.cut_offset})`;
  }
  return null;
}

/** Decides the next action for one recording at monotonic time `now`. */
export function plan(input: PlanInput, now: number): Action {
  const { facts, checkpoint, progress, limits } = input;
  if (checkpoint?.done) return { type: "idle" };
  if (checkpoint?.manifest_pushed) {
    const retry = progress.finishRetry;
    return retry && now < retry.at ? { type: "wait", until: retry.at } : { type: "finish" };
  }
  if (checkpoint?.provisional && input.answered) return { type: "settle" };
  if (!facts.present) {
    return checkpoint && !checkpoint.final ? { type: "close" } : { type: "idle" };
  }
  if (facts.problem) return { type: "hold", reason: facts.problem };
  if (!facts.headerReady && !facts.ended) return { type: "idle" };
  if (!checkpoint) return input.resolving ? { type: "idle" } : { type: "resolve" };
  const changed = progress.mismatch ?? identityChange(facts, checkpoint);
  if (changed) return { type: "new-generation", reason: changed };
  if (checkpoint.final) return { type: "idle" };
  if (progress.cutRetry && now < progress.cutRetry.at) {
    return { type: "wait", until: progress.cutRetry.at };
  }
  const size = facts.size;
  if (facts.ended) return { type: "cut", upTo: size, final: true, reason: "end" };
  const upTo = limits.onceUpTo === undefined ? size : Math.min(size, limits.onceUpTo);
  if (upTo <= checkpoint.cut_offset) return { type: "idle" };
  if (progress.noLineUntil !== null && upTo <= progress.noLineUntil) return { type: "idle" };
  if (limits.onceUpTo !== undefined) return { type: "cut", upTo, final: false, reason: "once" };
  if (size - checkpoint.cut_offset >= limits.maxBytes) {
    return { type: "cut", upTo: size, final: false, reason: "size" };
  }
  const idleAt = progress.grewAt + limits.idleMs;
  if (now >= idleAt) return { type: "cut", upTo: size, final: false, reason: "idle" };
  const ageAt = (progress.pendingSince ?? now) + limits.maxAgeMs;
  if (now >= ageAt) return { type: "cut", upTo: size, final: false, reason: "age" };
  return { type: "wait", until: Math.min(idleAt, ageAt) };
}
