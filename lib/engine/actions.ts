/**
 * Carrying out the planner's actions on one recording: resolve (a first
 * checkpoint, from the branch when it holds the recording already), settle
 * (a provisional generation once the branch could be read), a new
 * generation, close, a bounded cut pass, finish. Failures are recorded on
 * the recording with a retry time; nothing here throws into the engine.
 *
 * @module
 */
import { join } from "node:path";
import {
  type Clock,
  errorMessage,
  type HomePaths,
  log,
  nextRetry,
  OnceLog,
  type Retry,
  type Settings,
  wallAt,
} from "../sys/mod.ts";
import { newState, type RecordingState, saveState } from "../chunk/mod.ts";
import { ensureEmbeddedRemote } from "../git/mod.ts";
import {
  cutPass,
  digestPathFor,
  fingerprintAt,
  fingerprintMismatch,
  spoolFileFor,
  type StateUpdate,
} from "./cut/mod.ts";
import { finishRecording } from "./finish/mod.ts";
import type { Generations, Recording } from "./core/mod.ts";
import { type Action, configEndStamp, newProgress } from "./watch/mod.ts";
import { lookUp, type LookupAnswer, type Remote, type RemoteWork } from "./publish/mod.ts";

/** True when the file at `castPath` is still the one `state` describes (inode, fingerprint). */
async function ownsPrefix(castPath: string, state: RecordingState): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(castPath, { read: true });
  } catch {
    return false;
  }
  try {
    const info = await file.stat();
    if (state.ino !== null && (info.ino ?? null) !== state.ino) return false;
    return (await fingerprintMismatch(file, state)) === null;
  } finally {
    file.close();
  }
}

/** What the actions need from the engine. */
export interface ActionsOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Settings. */
  settings: Settings;
  /** Clock. */
  clock: Clock;
  /** Generations (shared with the engine). */
  generations: Generations;
  /** Checkpoint writer. */
  update: StateUpdate;
  /** Shutdown. */
  signal: AbortSignal;
  /** The remotes, and which one a recording goes to. */
  work: RemoteWork;
  /** A look-up for recording `id` ended (it is looked at again). */
  afterJob: (id: string) => void;
  /** A cut failed (disk trouble notice). */
  onEvent: (event: { type: "disk"; message: string }) => void;
  /** A generation is about to be moved to `done/` as `to` (its text index to-do is written). */
  beforeFinish?: (state: RecordingState, to: string) => Promise<void>;
  /** A generation finished; `movedTo` is its file in `done/` (null: not moved). */
  onFinished?: (state: RecordingState, movedTo: string | null) => Promise<void>;
}

/** One remote's look-ups: who waits, and the retry while the branch cannot be read. */
interface LookupLane {
  /** Recordings without a checkpoint. */
  waiting: Set<Recording>;
  /** Provisional generations (by id) waiting for an answer. */
  provisional: Set<string>;
  /** A look-up job is queued or running. */
  queued: boolean;
  /** The retry while the branch cannot be read. */
  retry: Retry | null;
  timer?: ReturnType<typeof setTimeout>;
  /** Asked to try again as soon as the remote answers a push or a check. */
  hooked?: boolean;
}

/** Runs actions. */
export class RecordingActions {
  /** The checkpoint writer (shared with publishing). */
  readonly update: StateUpdate;
  #o: ActionsOptions;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #finishRetries = new Map<string, Retry>();
  #lanes = new Map<string, LookupLane>();
  /** Answers for provisional generations, applied by their own task ("settle"). */
  #answers = new Map<string, LookupAnswer>();
  #stopped = false;

  /** Creates the runner. */
  constructor(options: ActionsOptions) {
    this.#o = options;
    this.update = options.update;
  }

  /** The retry of a failed finish of `id`, or null. */
  finishRetry(id: string): Retry | null {
    return this.#finishRetries.get(id) ?? null;
  }

  /** True when the branch's answer for provisional generation `id` waits to be applied. */
  answered(id: string): boolean {
    return this.#answers.has(id);
  }

  /**
   * Why provisional generation `state` waits (for health), with the look-up's
   * retry; null when it does not.
   */
  waitingFor(state: RecordingState): string | null {
    if (!state.provisional) return null;
    const remote = this.#remoteOf(state);
    const retry = remote ? this.#lanes.get(remote.key)?.retry : null;
    const where = remote ? remote.label : "its remote (its .json is not valid)";
    return `where ${state.id} starts on ${where} is not known yet` +
      (retry ? ` (reading the branch failed: ${retry.error})` : "") +
      "; it is cut into the spool and published once the branch can be read";
  }

  /** Runs `action` for `rec`; `inline` runs a resume look-up here instead of in the queue. */
  async run(rec: Recording, action: Action, options: { inline?: boolean } = {}): Promise<void> {
    switch (action.type) {
      case "resolve":
        return await this.#resolve(rec, options.inline ?? false);
      case "settle":
        return await this.#settle(rec, action.id ?? rec.current ?? undefined);
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

  #castPath(id: string): string {
    return join(this.#o.paths.active, `${id}.cast`);
  }

  #remoteOf(state: RecordingState): Remote | undefined {
    const target = this.#o.work.targetOf(state);
    return target ? this.#o.work.remotes.get(target) : undefined;
  }

  #lane(remote: Remote): LookupLane {
    let lane = this.#lanes.get(remote.key);
    if (!lane) {
      lane = { waiting: new Set(), provisional: new Set(), queued: false, retry: null };
      this.#lanes.set(remote.key, lane);
    }
    return lane;
  }

  async #resolve(rec: Recording, inline: boolean): Promise<void> {
    if (rec.resolving || rec.current) return;
    if (this.#o.generations.taken(rec.id)) {
      return await this.#createGeneration(rec, "a recording had this name");
    }
    const remote = this.#o.work.remoteOf(rec);
    // Its remote is not known (a broken .json): cut provisionally, look up once it is.
    if (!remote) return await this.#createFirst(rec, null);
    if (inline) {
      const answer = await this.#lookUp(remote, [{ id: rec.id, castPath: this.#castPath(rec.id) }])
        .then((answers) => answers.get(rec.id), () => null);
      if (!rec.current && rec.facts?.present) await this.#createFirst(rec, answer ?? null);
      return;
    }
    rec.resolving = true;
    this.#lane(remote).waiting.add(rec);
    this.#schedule(remote);
  }

  /**
   * A provisional generation needs the branch's answer: its remote's look-up
   * takes it (now, or at the retry). Cheap to call on every plan.
   */
  wantAnswer(state: RecordingState): void {
    if (!state.provisional || this.#answers.has(state.id)) return;
    const remote = this.#remoteOf(state);
    if (!remote) return;
    const lane = this.#lane(remote);
    if (lane.provisional.has(state.id)) return;
    lane.provisional.add(state.id);
    this.#schedule(remote);
  }

  #schedule(remote: Remote): void {
    const lane = this.#lane(remote);
    if (lane.queued || lane.timer !== undefined || this.#stopped) return;
    const wait = lane.retry ? lane.retry.at - this.#o.clock.now() : 0;
    if (wait > 0) {
      lane.timer = setTimeout(() => {
        lane.timer = undefined;
        this.#schedule(remote);
      }, wait);
      // The remote answering a push or a check means it can be read: no need to wait.
      if (!lane.hooked) {
        lane.hooked = true;
        remote.whenReachable(() => {
          lane.hooked = false;
          if (lane.timer === undefined) return;
          clearTimeout(lane.timer);
          lane.timer = undefined;
          lane.retry = lane.retry ? { ...lane.retry, at: this.#o.clock.now() } : null;
          this.#schedule(remote);
        });
      }
      return;
    }
    lane.queued = true;
    // One look-up job per remote takes every recording waiting by the time it runs.
    remote.queue.enqueue(() => this.#lookUpJob(remote, lane), { reports: true });
  }

  async #lookUpJob(remote: Remote, lane: LookupLane): Promise<void> {
    const recs = [...lane.waiting];
    lane.waiting.clear();
    const provisional = [...lane.provisional].map((id) => this.#o.generations.get(id))
      .filter((state): state is RecordingState => state?.provisional === true);
    lane.provisional.clear();
    try {
      const answers = await this.#lookUp(remote, [
        ...recs.map((rec) => ({ id: rec.id, castPath: this.#castPath(rec.id) })),
        ...provisional.map((state) => ({
          id: state.source,
          castPath: this.#castPath(state.source),
        })),
      ]);
      lane.retry = null;
      this.#once.clear(`lookup:${remote.key}`);
      for (const rec of recs) {
        if (!rec.current && rec.facts?.present) {
          await this.#createFirst(rec, answers.get(rec.id) ?? { kind: "fresh" });
        }
      }
      for (const state of provisional) {
        this.#answers.set(state.id, answers.get(state.source) ?? { kind: "fresh" });
      }
    } catch (error) {
      if (this.#o.signal.aborted) return;
      const message = errorMessage(error);
      lane.retry = nextRetry(lane.retry, {
        now: this.#o.clock.now(),
        error: message,
        capSeconds: this.#o.settings.retry_max_seconds,
      });
      this.#once.warn(
        `lookup:${remote.key}`,
        `Reading ${remote.label} failed (${message}): where new recordings start there is not known; they are cut into the spool and published once it can be read`,
      );
      // Unknown is not empty: the recordings are cut provisionally, published only after an answer.
      for (const rec of recs) {
        if (!rec.current && rec.facts?.present) await this.#createFirst(rec, null);
      }
      for (const state of provisional) lane.provisional.add(state.id);
      for (const rec of recs) {
        const state = rec.current ? this.#o.generations.get(rec.current) : undefined;
        if (state?.provisional) lane.provisional.add(state.id);
      }
      // The remote could not be read: a failure of the remote (health, backoff, notices).
      throw error;
    } finally {
      // What the guard says of the remote shows even while the branch is unread.
      const waiting = [...recs.map((rec) => rec.current), ...provisional.map((state) => state.id)]
        .map((id) => id ? this.#o.generations.get(id) : undefined)
        .filter((state): state is RecordingState => state?.provisional === true);
      if (waiting.length) await this.#o.work.checkVisibility(remote, waiting);
      lane.queued = false;
      for (const rec of recs) rec.resolving = false;
      for (
        const id of new Set([
          ...recs.map((rec) => rec.id),
          ...provisional.map((s) => s.source),
        ])
      ) {
        this.#o.afterJob(id);
      }
      if (lane.waiting.size || lane.provisional.size) this.#schedule(remote);
    }
  }

  async #lookUp(remote: Remote, recordings: { id: string; castPath: string }[]) {
    const { paths } = this.#o;
    // The embedded remote is this daemon's own: made now, it is known to be empty.
    if (remote.target.url === paths.backupGit) {
      await ensureEmbeddedRemote(paths.backupGit, { globalConfig: paths.gitConfig });
    }
    return await lookUp(remote.clone, recordings, {
      globalConfig: this.#o.paths.gitConfig,
      signal: this.#o.signal,
    });
  }

  /** A first checkpoint for `rec`: from the branch's answer, or provisional (null: unknown). */
  async #createFirst(rec: Recording, answer: LookupAnswer | null): Promise<void> {
    const facts = rec.facts!;
    const state = newState(rec.id, { ino: facts.ino, now: this.#o.clock.wall() });
    if (answer === null) state.provisional = true;
    if (answer?.kind === "resume") {
      if (answer.end > facts.size) answer = { kind: "fresh" };
      else await this.#resumeAt(state, answer);
    }
    await saveState(this.#o.paths.state, state);
    this.#o.generations.set(state);
    rec.current = state.id;
    if (state.provisional) this.wantAnswer(state);
  }

  /** Sets a fresh checkpoint to continue after what the branch holds. */
  async #resumeAt(state: RecordingState, answer: LookupAnswer & { kind: "resume" }) {
    const file = await Deno.open(this.#castPath(state.source), { read: true });
    try {
      state.fingerprint = await fingerprintAt(file, answer.end);
    } finally {
      file.close();
    }
    Object.assign(state, {
      cut_offset: answer.end,
      pushed_offset: answer.end,
      next_seq: answer.nextSeq,
      pushed_chunks: answer.nextSeq,
      ...(answer.folder !== state.id ? { branch_id: answer.folder } : {}),
      ...(answer.token ? { claim: answer.token } : {}),
    });
    this.#log.warn(
      "No checkpoint for {id}: resuming at byte {end} (chunk {seq}) from the branch's chunks/{folder}/",
      { id: state.id, end: answer.end, seq: answer.nextSeq, folder: answer.folder },
    );
  }

  /**
   * Applies the branch's answer to a provisional generation (its own task:
   * no cut runs meanwhile). The branch holding its start already: the
   * provisional chunks are dropped and cutting goes on from the branch's
   * end. Otherwise it simply stops being provisional (its folder is placed
   * by claims when it is published).
   */
  async #settle(rec: Recording, id?: string): Promise<void> {
    const state = id ? this.#o.generations.get(id) : undefined;
    const answer = id ? this.#answers.get(id) : undefined;
    if (!state || !answer) return;
    this.#answers.delete(state.id);
    const size = rec.facts?.size ?? 0;
    if (
      answer.kind === "resume" && rec.current === state.id && answer.end <= size &&
      (await ownsPrefix(this.#castPath(state.source), state))
    ) {
      const dropped = [...state.pending];
      const fresh = { ...state, pending: [] };
      await this.#resumeAt(fresh, answer);
      await this.update(state, () => ({ ...fresh, final: false, provisional: false }));
      for (const chunk of dropped) {
        const file = spoolFileFor(this.#o.paths.spool, state.id, chunk);
        await Deno.remove(file).catch(() => {});
        await Deno.remove(digestPathFor(file)).catch(() => {});
      }
      rec.progress = { ...newProgress(this.#o.clock.now()), grewAt: rec.progress.grewAt };
      return;
    }
    if (answer.kind === "resume") {
      this.#log.warn(
        "{id} was cut before the branch could be read; the branch already holds its first {end} bytes in chunks/{folder}/, and it is no longer the file in active/: its chunks go to a folder of their own",
        { id: state.id, end: answer.end, folder: answer.folder },
      );
    }
    // Published from now on; written with its next checkpoint change if not now (a crash
    // before that only asks the branch again, which then holds what was pushed).
    state.provisional = false;
    this.#o.generations.touched(state);
    await this.update(state, (current) => ({ ...current, provisional: false })).catch(() => {});
  }

  async #createGeneration(rec: Recording, reason: string): Promise<void> {
    const generations = this.#o.generations;
    const old = rec.current ? generations.get(rec.current) : undefined;
    let generation = 2;
    for (const state of generations.of(rec.id)) {
      generation = Math.max(generation, state.generation + 1);
    }
    while (generations.taken(`${rec.id}~${generation}`)) generation++;
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
    generations.set(state);
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
    const state = rec.current ? this.#o.generations.get(rec.current) : undefined;
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
    const state = rec.current ? this.#o.generations.get(rec.current) : undefined;
    if (!state) return;
    const { paths, settings, clock } = this.#o;
    let result;
    try {
      result = await cutPass(this.#castPath(rec.id), state, {
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
          const target = this.#o.work.targetOf(state, rec);
          if (!target || state.provisional) return;
          const remote = this.#o.work.remotes.get(target);
          // Its blob goes into the clone while the rest is cut (never a chunk sealed later).
          if (chunk.encrypted || !settings.encryption?.recipients?.length) {
            remote.clone.stageBlob(spoolFileFor(paths.spool, state.id, chunk));
          }
          remote.queue.kick();
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
      rec.error = `Cutting ${state.id} failed: ${errorMessage(error)}; retrying in ${delay}s`;
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
    const state = this.#o.generations.get(id);
    if (!state) return;
    const { paths, clock } = this.#o;
    try {
      const result = await finishRecording(state, {
        activeDir: paths.active,
        doneDir: paths.done,
        update: this.update,
        wall: () => clock.wall(),
        beforeMove: this.#o.beforeFinish ? (to) => this.#o.beforeFinish!(state, to) : undefined,
      });
      this.#o.generations.delete(id);
      this.#o.generations.finish(id);
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
      rec.error = `Moving ${id} to done/ failed: ${errorMessage(error)}`;
      this.#once.error(`finish:${id}`, rec.error);
    }
  }

  /** Waits for the look-ups queued now (`run --once`: one try each, no waiting for a retry). */
  async lookUpPending(): Promise<void> {
    for (const [key, lane] of this.#lanes) {
      if (!lane.queued) continue;
      const remote = this.#o.work.remotes.all().find((one) => one.key === key);
      await remote?.queue.settle();
    }
  }

  /** Stops: no new look-ups. */
  stop(): void {
    this.#stopped = true;
    for (const lane of this.#lanes.values()) clearTimeout(lane.timer);
  }
}
