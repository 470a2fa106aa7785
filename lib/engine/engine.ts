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
import { ensureHome, log, OnceLog } from "../sys/mod.ts";
import { type RecordingState } from "../chunk/mod.ts";
import { readHealth } from "../status/mod.ts";
import { readRecordingConfig } from "../recording/mod.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type HealthSnapshot } from "./health_view.ts";
import { ABSENT, type Action, newProgress, plan, type PlanLimits } from "./planner.ts";
import { newMemo } from "./tracker.ts";
import { Remotes } from "./remotes.ts";
import { serialStateUpdate } from "./state_writer.ts";
import { type Recording, RecordingActions } from "./actions.ts";
import { Watcher } from "./watcher.ts";
import { loadCheckpoints } from "./checkpoints.ts";
import type { EngineCore } from "./core.ts";
import { HealthReporter } from "./health_report.ts";
import type { EngineOptions } from "./options.ts";
import { RemoteWork } from "./remote_work.ts";
import { refreshRecording } from "./refresh.ts";
import { VisibilityGate } from "./visibility_gate.ts";
import { TextIndexer } from "./text_index.ts";

/** Cut passes running at once (zstd is CPU work). */
const CUT_CONCURRENCY = Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2));

/** How long file events are gathered before a tick. */
const EVENT_BATCH_MS = 1000;

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
  #watcher: Watcher;
  /** `run --once` drives every step itself: no ticks, no wake-ups. */
  #onceMode = false;
  #cutting = new Set<string>();
  #work: RemoteWork;
  #core: EngineCore;
  #health: HealthReporter;
  #text: TextIndexer;

  /** Creates the engine (nothing runs until `start` or `runOnce`). */
  constructor(options: EngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    const { paths, settings } = options;
    const core: EngineCore = this.#core = {
      options,
      clock: this.#clock,
      recs: this.#recs,
      states: this.#states,
      dirty: this.#dirty,
      cutting: this.#cutting,
      kick: () => this.#kick(),
      plan: (rec) => this.#plan(rec),
    };
    // Public GitHub repositories: decided from cached answers, asked in the remotes' queues.
    const gate = new VisibilityGate({
      settings,
      clock: this.#clock,
      tokenFor: options.tokenFor,
      signal: this.#abort.signal,
      globalConfig: paths.gitConfig,
      allowPublic: (state) => this.#recs.get(state.source)?.memo.config?.allow_public === true,
    });
    this.#health = new HealthReporter({
      core,
      remotes: () => this.#remotes,
      targetOf: (state) => this.#work.targetOf(state),
      gate,
    });
    this.#work = new RemoteWork({
      core,
      gate,
      health: this.#health,
      remotes: () => this.#remotes,
      actions: () => this.#actions,
    });
    this.#remotes = new Remotes({
      paths,
      clock: this.#clock,
      capSeconds: settings.retry_max_seconds,
      authFor: options.authFor,
      signal: this.#abort.signal,
      hooks: {
        publish: (entry) => this.#work.publish(entry),
        onChange: (entry, failure) => this.#work.changed(entry, failure),
        notBefore: (entry, lastSuccess) => this.#work.notBefore(entry, lastSuccess),
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
      targetOf: (rec) => this.#work.targetOf(undefined, rec),
      remote: (target) => this.#remotes.get(target),
      afterJob: (rec) => this.#afterTask(rec),
      onEvent: (event) => this.#o.onEvent?.(event),
      onFinished: (state, movedTo) => this.#text.finished(state, movedTo),
    });
    this.#text = new TextIndexer({
      paths,
      settings,
      clock: this.#clock,
      signal: this.#abort.signal,
      remote: (target) => this.#remotes.get(target),
      admit: async (todo, entry) => {
        const json = todo.cast.replace(/\.cast$/, ".json");
        const read = await readRecordingConfig(json);
        const allowPublic = read.ok && read.config.allow_public === true;
        return await gate.admit(todo.remote, { allowPublic }, { gitDir: entry.clone.gitDir });
      },
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
    this.#health.carryOver(previous);
    const loaded = await loadCheckpoints(paths, {
      signal: this.signal,
      wall: () => this.#clock.wall(),
    });
    for (const id of loaded.finished) this.#finished.add(id);
    for (const state of loaded.live) {
      this.#states.set(state.id, state);
      this.#rec(state.source);
    }
    for (const [source, id] of loaded.current) this.#rec(source).current = id;
    await this.#text.resume();
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
    await this.#health.write("starting", "starting up");
    this.#watcher.start();
    await this.#scan();
    const { settings } = this.#o;
    this.#timers.push(setInterval(() => void this.#scan(), settings.scan_interval_seconds * 1000));
    this.#timers.push(
      setInterval(() => void this.#health.write(), settings.heartbeat_seconds * 1000),
    );
    for (const entry of this.#work.withWork()) entry.queue.kick();
    await this.#health.write();
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
          this.#health.noteError(`internal error: ${error instanceof Error ? error.stack : error}`)
        );
        if (!this.#tickAgain || this.#stopped) break;
      }
      if (this.#tickAgain) this.#setWake(this.#clock.now());
    })().finally(() => this.#ticking = null);
  }

  /** Reads the facts of one id, and notes growth for the planner. */
  #refresh(rec: Recording): Promise<void> {
    return refreshRecording(rec, { core: this.#core, health: this.#health, once: this.#once });
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
            this.#health.noteError(`internal error in ${rec.id}: ${error?.stack ?? error}`);
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
    for (const entry of this.#work.withWork()) if (!entry.queue.busy) entry.queue.kick();
  }

  #afterTask(rec: Recording): void {
    if (!rec.current && ![...this.#states.values()].some((s) => s.source === rec.id)) {
      if (!rec.facts?.present) this.#recs.delete(rec.id);
    }
    this.#dirty.add(rec.id);
    for (const entry of this.#work.withWork()) entry.queue.kick();
    this.#health.schedule();
    this.#kick();
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
      const remotes = this.#work.withWork().filter((entry) => !entry.queue.retry);
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
    await this.#health.write(
      "stopped",
      ok
        ? "run --once: all pushed"
        : `run --once: not everything was pushed${
          failing ? ` (${failing.queue.retry?.error})` : ""
        }`,
    );
    await this.#text.settle();
    await this.#remotes.stop();
    return ok;
  }

  /** Stops within about two seconds: aborts git/zstd, writes health `stopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#wake);
    this.#health.stop();
    this.#watcher.stop();
    this.#text.stop();
    this.#abort.abort(new Error("shutdown"));
    const tasks = [this.#ticking, ...[...this.#recs.values()].map((rec) => rec.task)];
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...tasks, this.#remotes.stop()]),
      new Promise((resolve) => timer = setTimeout(resolve, 1500)),
    ]);
    clearTimeout(timer);
    await this.#health.write("stopped", "stopped");
    this.#log.info("Daemon stopped");
  }

  /** A snapshot of everything health.json shows. */
  snapshot(): HealthSnapshot {
    return this.#health.snapshot();
  }
}
