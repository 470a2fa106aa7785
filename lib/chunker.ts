/**
 * The daemon loop: watches `active/`, decides when to cut (idle, size, age,
 * end of recording), hands chunks to the publisher, retries with backoff,
 * finalizes ended recordings and keeps health.json current.
 *
 * Cutting and publishing are separate stages joined by the spool: a stuck or
 * failing remote never blocks cutting, other remotes, or shutdown.
 *
 * @module
 */
import { basename, join } from "node:path";
import { checkHeader, endsWithExitEvent } from "./asciicast.ts";
import { cutNextChunk, reconcileSpool, spoolDirFor, spoolFileFor } from "./cutter.ts";
import type { ErrorKind, Health, RecordingHealth, RemoteHealth } from "./health.ts";
import { readHealth, writeHealth } from "./health.ts";
import { log, OnceLog } from "./log.ts";
import { ensureHome, ensurePrivateDir, type HomePaths } from "./paths.ts";
import {
  type AuthResolver,
  type ChunkItem,
  ensureEmbeddedRemote,
  type ManifestItem,
  PublishError,
  type RemoteTarget,
  RepoClone,
  repoSlug,
} from "./publisher.ts";
import type { Settings } from "./settings.ts";
import {
  loadAllStates,
  newState,
  type PendingChunk,
  type RecordingState,
  saveState,
} from "./state.ts";
import { sha256Range } from "./zstd.ts";
import { checkResumePoint, listBranchChunks, resumePointFor } from "./branch_index.ts";
import { pidAlive } from "./process.ts";
import { displayUrl } from "./remote_url.ts";
import { readRecordingConfig, type RecordingConfig } from "./recording_config.ts";

/** Events the daemon reports (for notifications). */
export type ChunkerEvent =
  | {
    type: "push-failed";
    remote: string;
    kind: ErrorKind;
    message: string;
    since: Date;
    queued: number;
    label: string;
  }
  | { type: "push-ok"; remote: string; queued: number; label: string }
  | { type: "disk"; message: string };

/** Options for {@linkcode Chunker}. */
export interface ChunkerOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Validated settings. */
  settings: Settings;
  /** How git reaches a remote (authentication); default: as it is. */
  authFor?: AuthResolver;
  /** Called for notable events (never awaited; must not throw). */
  onEvent?: (event: ChunkerEvent) => void;
}

interface Tracked {
  id: string;
  castPath: string;
  jsonPath: string;
  size: number;
  ino: number | null;
  lastChange: number;
  pendingSince: number | null;
  stuckAt: number | null;
  version?: 2 | 3;
  note: string | null;
  inputError: string | null;
  config?: RecordingConfig;
  configError: string | null;
  configStamp: string;
  ended: boolean;
  endReason?: string;
  lastPidCheck: number;
  pidAlive: boolean;
}

interface RemoteEntry {
  key: string;
  target: RemoteTarget;
  clone: RepoClone;
  failures: number;
  nextAttemptAt: number;
  failingSince: number | null;
  lastError: string | null;
  errorKind: ErrorKind | null;
  lastPush: number | null;
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
  again: boolean;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The daemon. */
export class Chunker {
  #paths: HomePaths;
  #settings: Settings;
  #options: ChunkerOptions;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #abort = new AbortController();
  #stopped = false;
  #tracked = new Map<string, Tracked>();
  #states = new Map<string, RecordingState>();
  /** Finished generations: kept only so their ids are never reused, never iterated. */
  #finished = new Map<string, RecordingState>();
  #current = new Map<string, string>();
  #remotes = new Map<string, RemoteEntry>();
  #locks = new Map<string, Promise<unknown>>();
  #dirty = new Set<string>();
  #ticking: Promise<void> | null = null;
  #tickAgain = false;
  #wakeTimer?: ReturnType<typeof setTimeout>;
  #wakeAt = Infinity;
  #scanTimer?: ReturnType<typeof setInterval>;
  #heartbeatTimer?: ReturnType<typeof setInterval>;
  #healthTimer?: ReturnType<typeof setTimeout>;
  #watcher?: Deno.FsWatcher;
  #watchedIno: number | null = null;
  #watchLoop?: Promise<void>;
  #startedAt = new Date();
  #chunksPushed = 0;
  #lastPush: string | null = null;
  #lastError: string | null = null;
  #onceMode = false;
  #kickTimer?: ReturnType<typeof setTimeout>;

  /** Creates the daemon (nothing runs until {@linkcode Chunker.start} or {@linkcode Chunker.runOnce}). */
  constructor(options: ChunkerOptions) {
    this.#options = options;
    this.#paths = options.paths;
    this.#settings = options.settings;
  }

  /** The shutdown signal (aborted by {@linkcode Chunker.stop}). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  async #init(): Promise<void> {
    await ensureHome(this.#paths);
    await ensurePrivateDir(join(this.#paths.home, "git"));
    try {
      await Deno.writeTextFile(this.#paths.gitConfig, "", { createNew: true, mode: 0o600 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const previous = await readHealth(this.#paths.health);
    this.#chunksPushed = previous?.chunks_pushed ?? 0;
    this.#lastPush = previous?.last_push ?? null;
    const { states, errors } = await loadAllStates(this.#paths.state);
    for (const [name, error] of errors) {
      this.#log.warn(
        "Checkpoint {name} is unreadable ({error}); rebuilding it from spool and branch",
        {
          name,
          error: error.message,
        },
      );
      await Deno.rename(join(this.#paths.state, name), join(this.#paths.state, `${name}.broken`))
        .catch(() => {});
    }
    for (const state of states) {
      if (state.done) {
        this.#finished.set(state.id, state);
        continue;
      }
      this.#states.set(state.id, state);
      if (state.superseded) continue;
      const current = this.#current.get(state.source);
      const currentState = current ? this.#states.get(current) : undefined;
      if (!currentState || currentState.generation < state.generation) {
        this.#current.set(state.source, state.id);
      }
    }
    for (const state of states) {
      if (state.done) continue;
      const castPath = this.#castPath(state.source);
      const report = await reconcileSpool(
        this.#current.get(state.source) === state.id ? castPath : undefined,
        state,
        { spoolDir: this.#paths.spool, stateDir: this.#paths.state, signal: this.signal },
      );
      if (report.adopted || report.deleted.length) {
        this.#log.info("Reconciled spool of {id}: adopted {adopted}, deleted {deleted}", {
          id: state.id,
          adopted: report.adopted,
          deleted: report.deleted.length,
        });
      }
    }
  }

  #castPath(id: string): string {
    return join(this.#paths.active, `${id}.cast`);
  }

  /** Starts watching and working; returns once running. */
  async start(): Promise<void> {
    await this.#init();
    await this.#writeHealth("starting", "starting up");
    this.#watchLoop = this.#watch();
    await this.#scan();
    this.#scanTimer = setInterval(
      () => void this.#scan().catch((error) => this.#noteError(`scan failed: ${error}`)),
      this.#settings.scan_interval_seconds * 1000,
    );
    this.#heartbeatTimer = setInterval(
      () => void this.#writeHealth(),
      this.#settings.heartbeat_seconds * 1000,
    );
    for (const key of this.#remotesWithWork()) this.#schedulePublish(key, 0);
    await this.#writeHealth();
    this.#log.info("Daemon started (pid {pid}), watching {dir}", {
      pid: Deno.pid,
      dir: this.#paths.active,
    });
  }

  /**
   * Cuts every complete line now (and the rest of ended recordings), pushes,
   * finalizes, and returns true only if everything is pushed.
   */
  async runOnce(): Promise<boolean> {
    this.#onceMode = true;
    await this.#init();
    await this.#scanNames();
    for (const id of [...this.#dirty]) await this.#refresh(id);
    this.#dirty.clear();
    for (const tracked of this.#tracked.values()) {
      await this.#cutFor(tracked, { force: true });
    }
    for (let round = 0; round < 3; round++) {
      const keys = this.#remotesWithWork();
      if (keys.length === 0) break;
      for (const key of keys) await this.#publish(key, { force: true });
    }
    const ok = this.#remotesWithWork().length === 0 &&
      [...this.#remotes.values()].every((remote) => remote.lastError === null);
    const failing = [...this.#remotes.values()].find((remote) => remote.lastError);
    await this.#writeHealth(
      "stopped",
      ok
        ? "run --once: all pushed"
        : `run --once: not everything was pushed${failing ? ` (${failing.lastError})` : ""}`,
    );
    return ok;
  }

  /** Stops within about two seconds: aborts git/zstd, writes health `stopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#scanTimer);
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#wakeTimer);
    clearTimeout(this.#healthTimer);
    clearTimeout(this.#kickTimer);
    for (const remote of this.#remotes.values()) clearTimeout(remote.timer);
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    this.#abort.abort(new Error("shutdown"));
    const pending = [
      this.#ticking,
      this.#watchLoop,
      ...[...this.#remotes.values()].map((remote) => remote.running),
    ].filter(Boolean);
    await Promise.race([
      Promise.allSettled(pending),
      new Promise((resolve) => setTimeout(resolve, 1500)),
    ]);
    await this.#writeHealth("stopped", "stopped");
    this.#log.info("Daemon stopped");
  }

  // ---------------------------------------------------------------- watching

  async #watch(): Promise<void> {
    while (!this.#stopped) {
      try {
        await ensurePrivateDir(this.#paths.active);
        this.#watchedIno = (await Deno.stat(this.#paths.active)).ino ?? null;
        this.#watcher = Deno.watchFs(this.#paths.active, { recursive: false });
        for await (const event of this.#watcher) {
          for (const path of event.paths) {
            const name = basename(path);
            const id = name.endsWith(".cast")
              ? name.slice(0, -5)
              : name.endsWith(".json")
              ? name.slice(0, -5)
              : undefined;
            if (id) this.#dirty.add(id);
          }
          this.#kickSoon();
        }
      } catch (error) {
        if (this.#stopped) return;
        this.#once.warn("watch", `Watching ${this.#paths.active} failed: ${error}; rescanning`);
      }
      if (this.#stopped) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async #scanNames(): Promise<void> {
    await ensurePrivateDir(this.#paths.active);
    for await (const entry of Deno.readDir(this.#paths.active)) {
      if (entry.name.endsWith(".cast")) this.#dirty.add(entry.name.slice(0, -5));
    }
    for (const id of this.#tracked.keys()) this.#dirty.add(id);
  }

  async #scan(): Promise<void> {
    if (this.#stopped) return;
    let ino: number | null = null;
    try {
      ino = (await Deno.stat(this.#paths.active)).ino ?? null;
    } catch {
      ino = null;
    }
    if (ino === null || ino !== this.#watchedIno) {
      // active/ was deleted or replaced: the watcher watches a dead folder.
      try {
        this.#watcher?.close();
      } catch {
        // already closed
      }
    }
    await this.#scanNames();
    this.#kick();
  }

  /** Coalesces a burst of file events (a busy recording writes constantly) into one tick. */
  #kickSoon(): void {
    if (this.#kickTimer !== undefined || this.#stopped) return;
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = undefined;
      this.#kick();
    }, 50);
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    this.#ticking = (async () => {
      try {
        do {
          this.#tickAgain = false;
          await this.#tick();
        } while (this.#tickAgain && !this.#stopped);
      } catch (error) {
        this.#noteError(`internal error: ${error instanceof Error ? error.stack : error}`);
      } finally {
        this.#ticking = null;
      }
    })();
  }

  async #tick(): Promise<void> {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const id of dirty) {
      if (this.#stopped) return;
      await this.#refresh(id);
    }
    for (const tracked of [...this.#tracked.values()]) {
      if (this.#stopped) return;
      await this.#cutFor(tracked, { force: false });
    }
    // Work can become publishable without a new cut (a config fixed, a backoff over).
    for (const key of this.#remotesWithWork()) {
      const entry = this.#remotes.get(key);
      if (entry && !entry.running && entry.timer === undefined) this.#schedulePublish(key, 0);
    }
    this.#scheduleWake();
    this.#scheduleHealth();
  }

  #scheduleWake(): void {
    let next = Infinity;
    const idle = this.#settings.idle_threshold * 1000;
    const age = this.#settings.max_chunk_seconds * 1000;
    for (const tracked of this.#tracked.values()) {
      const state = this.#stateOf(tracked.id);
      if (!state || tracked.inputError || tracked.size <= state.cut_offset) continue;
      if (tracked.stuckAt === tracked.size) continue;
      next = Math.min(next, tracked.lastChange + idle);
      if (tracked.pendingSince !== null) next = Math.min(next, tracked.pendingSince + age);
    }
    if (next === this.#wakeAt) return;
    clearTimeout(this.#wakeTimer);
    this.#wakeAt = next;
    if (next === Infinity) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.#kick();
    }, Math.max(5, next - Date.now() + 5));
  }

  // ------------------------------------------------------------- recordings

  #stateOf(id: string): RecordingState | undefined {
    const chunkId = this.#current.get(id);
    return chunkId ? this.#states.get(chunkId) : undefined;
  }

  async #refresh(id: string): Promise<void> {
    const castPath = this.#castPath(id);
    let tracked = this.#tracked.get(id);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(castPath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        if (tracked) {
          this.#tracked.delete(id);
          const state = this.#stateOf(id);
          if (state && !state.done && state.cut_offset < tracked.size) {
            this.#log.warn(
              "{id}.cast disappeared from active/ before its last {bytes} bytes were cut",
              { id, bytes: tracked.size - state.cut_offset },
            );
          }
        }
        return;
      }
      throw error;
    }
    if (!tracked) {
      tracked = {
        id,
        castPath,
        jsonPath: join(this.#paths.active, `${id}.json`),
        size: 0,
        ino: null,
        lastChange: Date.now(),
        pendingSince: null,
        stuckAt: null,
        note: null,
        inputError: null,
        configError: null,
        configStamp: "",
        ended: false,
        lastPidCheck: 0,
        pidAlive: true,
      };
      this.#tracked.set(id, tracked);
    }
    const problem = CONTROL.test(id)
      ? "its name contains control characters; rename it"
      : info.isSymlink
      ? "it is a symbolic link, which is never followed; move the real file into active/"
      : !info.isFile
      ? "it is not a regular file"
      : null;
    if (problem) {
      this.#inputError(tracked, `${id}.cast is not backed up: ${problem}`);
      return;
    }
    if (!tracked.version) {
      const header = await checkHeader(castPath).catch((error) => ({
        kind: "invalid" as const,
        reason: `unreadable: ${error.message}`,
      }));
      if (header.kind === "empty" || header.kind === "incomplete") {
        const note = `${id}.cast is ${
          header.kind === "empty" ? "empty" : "still writing its header"
        }; waiting for the asciicast header`;
        if (tracked.note !== note) {
          tracked.note = note;
          this.#log.info(note);
        }
        return;
      }
      if (header.kind === "invalid") {
        this.#inputError(
          tracked,
          `${id}.cast is not backed up: not an asciicast file (${header.reason})`,
        );
        return;
      }
      tracked.version = header.version;
      tracked.note = null;
      if (tracked.inputError) this.#once.clear(`input:${id}`);
      tracked.inputError = null;
    }
    await this.#readConfig(tracked);
    const now = Date.now();
    if (info.size !== tracked.size || (info.ino ?? null) !== tracked.ino) {
      const firstSight = tracked.ino === null && tracked.size === 0;
      tracked.size = info.size;
      tracked.ino = info.ino ?? null;
      // First sight (a recording found at startup): it has been idle since its mtime.
      tracked.lastChange = firstSight && info.mtime ? Math.min(now, info.mtime.getTime()) : now;
    }
    let state = this.#stateOf(id);
    if (!state) state = await this.#newRecordingState(tracked);
    if (
      (state.ino !== null && tracked.ino !== null && state.ino !== tracked.ino) ||
      tracked.size < state.cut_offset
    ) {
      state = await this.#newGeneration(tracked, state);
    }
    if (tracked.size > state.cut_offset && tracked.pendingSince === null) {
      tracked.pendingSince = now;
    }
    // End of the recording.
    if (!tracked.ended) {
      const config = tracked.config;
      if (config?.ended) {
        tracked.ended = true;
        tracked.endReason = "its .json says it ended";
      } else if (tracked.version === 3 && (await endsWithExitEvent(castPath, tracked.size))) {
        tracked.ended = true;
        tracked.endReason = "asciicast exit event";
      } else if (typeof config?.recorder_pid === "number" && config.recorder_pid > 0) {
        if (now - tracked.lastPidCheck >= this.#settings.scan_interval_seconds * 500) {
          tracked.lastPidCheck = now;
          tracked.pidAlive = await pidAlive(config.recorder_pid);
        }
        if (!tracked.pidAlive) {
          tracked.ended = true;
          tracked.endReason = `recorder (pid ${config.recorder_pid}) is gone`;
        }
      }
      if (tracked.ended) {
        this.#log.info("Recording {id} ended ({reason})", { id, reason: tracked.endReason });
      }
    }
  }

  #inputError(tracked: Tracked, message: string): void {
    tracked.inputError = message;
    this.#once.warn(`input:${tracked.id}`, message, { id: tracked.id });
    this.#scheduleHealth();
  }

  async #readConfig(tracked: Tracked): Promise<void> {
    let stamp = "absent";
    try {
      const info = await Deno.lstat(tracked.jsonPath);
      stamp = `${info.mtime?.getTime()}:${info.size}:${info.ino}:${info.isSymlink}`;
      if (info.isSymlink) {
        if (stamp !== tracked.configStamp) {
          tracked.configStamp = stamp;
          tracked.config = undefined;
          tracked.configError =
            `${tracked.id}.json is a symbolic link, which is never followed; its chunks are kept in the spool until it is replaced by a regular file or deleted`;
          this.#once.warn(`config:${tracked.id}`, tracked.configError);
        }
        return;
      }
    } catch {
      stamp = "absent";
    }
    if (stamp === tracked.configStamp) return;
    tracked.configStamp = stamp;
    if (stamp === "absent") {
      tracked.config = undefined;
      tracked.configError = null;
      this.#once.clear(`config:${tracked.id}`);
      return;
    }
    const result = await readRecordingConfig(tracked.jsonPath);
    if (!result.ok && result.missing) {
      tracked.config = undefined;
      tracked.configError = null;
      return;
    }
    if (!result.ok) {
      tracked.config = undefined;
      tracked.configError =
        `${tracked.id}.json is invalid (${result.error}); its chunks are kept in the spool, not pushed, until the file is fixed or deleted`;
      this.#once.warn(`config:${tracked.id}`, tracked.configError, { id: tracked.id });
    } else {
      tracked.config = result.config;
      if (tracked.configError) {
        this.#once.clear(`config:${tracked.id}`);
        this.#log.info("{id}.json is valid again", { id: tracked.id });
      }
      tracked.configError = null;
    }
    this.#scheduleHealth();
  }

  async #newRecordingState(tracked: Tracked): Promise<RecordingState> {
    const state = newState(tracked.id, { ino: tracked.ino });
    // A checkpoint lost (state/ deleted): resume from what the clone already has.
    const existing = this.#states.get(state.id) ?? this.#finished.get(state.id);
    if (existing) {
      // A finished generation with this id exists: this file is a new one.
      return await this.#newGeneration(tracked, existing);
    }
    const target = this.#targetFor(tracked);
    const resume = target ? await this.#resumePoint(target, state.id, tracked.castPath) : undefined;
    if (resume) {
      state.cut_offset = resume.end;
      state.pushed_offset = resume.end;
      state.next_seq = resume.nextSeq;
      state.pushed_chunks = resume.nextSeq;
      this.#log.warn(
        "No checkpoint for {id}: resuming at byte {end} (chunk {seq}) from the branch",
        { id: state.id, end: resume.end, seq: resume.nextSeq },
      );
    }
    if (state.cut_offset > tracked.size || resume?.matches === false) {
      // The branch has more than this file, or other bytes: the file is a new generation.
      return await this.#newGeneration(tracked, state);
    }
    await saveState(this.#paths.state, state);
    this.#states.set(state.id, state);
    this.#current.set(tracked.id, state.id);
    await reconcileSpool(tracked.castPath, state, {
      spoolDir: this.#paths.spool,
      stateDir: this.#paths.state,
      signal: this.signal,
    });
    return state;
  }

  async #resumePoint(
    target: RemoteTarget,
    id: string,
    castPath: string,
  ): Promise<{ end: number; nextSeq: number; matches: boolean } | undefined> {
    const remote = this.#remote(target);
    try {
      // A new clone starts from the remote branch (it fetches), so a lost repos/ resumes too.
      await remote.clone.ensure();
    } catch {
      return undefined;
    }
    const entries = (await listBranchChunks(remote.clone.gitDir, `refs/heads/${target.branch}`, {
      ids: [id],
      signal: this.signal,
    })).get(id) ?? [];
    const point = resumePointFor(entries);
    if (point.next_seq === 0) return undefined;
    if (point.beyond.length) {
      this.#log.warn("Branch chunks of {id} after byte {end} do not follow on; ignored", {
        id,
        end: point.end,
      });
    }
    // Is the file still the recording the branch holds? (last chunk's Cast-Sha256)
    const check = await checkResumePoint(castPath, point, { lastOnly: true });
    return { end: point.end, nextSeq: point.next_seq, matches: check.ok };
  }

  async #newGeneration(tracked: Tracked, old: RecordingState): Promise<RecordingState> {
    let generation = old.generation + 1;
    const taken = (id: string) => this.#states.has(id) || this.#finished.has(id);
    while (taken(`${tracked.id}~${generation}`)) generation++;
    const state = newState(tracked.id, { generation, ino: tracked.ino });
    await this.#withLock(`state:${old.id}`, async () => {
      const next = {
        ...old,
        superseded: true,
        final: true,
        ended_at: old.ended_at ?? new Date().toISOString(),
      };
      await saveState(this.#paths.state, next);
      Object.assign(old, next);
    });
    this.#log.warn(
      "{id}.cast was replaced or truncated: what was already cut stays under {old}; the new content is backed up as {new}",
      { id: tracked.id, old: old.id, new: state.id },
    );
    await saveState(this.#paths.state, state);
    this.#states.set(state.id, state);
    this.#current.set(tracked.id, state.id);
    tracked.pendingSince = null;
    tracked.stuckAt = null;
    for (const key of this.#remotesWithWork()) this.#schedulePublish(key, 0);
    return state;
  }

  async #cutFor(tracked: Tracked, options: { force: boolean }): Promise<void> {
    if (tracked.inputError || !tracked.version) return;
    const state = this.#stateOf(tracked.id);
    if (!state || state.final) return;
    const now = Date.now();
    const pending = tracked.size - state.cut_offset;
    const idle = now - tracked.lastChange >= this.#settings.idle_threshold * 1000;
    const old = tracked.pendingSince !== null &&
      now - tracked.pendingSince >= this.#settings.max_chunk_seconds * 1000;
    const stuck = tracked.stuckAt === tracked.size;
    let reason: string | undefined;
    if (tracked.ended) reason = "end";
    else if (pending > 0 && options.force) reason = "once";
    else if (pending >= this.#settings.max_chunk_bytes) reason = "size";
    else if (pending > 0 && !stuck && (options.force || idle)) {
      reason = options.force ? "once" : "idle";
    } else if (pending > 0 && !stuck && old) reason = "age";
    if (!reason) return;
    const final = reason === "end";
    let cut = 0;
    await this.#withLock(`state:${state.id}`, async () => {
      while (!this.#stopped || options.force) {
        // Re-read the size: the file keeps growing while we cut.
        const size = Math.max(tracked.size, (await Deno.stat(tracked.castPath)).size);
        tracked.size = size;
        let chunk: PendingChunk | undefined;
        try {
          chunk = await cutNextChunk(tracked.castPath, state, {
            spoolDir: this.#paths.spool,
            stateDir: this.#paths.state,
            level: this.#settings.zstd_level,
            maxBytes: this.#settings.max_chunk_bytes,
            final,
            size,
            signal: this.signal,
          });
        } catch (error) {
          if (this.#stopped) return;
          const message = `Cutting ${state.id} failed: ${
            error instanceof Error ? error.message : error
          }`;
          this.#once.error(`cut:${state.id}`, message);
          this.#lastError = message;
          this.#options.onEvent?.({ type: "disk", message });
          return;
        }
        if (!chunk) break;
        this.#once.clear(`cut:${state.id}`);
        cut++;
        this.#log.info("Cut {id} #{seq} [{start}, {end}) ({bytes} bytes zstd, {reason})", {
          id: state.id,
          seq: chunk.seq,
          start: chunk.start,
          end: chunk.end,
          bytes: chunk.bytes,
          reason,
        });
        if (
          !final && tracked.size - state.cut_offset < this.#settings.max_chunk_bytes &&
          reason !== "idle" && reason !== "once"
        ) break;
      }
      if (final && state.cut_offset >= tracked.size) {
        const next = { ...state, final: true, ended_at: new Date().toISOString() };
        await saveState(this.#paths.state, next);
        Object.assign(state, next);
      }
    });
    tracked.stuckAt = state.cut_offset < tracked.size && !final ? tracked.size : null;
    tracked.pendingSince = state.cut_offset < tracked.size ? Date.now() : null;
    if (cut > 0 || state.final) {
      const target = this.#targetFor(tracked);
      if (target) this.#schedulePublish(this.#remote(target).key, 0);
    }
    this.#scheduleHealth();
  }

  #targetFor(tracked: Tracked | undefined): RemoteTarget | undefined {
    if (tracked?.configError) return undefined;
    const config = tracked?.config;
    const url = config?.repo_url || this.#settings.repo_url || this.#paths.backupGit;
    const branch = config?.branch || this.#settings.branch;
    return { url, branch };
  }

  #stateTarget(state: RecordingState): RemoteTarget | undefined {
    const pinned = (state as Record<string, unknown>).remote as RemoteTarget | undefined;
    if (pinned?.url && pinned.branch) return pinned;
    const tracked = this.#tracked.get(state.source);
    if (!tracked) {
      // Not in active/ any more: its remote is whatever the defaults say.
      return this.#targetFor(undefined);
    }
    return this.#targetFor(tracked);
  }

  // --------------------------------------------------------------- remotes

  #remote(target: RemoteTarget): RemoteEntry {
    const key = repoSlug(target);
    let entry = this.#remotes.get(key);
    if (!entry) {
      entry = {
        key,
        target,
        clone: new RepoClone(target, {
          gitDir: join(this.#paths.repos, key),
          globalConfig: this.#paths.gitConfig,
          authFor: this.#options.authFor,
          signal: this.signal,
        }),
        failures: 0,
        nextAttemptAt: 0,
        failingSince: null,
        lastError: null,
        errorKind: null,
        lastPush: null,
        again: false,
      };
      this.#remotes.set(key, entry);
    }
    return entry;
  }

  #remotesWithWork(): string[] {
    const keys = new Set<string>();
    for (const state of this.#states.values()) {
      if (state.done) continue;
      const work = state.pending.length > 0 || (state.final && !state.manifest_pushed);
      if (!work) continue;
      const target = this.#stateTarget(state);
      if (target) keys.add(this.#remote(target).key);
    }
    return [...keys];
  }

  #schedulePublish(key: string, delayMs: number): void {
    if (this.#stopped || this.#onceMode) return;
    const entry = this.#remotes.get(key);
    if (!entry) return;
    const due = Math.max(delayMs, entry.nextAttemptAt - Date.now());
    if (entry.running) {
      entry.again = true;
      return;
    }
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.running) {
        entry.again = true;
        return;
      }
      entry.running = this.#publish(key, { force: false }).finally(() => {
        entry.running = undefined;
        if (entry.again && !this.#stopped) {
          entry.again = false;
          this.#schedulePublish(key, 0);
        }
      });
    }, Math.max(0, due));
  }

  #publish(key: string, options: { force: boolean }): Promise<void> {
    return this.#withLock(`remote:${key}`, () => this.#publishLocked(key, options));
  }

  async #publishLocked(key: string, options: { force: boolean }): Promise<void> {
    const entry = this.#remotes.get(key);
    if (!entry) return;
    if (!options.force && Date.now() < entry.nextAttemptAt) {
      this.#schedulePublish(key, entry.nextAttemptAt - Date.now());
      return;
    }
    const states = [...this.#states.values()].filter((state) => {
      if (state.done) return false;
      const target = this.#stateTarget(state);
      return target !== undefined && repoSlug(target) === key;
    });
    const chunks: ChunkItem[] = [];
    const batch = new Map<string, PendingChunk[]>();
    for (const state of states) {
      const included: PendingChunk[] = [];
      for (const chunk of state.pending) {
        const file = spoolFileFor(this.#paths.spool, state.id, chunk);
        try {
          await Deno.stat(file);
        } catch {
          const committed = await entry.clone.committedChunkNames(state.id).catch(() => new Set());
          const name = file.slice(spoolDirFor(this.#paths.spool, state.id).length + 1);
          if (committed.has(name)) {
            included.push(chunk);
            continue;
          }
          await this.#recut(state, chunk);
          break;
        }
        chunks.push({ id: state.id, ...chunk, file });
        included.push(chunk);
      }
      batch.set(state.id, included);
    }
    const queued = chunks.length;
    const manifests: ManifestItem[] = [];
    try {
      if (entry.target.url === this.#paths.backupGit) {
        await ensureEmbeddedRemote(this.#paths.backupGit, { globalConfig: this.#paths.gitConfig });
      }
      await entry.clone.ensure();
      for (const state of states) {
        if (state.final && !state.manifest_pushed) {
          const included = batch.get(state.id) ?? [];
          if (included.length === state.pending.length) {
            manifests.push({ id: state.id, manifest: await this.#manifest(state) });
          }
        }
      }
      if (chunks.length === 0 && manifests.length === 0) {
        // Maybe an earlier push failed after committing: push what is committed.
        await entry.clone.push();
      } else {
        await entry.clone.commit(chunks, manifests);
        await entry.clone.push();
      }
    } catch (error) {
      if (this.#stopped) return;
      const kind = error instanceof PublishError ? error.kind : "remote";
      const message = error instanceof Error ? error.message : String(error);
      this.#pushFailed(entry, kind, message, queued);
      return;
    }
    // Pushed: advance checkpoints, then drop the spool files.
    let pushedNow = 0;
    for (const state of states) {
      const included = batch.get(state.id) ?? [];
      const manifestDone = manifests.some((item) => item.id === state.id);
      if (included.length === 0 && !manifestDone) continue;
      const seqs = new Set(included.map((chunk) => chunk.seq));
      await this.#withLock(`state:${state.id}`, async () => {
        const next: RecordingState = {
          ...state,
          pending: state.pending.filter((chunk) => !seqs.has(chunk.seq)),
          pushed_offset: Math.max(state.pushed_offset, ...included.map((chunk) => chunk.end)),
          pushed_chunks: state.pushed_chunks + included.length,
          manifest_pushed: state.manifest_pushed || manifestDone,
          remote: entry.target,
        };
        await saveState(this.#paths.state, next);
        Object.assign(state, next);
      });
      for (const chunk of included) {
        await Deno.remove(spoolFileFor(this.#paths.spool, state.id, chunk)).catch(() => {});
      }
      pushedNow += included.length;
      if (state.manifest_pushed) await this.#finish(state);
    }
    this.#chunksPushed += pushedNow;
    const wasFailing = entry.failingSince !== null;
    entry.failures = 0;
    entry.nextAttemptAt = 0;
    entry.failingSince = null;
    entry.lastError = null;
    entry.errorKind = null;
    if (pushedNow > 0 || manifests.length > 0) {
      entry.lastPush = Date.now();
      this.#lastPush = new Date().toISOString();
      this.#log.info("Pushed {count} chunk(s) to {branch}", {
        count: pushedNow,
        branch: entry.target.branch,
      });
    }
    if (wasFailing) {
      this.#once.clear(`push:${key}`);
      this.#log.info("Pushes to {branch} work again", { branch: entry.target.branch });
      this.#options.onEvent?.({
        type: "push-ok",
        remote: key,
        queued: pushedNow,
        label: `${displayUrl(entry.target.url)} (${entry.target.branch})`,
      });
    }
    this.#scheduleHealth();
    // More may have been cut meanwhile.
    if (!options.force && this.#remotesWithWork().includes(key)) entry.again = true;
  }

  #pushFailed(entry: RemoteEntry, kind: ErrorKind, message: string, queued: number): void {
    entry.failures++;
    entry.failingSince ??= Date.now();
    entry.lastError = message;
    entry.errorKind = kind;
    const cap = this.#settings.retry_max_seconds;
    const needsPerson = kind === "auth" || kind === "config";
    const delay = needsPerson ? cap : Math.min(cap, 2 * 2 ** (entry.failures - 1));
    entry.nextAttemptAt = Date.now() + delay * 1000;
    const hint = kind === "auth"
      ? " The token was rejected or cannot be read: store a new one with `deno task daemon-setup`."
      : "";
    this.#lastError = `${message}${hint}`;
    this.#once.warn(
      `push:${entry.key}`,
      `Pushing to ${entry.target.branch} failed (${kind}): ${message}.${hint} Retrying in ${delay}s; chunks stay in the spool.`,
    );
    this.#options.onEvent?.({
      type: "push-failed",
      remote: entry.key,
      kind,
      message,
      since: new Date(entry.failingSince),
      queued,
      label: `${displayUrl(entry.target.url)} (${entry.target.branch})`,
    });
    this.#scheduleHealth();
    this.#schedulePublish(entry.key, delay * 1000);
  }

  async #recut(state: RecordingState, chunk: PendingChunk): Promise<void> {
    // A spool file vanished before it was committed: cut that range again.
    await this.#withLock(`state:${state.id}`, async () => {
      const next: RecordingState = {
        ...state,
        pending: state.pending.filter((item) => item.seq < chunk.seq),
        cut_offset: chunk.start,
        next_seq: chunk.seq,
        final: false,
      };
      await saveState(this.#paths.state, next);
      Object.assign(state, next);
    });
    this.#log.warn("Spool file of {id} #{seq} is missing; cutting it again", {
      id: state.id,
      seq: chunk.seq,
    });
    const tracked = this.#tracked.get(state.source);
    if (tracked) {
      tracked.stuckAt = null;
      this.#dirty.add(state.source);
      this.#kick();
    }
  }

  async #manifest(state: RecordingState): Promise<Record<string, unknown>> {
    const tracked = this.#tracked.get(state.source);
    let sha256: string | null = null;
    if (tracked && this.#current.get(state.source) === state.id) {
      try {
        const size = (await Deno.stat(tracked.castPath)).size;
        if (size === state.cut_offset) sha256 = await sha256Range(tracked.castPath, 0, size);
      } catch {
        sha256 = null;
      }
    }
    return {
      id: state.id,
      source: state.source,
      generation: state.generation,
      total_bytes: state.cut_offset,
      chunks: state.next_seq,
      sha256,
      started: (tracked?.config?.started as string | undefined) ?? state.first_seen,
      ended: state.ended_at,
      asciicast_version: tracked?.version ?? null,
    };
  }

  async #finish(state: RecordingState): Promise<void> {
    if (this.#current.get(state.source) === state.id) {
      const tracked = this.#tracked.get(state.source);
      await ensurePrivateDir(this.#paths.done);
      for (const ext of [".cast", ".json"]) {
        const from = join(this.#paths.active, `${state.source}${ext}`);
        let to = join(this.#paths.done, `${state.id}${ext}`);
        try {
          await Deno.lstat(to);
          to = join(this.#paths.done, `${state.id}.${Date.now()}${ext}`);
        } catch {
          // free
        }
        await Deno.rename(from, to).catch(() => {});
      }
      this.#tracked.delete(state.source);
      this.#current.delete(state.source);
      if (tracked) this.#once.clear(`input:${tracked.id}`);
      this.#log.info("Recording {id} is fully pushed and moved to done/", { id: state.id });
    }
    await this.#withLock(`state:${state.id}`, async () => {
      const next = { ...state, done: true };
      await saveState(this.#paths.state, next);
      Object.assign(state, next);
    });
    this.#states.delete(state.id);
    this.#finished.set(state.id, state);
    await Deno.remove(spoolDirFor(this.#paths.spool, state.id)).catch(() => {});
  }

  // --------------------------------------------------------------- helpers

  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(fn);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  #noteError(message: string): void {
    this.#lastError = message;
    this.#log.error(message);
    this.#scheduleHealth();
  }

  #scheduleHealth(): void {
    if (this.#healthTimer !== undefined || this.#stopped) return;
    this.#healthTimer = setTimeout(() => {
      this.#healthTimer = undefined;
      void this.#writeHealth();
    }, 100);
  }

  /** The current health document. */
  health(status?: Health["status"], message?: string): Health {
    const recordings: Record<string, RecordingHealth> = {};
    for (const state of this.#states.values()) {
      if (state.done) continue;
      const tracked = this.#tracked.get(state.source);
      const current = this.#current.get(state.source) === state.id;
      const target = this.#stateTarget(state);
      const key = current ? state.source : state.id;
      recordings[key] = {
        chunk_id: state.id,
        size: current && tracked ? tracked.size : state.cut_offset,
        cut_offset: state.cut_offset,
        pushed_offset: state.pushed_offset,
        spool_chunks: state.pending.length,
        spool_bytes: state.pending.reduce((sum, chunk) => sum + chunk.bytes, 0),
        oldest_pending_at: state.pending[0]?.cut_at ??
          (current && tracked?.pendingSince ? new Date(tracked.pendingSince).toISOString() : null),
        state: tracked?.configError
          ? "held"
          : tracked?.inputError
          ? "error"
          : state.final || !current
          ? "ended"
          : "recording",
        remote: target ? displayUrl(target.url) : "",
        branch: target?.branch ?? "",
        last_error: tracked?.inputError ?? tracked?.configError ??
          (target ? this.#remotes.get(repoSlug(target))?.lastError ?? null : null),
      };
    }
    for (const tracked of this.#tracked.values()) {
      if (recordings[tracked.id] || !(tracked.inputError || tracked.note)) continue;
      recordings[tracked.id] = {
        chunk_id: tracked.id,
        size: tracked.size,
        cut_offset: 0,
        pushed_offset: 0,
        spool_chunks: 0,
        spool_bytes: 0,
        oldest_pending_at: null,
        state: tracked.inputError ? "error" : "recording",
        remote: "",
        branch: "",
        last_error: tracked.inputError ?? tracked.note,
      };
    }
    const remotes: Record<string, RemoteHealth> = {};
    for (const entry of this.#remotes.values()) {
      let queued = 0;
      for (const state of this.#states.values()) {
        const target = this.#stateTarget(state);
        if (!state.done && target && repoSlug(target) === entry.key) queued += state.pending.length;
      }
      remotes[entry.key] = {
        url: displayUrl(entry.target.url),
        branch: entry.target.branch,
        last_push: entry.lastPush ? new Date(entry.lastPush).toISOString() : null,
        last_error: entry.lastError,
        error_kind: entry.errorKind,
        failing_since: entry.failingSince ? new Date(entry.failingSince).toISOString() : null,
        next_retry_at: entry.nextAttemptAt ? new Date(entry.nextAttemptAt).toISOString() : null,
        queued_chunks: queued,
      };
    }
    const failing = Object.values(remotes).filter((remote) => remote.last_error);
    const badInput = Object.values(recordings).filter((rec) =>
      rec.state === "held" || rec.state === "error"
    );
    let computed: Health["status"] = "ok";
    let text = `${Object.keys(recordings).length} recording(s), all backed up as they go`;
    const needsPerson = failing.find((remote) =>
      remote.error_kind === "auth" || remote.error_kind === "config"
    );
    if (needsPerson?.error_kind === "auth") {
      computed = "error";
      text =
        "the remote rejected the token (or it cannot be read): store a new one with `deno task daemon-setup`; chunks are kept in the spool";
    } else if (needsPerson) {
      computed = "error";
      text = `${needsPerson.last_error}; chunks are kept in the spool`;
    } else if (failing.length) {
      computed = "degraded";
      text = `pushing fails (${failing[0].error_kind}): ${
        failing[0].last_error
      }; chunks are kept in the spool`;
    } else if (badInput.length) {
      computed = "degraded";
      text = `${badInput.length} recording(s) need attention: ${badInput[0].last_error}`;
    }
    const now = new Date().toISOString();
    return {
      status: status ?? computed,
      message: message || text,
      last_update: now,
      last_push: this.#lastPush,
      chunks_pushed: this.#chunksPushed,
      pid: Deno.pid,
      idle_threshold: this.#settings.idle_threshold,
      zstd_level: this.#settings.zstd_level,
      heartbeat: now,
      heartbeat_interval_seconds: this.#settings.heartbeat_seconds,
      started_at: this.#startedAt.toISOString(),
      recordings,
      remotes,
      last_error: this.#lastError,
    };
  }

  async #writeHealth(status?: Health["status"], message?: string): Promise<void> {
    if (this.#stopped && status !== "stopped") return;
    try {
      await writeHealth(this.#paths.health, this.health(status, message));
    } catch (error) {
      this.#once.error("health", `Writing health.json failed: ${error}`);
    }
  }
}
