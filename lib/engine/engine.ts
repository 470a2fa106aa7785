/**
 * The engine: the daemon's loop. File events and a periodic scan mark ids
 * dirty; a tick reads their facts (tracker), asks the pure planner what to do
 * with each recording and starts that as the recording's one task (a cut pass,
 * a new generation, a finish). Publishing runs in per-remote queues. Every
 * task and queue run is awaited or caught: an error is recorded on its
 * recording or remote, shown in health and retried with backoff.
 *
 * @module
 */
import { join } from "node:path";
import { ensureHome, type HomePaths, log, OnceLog, type Settings } from "../sys/mod.ts";
import { type AuthResolver, displayUrl, type RemoteTarget } from "../git/mod.ts";
import { loadAllStates, type RecordingState } from "../chunk/mod.ts";
import { type ErrorKind, readHealth, writeHealth } from "../status/mod.ts";
import { type Clock, systemClock, wallAt } from "./clock.ts";
import {
  buildHealth,
  earliest,
  type HealthSnapshot,
  type RecordingSnapshot,
} from "./health_view.ts";
import { ABSENT, type Action, newProgress, plan, type PlanLimits } from "./planner.ts";
import { newMemo, readFacts } from "./tracker.ts";
import { type RemoteEntry, Remotes } from "./remotes.ts";
import { reconcileSpool } from "./spool.ts";
import { serialStateUpdate } from "./state_writer.ts";
import { type Recording, RecordingActions } from "./actions.ts";
import { publishBatch } from "./publish.ts";
import { Watcher } from "./watcher.ts";
import { fileIdentityMismatch } from "./identity.ts";
import { VisibilityGate } from "./visibility_gate.ts";

/** Events the daemon reports (for notifications). */
export type EngineEvent =
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
  | { type: "disk"; message: string }
  | { type: "behind"; id: string; ageSeconds: number }
  | { type: "caught-up"; id: string }
  | { type: "public-refused"; id: string; message: string };

/**
 * True when a generation's waiting work must be pushed at once: a chunk cut
 * because the terminal went quiet, ended or `run --once` asked (the person may
 * be about to close the laptop), or its manifest. Size and age cuts of a busy
 * terminal may wait `push_interval_seconds` to share a push.
 */
export function isUrgent(state: RecordingState): boolean {
  if (state.final && !state.manifest_pushed) return true;
  return state.pending.some((chunk) => chunk.reason !== "size" && chunk.reason !== "age");
}

/** Cut passes running at once (zstd is CPU work). */
const CUT_CONCURRENCY = Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2));

/** How long file events are gathered before a tick. */
const EVENT_BATCH_MS = 1000;

/** Options for {@linkcode Engine}. */
export interface EngineOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Validated settings. */
  settings: Settings;
  /** How git reaches a remote (authentication). */
  authFor?: AuthResolver;
  /** The token of a remote, for the GitHub API's visibility answer (absent: anonymous). */
  tokenFor?: (url: string) => Promise<string | undefined>;
  /** Notable events (must not throw). */
  onEvent?: (event: EngineEvent) => void;
  /** Clock (default: the process's). */
  clock?: Clock;
}

/** The daemon engine. */
export class Engine {
  #o: EngineOptions;
  #clock: Clock;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #abort = new AbortController();
  #stopped = false;
  #recs = new Map<string, Recording>();
  #states = new Map<string, RecordingState>();
  #finished = new Set<string>();
  #remotes: Remotes;
  #actions: RecordingActions;
  #dirty = new Set<string>();
  #ticking: Promise<void> | null = null;
  #tickAgain = false;
  #wake?: ReturnType<typeof setTimeout>;
  #wakeAt = Infinity;
  #timers: ReturnType<typeof setInterval>[] = [];
  #healthTimer?: ReturnType<typeof setTimeout>;
  #watcher: Watcher;
  #startedAt: Date;
  #chunksPushed = 0;
  #lastPush: string | null = null;
  #lastError: string | null = null;
  /** `run --once` drives every step itself: no ticks, no wake-ups. */
  #onceMode = false;
  #behind = new Set<string>();
  #cutting = new Set<string>();
  #gate: VisibilityGate;
  #refused = new Set<string>();

  /** Creates the engine (nothing runs until `start` or `runOnce`). */
  constructor(options: EngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#startedAt = this.#clock.wall();
    const { paths, settings } = options;
    this.#gate = new VisibilityGate({
      settings,
      clock: this.#clock,
      tokenFor: options.tokenFor,
      signal: this.#abort.signal,
      allowPublic: (state) => this.#recs.get(state.source)?.memo.config?.allow_public === true,
    });
    this.#remotes = new Remotes({
      paths,
      clock: this.#clock,
      capSeconds: settings.retry_max_seconds,
      authFor: options.authFor,
      signal: this.#abort.signal,
      hooks: {
        publish: (entry) => this.#publish(entry),
        onChange: (entry, failure) => this.#remoteChanged(entry, failure),
        notBefore: (entry, lastSuccess) => this.#notBefore(entry, lastSuccess),
      },
    });
    this.#actions = new RecordingActions({
      paths,
      settings,
      clock: this.#clock,
      states: this.#states,
      finished: this.#finished,
      update: serialStateUpdate(paths.state),
      signal: this.#abort.signal,
      targetOf: (rec) => this.#targetOf(undefined, rec),
      remote: (target) => this.#remotes.get(target),
      afterJob: (rec) => this.#afterTask(rec),
      onEvent: (event) => this.#o.onEvent?.(event),
    });
    this.#watcher = new Watcher(paths.active, {
      onIds: (ids) => {
        for (const id of ids) this.#dirty.add(id);
        this.#kickSoon();
      },
      onError: (message) => this.#once.warn("watch", message),
    });
  }

  /** The shutdown signal. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  async #init(): Promise<void> {
    const { paths } = this.#o;
    await ensureHome(paths);
    await Deno.writeTextFile(paths.gitConfig, "", { createNew: true, mode: 0o600 }).catch(
      (error) => {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      },
    );
    const previous = await readHealth(paths.health);
    this.#chunksPushed = previous?.chunks_pushed ?? 0;
    this.#lastPush = previous?.last_push ?? null;
    const { states, errors } = await loadAllStates(paths.state);
    for (const [name, error] of errors) {
      this.#log.warn("Checkpoint {name} is unreadable ({error}); set aside as {name}.broken", {
        name,
        error: error.message,
      });
      await Deno.rename(join(paths.state, name), join(paths.state, `${name}.broken`))
        .catch(() => {});
    }
    for (const state of states.sort((a, b) => a.generation - b.generation)) {
      if (state.done) {
        this.#finished.add(state.id);
        continue;
      }
      this.#states.set(state.id, state);
      const rec = this.#rec(state.source);
      if (!state.superseded) rec.current = state.id;
    }
    for (const state of this.#states.values()) {
      const rec = this.#recs.get(state.source);
      const castPath = rec?.current === state.id ? this.#castPath(state.source) : undefined;
      const report = await reconcileSpool(castPath, state, {
        spoolDir: paths.spool,
        stateDir: paths.state,
        signal: this.signal,
        wall: () => this.#clock.wall(),
      });
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
    return join(this.#o.paths.active, `${id}.cast`);
  }

  #rec(id: string): Recording {
    let rec = this.#recs.get(id);
    if (!rec) {
      rec = {
        id,
        memo: newMemo(),
        facts: null,
        progress: newProgress(this.#clock.now()),
        current: null,
        task: null,
        resolving: false,
        error: null,
        firstSight: true,
        shown: "",
        loggedNote: null,
      };
      this.#recs.set(id, rec);
    }
    return rec;
  }

  /** Starts watching and working; returns once running. */
  async start(): Promise<void> {
    await this.#init();
    await this.#writeHealth("starting", "starting up");
    this.#watcher.start();
    await this.#scan();
    const { settings } = this.#o;
    this.#timers.push(setInterval(() => void this.#scan(), settings.scan_interval_seconds * 1000));
    this.#timers.push(
      setInterval(() => void this.#writeHealth(), settings.heartbeat_seconds * 1000),
    );
    for (const entry of this.#remotesWithWork()) entry.queue.kick();
    await this.#writeHealth();
    this.#log.info("Daemon started (pid {pid}), watching {dir}", {
      pid: Deno.pid,
      dir: this.#o.paths.active,
    });
  }

  async #scanNames(): Promise<void> {
    for (const id of await this.#watcher.list()) this.#dirty.add(id);
    for (const id of this.#recs.keys()) this.#dirty.add(id);
  }

  async #scan(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#watcher.check();
      await this.#scanNames();
    } catch (error) {
      this.#once.warn("scan", `Scanning ${this.#o.paths.active} failed: ${error}`);
    }
    this.#kick();
  }

  /**
   * File events are taken up together, at most every 200 ms: a terminal that
   * redraws ten times a second costs a few ticks, not one per write. (Idle
   * time is measured from the file's mtime, so this adds nothing to it.)
   */
  #kickSoon(): void {
    if (this.#stopped || this.#wakeAt <= this.#clock.now() + EVENT_BATCH_MS) return;
    this.#setWake(this.#clock.now() + EVENT_BATCH_MS);
  }

  #setWake(at: number): void {
    if (at >= this.#wakeAt) return;
    clearTimeout(this.#wake);
    this.#wakeAt = at;
    this.#wake = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.#kick();
    }, Math.max(0, at - this.#clock.now()) + 2);
  }

  #kick(): void {
    if (this.#stopped || this.#onceMode) return;
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    this.#ticking = (async () => {
      // Bounded: a burst of events is taken up by the next wake.
      for (let round = 0; round < 4; round++) {
        this.#tickAgain = false;
        await this.#tick().catch((error) =>
          this.#noteError(`internal error: ${error instanceof Error ? error.stack : error}`)
        );
        if (!this.#tickAgain || this.#stopped) break;
      }
      if (this.#tickAgain) this.#setWake(this.#clock.now());
    })().finally(() => this.#ticking = null);
  }

  /** Reads the facts of one id, and notes growth for the planner. */
  async #refresh(rec: Recording): Promise<void> {
    const now = this.#clock.now();
    const state = rec.current ? this.#states.get(rec.current) : undefined;
    const before = rec.memo.seen;
    const facts = await readFacts(rec.id, {
      activeDir: this.#o.paths.active,
      memo: rec.memo,
      now,
      pidCheckMs: this.#o.settings.scan_interval_seconds * 500,
      staleEnd: state?.stale_end ?? null,
    });
    rec.facts = facts;
    const seen = rec.memo.seen;
    if (seen && (!before || before.size !== seen.size || before.ino !== seen.ino)) {
      // Quiet since its last write (mtime), not since the event was noticed (events are
      // taken up in batches); found at startup, that may be long ago. A wall clock that
      // stepped makes this at most "now" or one early cut.
      const idleFor = seen.mtimeMs !== null
        ? Math.max(0, this.#clock.wall().getTime() - seen.mtimeMs)
        : 0;
      rec.progress.grewAt = rec.firstSight ? now - idleFor : now - Math.min(idleFor, 1000);
    }
    // Rewritten in place without growing past the cut (or changed while the daemon was
    // down): no cut would look at it, so the fingerprint is checked here.
    const changedInPlace = seen && before && seen.mtimeMs !== before.mtimeMs &&
      state && seen.size <= state.cut_offset;
    if (state && facts.present && !facts.problem && (rec.firstSight || changedInPlace)) {
      const why = await fileIdentityMismatch(this.#castPath(rec.id), state).catch(() => null);
      if (why) rec.progress.mismatch = why;
    }
    rec.firstSight = false;
    const shown = `${facts.problem}|${rec.memo.note}|${rec.memo.configError}|${facts.ended}`;
    if (shown !== rec.shown) {
      rec.shown = shown;
      this.#scheduleHealth();
    }
    if (!facts.present && !rec.current && !rec.task && !rec.resolving) {
      if (![...this.#states.values()].some((s) => s.source === rec.id)) this.#recs.delete(rec.id);
    }
    if (state && facts.size > state.cut_offset) rec.progress.pendingSince ??= now;
    if (rec.memo.note !== rec.loggedNote) {
      rec.loggedNote = rec.memo.note;
      if (rec.memo.note) this.#log.info(rec.memo.note);
    }
    if (facts.problem) this.#once.warn(`input:${rec.id}`, facts.problem, { id: rec.id });
    else this.#once.clear(`input:${rec.id}`);
    const held = rec.memo.configError;
    if (held) this.#once.warn(`config:${rec.id}`, held, { id: rec.id });
    else if (this.#once.clear(`config:${rec.id}`)) {
      this.#log.info("{id}.json is valid again", { id: rec.id });
    }
  }

  #limits(rec: Recording, once?: Map<string, number>): PlanLimits {
    const { settings } = this.#o;
    return {
      idleMs: settings.idle_threshold * 1000,
      maxAgeMs: settings.max_chunk_seconds * 1000,
      maxBytes: settings.max_chunk_bytes,
      onceUpTo: once ? once.get(rec.id) ?? 0 : undefined,
    };
  }

  /** The actions due now: the current generation's, then older generations' (finish). */
  #plan(rec: Recording, once?: Map<string, number>): Action[] {
    const now = this.#clock.now();
    const facts = rec.facts ?? ABSENT;
    const current = rec.current ? this.#states.get(rec.current) : undefined;
    const actions = [plan({
      facts,
      checkpoint: current,
      progress: rec.progress,
      limits: this.#limits(rec, once),
    }, now)];
    for (const state of this.#states.values()) {
      if (state.source !== rec.id || state.id === rec.current) continue;
      const progress = { ...newProgress(now), finishRetry: this.#actions.finishRetry(state.id) };
      const action = plan({
        facts: { ...facts, present: false },
        checkpoint: state,
        progress,
        limits: this.#limits(rec),
      }, now);
      if (action.type === "finish") actions.push({ type: "finish", id: state.id });
      else if (action.type === "wait") actions.push(action);
    }
    return actions;
  }

  async #tick(): Promise<void> {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const id of dirty) {
      if (this.#stopped) return;
      const rec = this.#rec(id);
      await this.#refresh(rec).catch((error) => {
        rec.error = `Looking at ${id}.cast failed: ${error}`;
        this.#once.error(`refresh:${id}`, rec.error);
      });
    }
    let wake = Infinity;
    for (const rec of [...this.#recs.values()]) {
      if (this.#stopped) return;
      for (const action of this.#plan(rec)) {
        if (action.type === "wait") wake = Math.min(wake, action.until);
        else if (action.type !== "idle" && action.type !== "hold" && !rec.task) {
          // Cuts are CPU work (zstd): as many at once as there are cores; the rest start
          // when one ends (its end kicks a tick).
          if (action.type === "cut" && this.#cutting.size >= CUT_CONCURRENCY) continue;
          if (action.type === "cut") this.#cutting.add(rec.id);
          rec.task = this.#actions.run(rec, action).catch((error) => {
            this.#noteError(`internal error in ${rec.id}: ${error?.stack ?? error}`);
          }).finally(() => {
            rec.task = null;
            this.#cutting.delete(rec.id);
            this.#afterTask(rec);
          });
        }
      }
    }
    if (wake < Infinity) this.#setWake(wake);
    // Work can become publishable without a cut (a .json fixed): idle queues look again.
    for (const entry of this.#remotesWithWork()) if (!entry.queue.busy) entry.queue.kick();
  }

  #afterTask(rec: Recording): void {
    if (!rec.current && ![...this.#states.values()].some((s) => s.source === rec.id)) {
      if (!rec.facts?.present) this.#recs.delete(rec.id);
    }
    this.#dirty.add(rec.id);
    for (const entry of this.#remotesWithWork()) entry.queue.kick();
    this.#scheduleHealth();
    this.#kick();
  }

  #targetOf(state: RecordingState | undefined, rec?: Recording): RemoteTarget | undefined {
    if (state?.remote) return state.remote;
    const owner = rec ?? (state ? this.#recs.get(state.source) : undefined);
    if (owner?.memo.configError) return undefined;
    const config = owner?.memo.config;
    const { settings, paths } = this.#o;
    return {
      url: config?.repo_url || settings.repo_url || paths.backupGit,
      branch: config?.branch || settings.branch,
    };
  }

  #sourcesFor(entry: RemoteEntry): RecordingState[] {
    return [...this.#states.values()].filter((state) => {
      const work = state.pending.length > 0 || (state.final && !state.manifest_pushed);
      const target = work ? this.#targetOf(state) : undefined;
      return target !== undefined && this.#remotes.get(target).key === entry.key &&
        this.#gate.decide(target, state).action !== "refuse";
    }).sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /**
   * When a remote's waiting work may be pushed: now when any of it is urgent;
   * else `push_interval_seconds` after the oldest waiting chunk was cut and after
   * the last push, so busy recordings' chunks share pushes.
   */
  #notBefore(entry: RemoteEntry, lastSuccess: number | null): number {
    const sources = this.#sourcesFor(entry);
    if (sources.some(isUrgent)) {
      // A backlog being cut goes out in one push once its cuts are done (each push
      // costs a few git processes on both sides), but never more than a second late.
      const cutting = [...this.#recs.values()].some((rec) => {
        const due = this.#cutting.has(rec.id) ||
          this.#plan(rec).some((action) => action.type === "cut");
        const target = due ? this.#targetOf(undefined, rec) : undefined;
        return target !== undefined && this.#remotes.get(target).key === entry.key;
      });
      if (!cutting) return 0;
      const oldest = earliest(sources.flatMap((state) => state.pending.map((c) => c.cut_at)));
      const cutAgo = oldest === null ? 0 : this.#clock.wall().getTime() - Date.parse(oldest);
      return this.#clock.now() + Math.max(0, Math.min(1000 - cutAgo, 1000));
    }
    const interval = this.#o.settings.push_interval_seconds * 1000;
    const cut = earliest(sources.flatMap((state) => state.pending.map((chunk) => chunk.cut_at)));
    const wallNow = this.#clock.wall().getTime();
    const cutAt = cut === null
      ? -Infinity
      : this.#clock.now() - Math.max(0, wallNow - Date.parse(cut));
    return Math.max(cutAt + interval, (lastSuccess ?? -Infinity) + interval);
  }

  #remotesWithWork(): RemoteEntry[] {
    const keys = new Map<string, RemoteEntry>();
    for (const state of this.#states.values()) {
      if (!state.pending.length && !(state.final && !state.manifest_pushed)) continue;
      const target = this.#targetOf(state);
      if (target && this.#gate.decide(target, state).action === "refuse") continue;
      if (target) keys.set(this.#remotes.get(target).key, this.#remotes.get(target));
    }
    return [...keys.values()];
  }

  async #publish(entry: RemoteEntry): Promise<boolean> {
    const result = await publishBatch({
      paths: this.#o.paths,
      settings: this.#o.settings,
      target: entry.target,
      clone: entry.clone,
      update: this.#actions.update,
      sources: () => this.#sourcesFor(entry),
      manifestExtra: (state) => this.#manifestExtra(state),
      recut: (state, chunk) => this.#actions.recut(state, chunk),
      prepare: () => this.#gate.refresh(entry.target, this.#sourcesFor(entry)),
    });
    if (result.chunks > 0 || result.finished.length) {
      this.#chunksPushed += result.chunks;
      this.#lastPush = this.#clock.wall().toISOString();
      entry.lastPush = this.#lastPush;
      this.#log.info("Pushed {count} chunk(s) to {branch}", {
        count: result.chunks,
        branch: entry.target.branch,
      });
    }
    for (const state of result.finished) this.#dirty.add(state.source);
    if (result.finished.length) this.#kick();
    this.#scheduleHealth();
    return result.more;
  }

  #manifestExtra(state: RecordingState): Record<string, unknown> {
    const memo = this.#recs.get(state.source)?.memo;
    const started = memo?.config?.started;
    return {
      started: typeof started === "string" && started ? started : state.first_seen,
      asciicast_version: memo?.version ?? null,
    };
  }

  #remoteChanged(entry: RemoteEntry, failure: { kind: ErrorKind; message: string } | null) {
    const label = `${displayUrl(entry.target.url)} (${entry.target.branch})`;
    const queued = this.#sourcesFor(entry).reduce((sum, state) => sum + state.pending.length, 0);
    if (!failure) {
      this.#once.clear(`push:${entry.key}`);
      this.#log.info("Pushes to {branch} work again", { branch: entry.target.branch });
      this.#o.onEvent?.({ type: "push-ok", remote: entry.key, queued, label });
    } else {
      if (failure.kind !== "network" && failure.kind !== "disk") {
        this.#gate.invalidate(entry.target);
      }
      const hint = failure.kind === "auth"
        ? " The token was rejected or cannot be read: store a new one with `deno task daemon-setup`."
        : "";
      const retry = entry.queue.retry;
      const delay = retry ? Math.round((retry.at - this.#clock.now()) / 1000) : 0;
      this.#lastError = `${failure.message}${hint}`;
      this.#once.warn(
        `push:${entry.key}`,
        `Pushing to ${entry.target.branch} failed (${failure.kind}): ${failure.message}.${hint} Retrying in ${delay}s; chunks stay in the spool.`,
      );
      this.#o.onEvent?.({
        type: "push-failed",
        remote: entry.key,
        kind: failure.kind,
        message: failure.message,
        since: this.#clock.wall(),
        queued,
        label,
      });
    }
    this.#scheduleHealth();
  }

  /**
   * `run --once`: cuts what was there when it started (and the rest of
   * ended recordings), pushes, finishes; true only if everything is pushed.
   */
  async runOnce(): Promise<boolean> {
    this.#onceMode = true;
    await this.#init();
    await this.#scanNames();
    for (const id of this.#dirty) await this.#refresh(this.#rec(id));
    this.#dirty.clear();
    const once = new Map([...this.#recs.values()].map((rec) => [rec.id, rec.facts?.size ?? 0]));
    // Bounded: each round either acts on a recording or ends the loop.
    for (let round = 0; round < 32; round++) {
      let acted = false;
      for (const rec of [...this.#recs.values()]) {
        for (const action of this.#plan(rec, once)) {
          if (action.type === "wait" || action.type === "idle" || action.type === "hold") continue;
          acted = true;
          await this.#actions.run(rec, action, { inline: true });
          await this.#refresh(rec);
        }
      }
      if (acted) continue;
      const remotes = this.#remotesWithWork().filter((entry) => !entry.queue.retry);
      if (!remotes.length) break;
      for (const entry of remotes) {
        entry.queue.kick({ now: true });
        await entry.queue.settle();
      }
      for (const rec of this.#recs.values()) await this.#refresh(rec);
    }
    const failing = this.#remotes.all().find((entry) => entry.queue.retry);
    // Everything pushed: also nothing held back (a broken .json) and nothing left uncut.
    const unpushed = [...this.#states.values()].filter((state) =>
      state.pending.length > 0 || (state.final && !state.manifest_pushed)
    );
    const unresolved = [...this.#recs.values()].filter((rec) =>
      rec.facts?.headerReady && !rec.facts.problem && !rec.current
    );
    const ok = !failing && unpushed.length === 0 && unresolved.length === 0 &&
      ![...this.#recs.values()].some((rec) => rec.error);
    if (!ok) {
      this.#log.warn(
        "run --once: {unpushed} generation(s) not fully pushed, {unresolved} not started",
        {
          unpushed: unpushed.map((state) => state.id).join(", ") || "none",
          unresolved: unresolved.map((rec) => rec.id).join(", ") || "none",
        },
      );
    }
    await this.#writeHealth(
      "stopped",
      ok
        ? "run --once: all pushed"
        : `run --once: not everything was pushed${
          failing ? ` (${failing.queue.retry?.error})` : ""
        }`,
    );
    await this.#remotes.stop();
    return ok;
  }

  /** Stops within about two seconds: aborts git/zstd, writes health `stopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#wake);
    clearTimeout(this.#healthTimer);
    this.#watcher.stop();
    this.#abort.abort(new Error("shutdown"));
    const tasks = [this.#ticking, ...[...this.#recs.values()].map((rec) => rec.task)];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...tasks, this.#remotes.stop()]),
      new Promise((resolve) => timer = setTimeout(resolve, 1500)),
    ]);
    clearTimeout(timer);
    await this.#writeHealth("stopped", "stopped");
    this.#log.info("Daemon stopped");
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

  /** A snapshot of everything health.json shows. */
  snapshot(): HealthSnapshot {
    const recordings: RecordingSnapshot[] = [];
    for (const state of this.#states.values()) {
      const rec = this.#recs.get(state.source);
      const current = rec?.current === state.id;
      const target = this.#targetOf(state);
      recordings.push({
        key: current ? state.source : state.id,
        state,
        current,
        size: rec?.facts?.size ?? state.cut_offset,
        held: rec?.memo.configError ?? (target ? this.#gate.refusal(target, state) : null),
        problem: current ? rec?.facts?.problem ?? null : null,
        note: null,
        error: current ? rec?.error ?? null : null,
        pendingSince: null,
        unpushedSince: earliest([
          ...state.pending.map((chunk) => chunk.since ?? chunk.cut_at),
          current && rec && (rec.facts?.size ?? 0) > state.cut_offset &&
            rec.progress.pendingSince !== null
            ? wallAt(this.#clock, rec.progress.pendingSince).toISOString()
            : null,
        ]),
        remote: target
          ? {
            url: displayUrl(target.url),
            branch: target.branch,
            key: this.#remotes.get(target).key,
          }
          : null,
      });
    }
    for (const rec of this.#recs.values()) {
      if (rec.current || !(rec.facts?.problem || rec.memo.note)) continue;
      recordings.push({
        key: rec.id,
        current: true,
        size: rec.facts?.size ?? 0,
        held: null,
        problem: rec.facts?.problem ?? null,
        note: rec.memo.note,
        error: null,
        pendingSince: null,
        unpushedSince: null,
        remote: null,
      });
    }
    const { settings } = this.#o;
    return {
      now: this.#clock.wall(),
      pid: Deno.pid,
      startedAt: this.#startedAt,
      settings,
      chunksPushed: this.#chunksPushed,
      lastPush: this.#lastPush,
      lastError: this.#lastError,
      recordings,
      remotes: this.#remotes.snapshot().map((remote) => {
        const entry = this.#remotes.all().find((one) => one.key === remote.key);
        return { ...remote, visibility: entry ? this.#gate.visibility(entry.target) : null };
      }),
    };
  }

  async #writeHealth(status?: "starting" | "stopped", message?: string): Promise<void> {
    if (this.#stopped && status !== "stopped") return;
    const health = buildHealth(this.snapshot(), { status, message });
    try {
      await writeHealth(this.#o.paths.health, health);
    } catch (error) {
      this.#once.error("health", `Writing health.json failed: ${error}`);
    }
    if (!status) {
      this.#watchBehind(health.recordings);
      this.#watchRefused();
    }
  }

  /** One `public-refused` event per generation when its chunks start being held back. */
  #watchRefused(): void {
    const now = new Set<string>();
    for (const state of this.#states.values()) {
      const target = this.#targetOf(state);
      const message = target ? this.#gate.refusal(target, state) : null;
      if (!message) continue;
      now.add(state.id);
      if (this.#refused.has(state.id)) continue;
      this.#log.warn("Recording {id} is held back: {message}", { id: state.id, message });
      this.#o.onEvent?.({ type: "public-refused", id: state.id, message });
    }
    this.#refused = now;
  }

  /**
   * Recordings whose oldest unpushed byte passed `notify.behind_minutes`
   * (pushes stall while the terminal keeps writing): one `behind` event when
   * it starts, one `caught-up` when it ends.
   */
  #watchBehind(recordings: Record<string, { unpushed_age_seconds?: number | null }>): void {
    const limit = (this.#o.settings.notify?.behind_minutes ?? 10) * 60;
    for (const [id, rec] of Object.entries(recordings)) {
      const age = rec.unpushed_age_seconds ?? 0;
      if (age > limit && !this.#behind.has(id)) {
        this.#behind.add(id);
        this.#log.warn("Recording {id} is behind: {age} s of output not on the remote", {
          id,
          age: Math.round(age),
        });
        this.#o.onEvent?.({ type: "behind", id, ageSeconds: age });
      }
    }
    for (const id of [...this.#behind]) {
      if ((recordings[id]?.unpushed_age_seconds ?? 0) > limit) continue;
      this.#behind.delete(id);
      this.#log.info("Recording {id} is caught up", { id });
      this.#o.onEvent?.({ type: "caught-up", id });
    }
  }
}
