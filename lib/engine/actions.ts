/**
 * Carrying out the planner's actions on one recording: resolve (a first
 * checkpoint, from the branch when it holds the id already), a new
 * generation, close, a bounded cut pass, finish, and re-cutting a chunk whose
 * spool file vanished. Failures are recorded on the recording with a retry
 * time; nothing here throws into the engine.
 *
 * @module
 */
import { join } from "node:path";
import { type HomePaths, log, OnceLog, type Settings } from "../sys/mod.ts";
import type { RemoteTarget } from "../git/mod.ts";
import { newState, type PendingChunk, type RecordingState, saveState } from "../chunk/mod.ts";
import { nextRetry, type Retry } from "./backoff.ts";
import { type Clock, wallAt } from "./clock.ts";
import { cutPass } from "./cut_pass.ts";
import { finishRecording } from "./finish.ts";
import { fingerprintAt } from "./identity.ts";
import { type Action, type FileFacts, newProgress, type Progress } from "./planner.ts";
import type { RemoteEntry } from "./remotes.ts";
import { type ResumeFromBranch, resumeFromBranch } from "./resume.ts";
import type { StateUpdate } from "./state_writer.ts";
import { configEndStamp, type TrackerMemo } from "./tracker.ts";

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

/** What the actions need from the engine. */
export interface ActionsOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Settings. */
  settings: Settings;
  /** Clock. */
  clock: Clock;
  /** Generations not done, by chunk id (shared with the engine). */
  states: Map<string, RecordingState>;
  /** Done chunk ids (reserved forever). */
  finished: Set<string>;
  /** Checkpoint writer. */
  update: StateUpdate;
  /** Shutdown. */
  signal: AbortSignal;
  /** Where a recording's chunks go; undefined while held. */
  targetOf: (rec: Recording) => RemoteTarget | undefined;
  /** The remote entry of a target. */
  remote: (target: RemoteTarget) => RemoteEntry;
  /** A queued job for `rec` ended. */
  afterJob: (rec: Recording) => void;
  /** A cut failed (disk trouble notice). */
  onEvent: (event: { type: "disk"; message: string }) => void;
  /** A generation finished; `movedTo` is its file in `done/` (null: not moved). */
  onFinished?: (state: RecordingState, movedTo: string | null) => Promise<void>;
}

/** Runs actions. */
export class RecordingActions {
  /** The checkpoint writer (shared with publishing). */
  readonly update: StateUpdate;
  #o: ActionsOptions;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #finishRetries = new Map<string, Retry>();
  #toResolve = new Map<string, Set<Recording>>();

  /** Creates the runner. */
  constructor(options: ActionsOptions) {
    this.#o = options;
    this.update = options.update;
  }

  /** The retry of a failed finish of `id`, or null. */
  finishRetry(id: string): Retry | null {
    return this.#finishRetries.get(id) ?? null;
  }

  /** Runs `action` for `rec`; `inline` runs a resume look-up here instead of in the queue. */
  async run(rec: Recording, action: Action, options: { inline?: boolean } = {}): Promise<void> {
    switch (action.type) {
      case "resolve":
        return await this.#resolve(rec, options.inline ?? false);
      case "new-generation":
        return await this.#newGeneration(rec, action.reason);
      case "close":
        return await this.#close(rec);
      case "cut":
        return await this.#cut(rec, action);
      case "finish":
        return await this.#finish(rec, action.id ?? rec.current ?? "");
      default:
        return;
    }
  }

  #castPath(rec: Recording): string {
    return join(this.#o.paths.active, `${rec.id}.cast`);
  }

  #taken(id: string): boolean {
    return this.#o.states.has(id) || this.#o.finished.has(id);
  }

  async #resolve(rec: Recording, inline: boolean): Promise<void> {
    if (rec.resolving || rec.current) return;
    if (this.#taken(rec.id)) return await this.#createGeneration(rec, "a recording had this name");
    const target = this.#o.targetOf(rec);
    if (!target) return await this.#createFirst(rec, undefined);
    const entry = this.#o.remote(target);
    if (inline) return await this.#resolveAll(entry, [rec]);
    rec.resolving = true;
    // One look-up job per remote takes every recording waiting by the time it runs.
    let waiting = this.#toResolve.get(entry.key);
    if (waiting) {
      waiting.add(rec);
      return;
    }
    waiting = new Set([rec]);
    this.#toResolve.set(entry.key, waiting);
    entry.queue.enqueue(async () => {
      this.#toResolve.delete(entry.key);
      const recs = [...waiting];
      try {
        await this.#resolveAll(entry, recs);
      } catch (error) {
        for (const one of recs) {
          one.error = `Starting ${one.id} failed: ${(error as Error)?.message ?? error}`;
        }
      } finally {
        for (const one of recs) {
          one.resolving = false;
          this.#o.afterJob(one);
        }
      }
    });
  }

  async #resolveAll(entry: RemoteEntry, recs: Recording[]): Promise<void> {
    const answers = await resumeFromBranch(entry.clone, {
      recordings: recs.map((rec) => ({ id: rec.id, castPath: this.#castPath(rec) })),
      signal: this.#o.signal,
    }).catch(() => new Map<string, ResumeFromBranch | undefined>());
    for (const rec of recs) {
      if (!rec.current && rec.facts?.present) await this.#createFirst(rec, answers.get(rec.id));
    }
  }

  async #createFirst(rec: Recording, resume: ResumeFromBranch | undefined): Promise<void> {
    const facts = rec.facts!;
    const state = newState(rec.id, { ino: facts.ino, now: this.#o.clock.wall() });
    if (resume) {
      const fits = resume.matches && resume.end <= facts.size;
      Object.assign(state, {
        cut_offset: resume.end,
        pushed_offset: resume.end,
        next_seq: resume.nextSeq,
        pushed_chunks: resume.nextSeq,
      });
      if (!fits) {
        // The branch holds another file's bytes under this id: keep the id for them.
        await saveState(this.#o.paths.state, {
          ...state,
          superseded: true,
          final: true,
          done: true,
        });
        this.#o.finished.add(state.id);
        return await this.#createGeneration(rec, "the branch holds other bytes under this id");
      }
      const file = await Deno.open(this.#castPath(rec), { read: true });
      try {
        state.fingerprint = await fingerprintAt(file, resume.end);
      } finally {
        file.close();
      }
      this.#log.warn(
        "No checkpoint for {id}: resuming at byte {end} (chunk {seq}) from the branch",
        {
          id: state.id,
          end: resume.end,
          seq: resume.nextSeq,
        },
      );
    }
    await saveState(this.#o.paths.state, state);
    this.#o.states.set(state.id, state);
    rec.current = state.id;
  }

  async #createGeneration(rec: Recording, reason: string): Promise<void> {
    const old = rec.current ? this.#o.states.get(rec.current) : undefined;
    let generation = 2;
    for (const state of this.#o.states.values()) {
      if (state.source === rec.id) generation = Math.max(generation, state.generation + 1);
    }
    while (this.#taken(`${rec.id}~${generation}`)) generation++;
    if (old) {
      await this.update(old, (current) => ({
        ...current,
        superseded: true,
        final: true,
        ended_at: current.ended_at ?? this.#o.clock.wall().toISOString(),
      }));
    }
    // End signals of the .json that ended the old generation (ended, a recorder gone) do
    // not end the new file written after it; given later, or after another end, they are its own.
    const stamp = configEndStamp(rec.memo.config);
    const spent = old?.final && stamp !== null && old.end_stamp === stamp;
    const state = newState(rec.id, {
      generation,
      ino: rec.facts?.ino ?? null,
      now: this.#o.clock.wall(),
      staleEnd: spent ? stamp : null,
    });
    await saveState(this.#o.paths.state, state);
    this.#o.states.set(state.id, state);
    rec.current = state.id;
    rec.progress = newProgress(this.#o.clock.now());
    rec.error = null;
    this.#log.warn(
      "{id}.cast was replaced or truncated ({reason}): what was already cut stays under {old}; the new content is backed up as {new}",
      { id: rec.id, reason, old: old?.id ?? rec.id, new: state.id },
    );
  }

  #newGeneration(rec: Recording, reason: string): Promise<void> {
    return this.#createGeneration(rec, reason);
  }

  async #close(rec: Recording): Promise<void> {
    const state = rec.current ? this.#o.states.get(rec.current) : undefined;
    if (!state) return;
    const seen = rec.memo.seen?.size ?? state.cut_offset;
    if (seen > state.cut_offset) {
      this.#log.warn("{id}.cast disappeared from active/ before its last {bytes} bytes were cut", {
        id: rec.id,
        bytes: seen - state.cut_offset,
      });
    }
    await this.update(state, (current) => ({
      ...current,
      final: true,
      ended_at: current.ended_at ?? this.#o.clock.wall().toISOString(),
    }));
  }

  async #cut(rec: Recording, action: Extract<Action, { type: "cut" }>): Promise<void> {
    const state = rec.current ? this.#o.states.get(rec.current) : undefined;
    if (!state) return;
    const { paths, settings, clock } = this.#o;
    let result;
    try {
      result = await cutPass(this.#castPath(rec), state, {
        spoolDir: paths.spool,
        level: settings.zstd_level,
        maxBytes: settings.max_chunk_bytes,
        upTo: action.upTo,
        final: action.final,
        noLineUntil: rec.progress.noLineUntil,
        reason: action.reason,
        since: wallAt(clock, rec.progress.pendingSince ?? rec.progress.grewAt).toISOString(),
        endStamp: action.final && rec.facts?.ended !== "asciicast exit event"
          ? configEndStamp(rec.memo.config)
          : null,
        wall: () => clock.wall(),
        update: this.update,
        signal: this.#o.signal,
        recipients: settings.encryption?.recipients,
        // A long pass (a backlog) is published as it goes, not once it is all cut.
        onDurable: (chunk) => {
          this.#log.info("Cut {id} #{seq} [{start}, {end}) ({bytes} bytes zstd, {reason})", {
            id: state.id,
            seq: chunk.seq,
            start: chunk.start,
            end: chunk.end,
            bytes: chunk.bytes,
            reason: action.reason,
          });
          const target = this.#o.targetOf(rec);
          if (target) this.#o.remote(target).queue.kick();
        },
      });
    } catch (error) {
      if (this.#o.signal.aborted) return;
      rec.progress.cutRetry = nextRetry(rec.progress.cutRetry, {
        now: clock.now(),
        error: String(error),
        capSeconds: settings.retry_max_seconds,
      });
      const delay = Math.round((rec.progress.cutRetry.at - clock.now()) / 1000);
      rec.error = `Cutting ${state.id} failed: ${
        (error as Error)?.message ?? error
      }; retrying in ${delay}s`;
      this.#once.error(`cut:${state.id}`, rec.error);
      this.#o.onEvent({ type: "disk", message: rec.error });
      return;
    }
    if (result.kind === "mismatch") {
      rec.progress.mismatch = result.reason;
      return;
    }
    if (rec.progress.cutRetry) this.#once.clear(`cut:${state.id}`);
    rec.progress.cutRetry = null;
    rec.error = null;
    rec.progress.noLineUntil = result.noLineUntil;
    const size = rec.facts?.size ?? 0;
    rec.progress.pendingSince = size > state.cut_offset ? clock.now() : null;
  }

  async #finish(rec: Recording, id: string): Promise<void> {
    const state = this.#o.states.get(id);
    if (!state) return;
    const { paths, clock } = this.#o;
    try {
      const result = await finishRecording(state, {
        activeDir: paths.active,
        doneDir: paths.done,
        update: this.update,
        wall: () => clock.wall(),
      });
      this.#o.states.delete(id);
      this.#o.finished.add(id);
      this.#finishRetries.delete(id);
      this.#once.clear(`finish:${id}`);
      await Deno.remove(join(paths.spool, id)).catch(() => {});
      await this.#o.onFinished?.(state, result.movedTo).catch(() => {});
      if (rec.current === id) {
        rec.current = null;
        rec.progress = newProgress(clock.now());
        rec.error = null;
      }
      this.#log.info(
        result.movedTo
          ? "Recording {id} is fully pushed and moved to done/"
          : "Recording {id} is fully pushed",
        { id },
      );
    } catch (error) {
      const retry = nextRetry(this.#finishRetries.get(id) ?? null, {
        now: clock.now(),
        error: String(error),
        capSeconds: this.#o.settings.retry_max_seconds,
      });
      this.#finishRetries.set(id, retry);
      if (rec.current === id) rec.progress.finishRetry = retry;
      rec.error = `Moving ${id} to done/ failed: ${(error as Error)?.message ?? error}`;
      this.#once.error(`finish:${id}`, rec.error);
    }
  }

  /** A pending chunk's spool file vanished before it was committed: cut from its start again. */
  async recut(state: RecordingState, chunk: PendingChunk): Promise<void> {
    await this.update(state, (current) => ({
      ...current,
      pending: current.pending.filter((item) => item.seq < chunk.seq),
      cut_offset: chunk.start,
      next_seq: chunk.seq,
      final: false,
      fingerprint: null,
    }));
    this.#log.warn("Spool file of {id} #{seq} is missing; cutting it again", {
      id: state.id,
      seq: chunk.seq,
    });
  }
}
