/**
 * The engine: the daemon's loop. File events and a periodic scan mark ids
 * dirty; a tick reads their facts (tracker), asks the pure planner what to do
 * with each recording that changed or whose time came, and starts that as the
 * recording's one task (a cut pass, a new generation, a finish). A tick's
 * work is proportional to what changed, not to every recording. Publishing,
 * look-ups and checks of the remotes run in per-remote queues. Every task and
 * queue run is awaited or caught: an error is recorded on its recording or
 * remote, shown in health and retried with backoff.
 *
 * @module
 */
import { join } from "node:path";
import {
  type Clock,
  ensureHome,
  exists,
  log,
  OnceLog,
  systemClock,
  withTimeout,
} from "../sys/mod.ts";
import { readHealth } from "../status/mod.ts";
import { readRecordingConfig } from "../recording/mod.ts";
import { HealthReporter, type HealthSnapshot } from "./health/mod.ts";
import {
  ABSENT,
  type Action,
  newMemo,
  newProgress,
  plan,
  type PlanLimits,
  Watcher,
} from "./watch/mod.ts";
import { loadCheckpoints, serialStateUpdate } from "./cut/mod.ts";
import { RecordingActions } from "./actions.ts";
import {
  type EngineCore,
  type EngineOptions,
  Generations,
  type HealthCounters,
  type Recording,
} from "./core/mod.ts";
import { RemoteWork, VisibilityGate } from "./publish/mod.ts";
import { factsStale, refreshRecording } from "./refresh.ts";
import { TextIndexer } from "./text_index/mod.ts";

/**
 * Cut passes running at once: zstd is CPU work, but a small cut waits mostly
 * on its process start and its fsyncs, so twice the cores (2 to 8).
 */
const CUT_CONCURRENCY = Math.max(2, Math.min(8, 2 * (navigator.hardwareConcurrency ?? 1)));

/** How long file events are gathered before a tick. */
const EVENT_BATCH_MS = 1000;

/** The daemon's loop: watches `active/`, ticks, and runs one task per recording. */
export class Engine {
  #o: EngineOptions;
  #clock: Clock;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #abort = new AbortController();
  #stopped = false;
  #recs = new Map<string, Recording>();
  #gens = new Generations();
  #actions: RecordingActions;
  #dirty = new Set<string>();
  /** When each waiting recording is to be planned again (monotonic). */
  #wakes = new Map<string, number>();
  /** Recordings due a cut that found no free slot. */
  #blocked = new Set<string>();
  /** Names in `active/` that cannot be opened (not valid UTF-8). */
  #badNames = new Set<string>();
  #ticking: Promise<void> | null = null;
  #tickAgain = false;
  #wake?: ReturnType<typeof setTimeout>;
  #wakeAt = Infinity;
  #timers: ReturnType<typeof setInterval>[] = [];
  #watcher: Watcher;
  /** `run --once` drives every step itself: no ticks, no wake-ups. */
  #onceMode = false;
  #cutting = new Set<string>();
  #cutDue = new Set<string>();
  #counters: HealthCounters = { chunksPushed: 0, lastPush: null, lastError: null };
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
      generations: this.#gens,
      dirty: this.#dirty,
      cutting: this.#cutting,
      cutDue: this.#cutDue,
      counters: this.#counters,
      kick: () => this.#kick(),
      healthChanged: () => this.#health.schedule(),
      plan: (rec) => this.#plan(rec),
    };
    const writer = serialStateUpdate(paths.state);
    // Every written checkpoint is told to the generations' listeners (which remote has work).
    const update: typeof writer = async (state, change) => {
      await writer(state, change);
      this.#gens.touched(state);
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
    this.#work = new RemoteWork({ core, gate, update, signal: this.#abort.signal });
    this.#text = new TextIndexer({
      paths,
      settings,
      clock: this.#clock,
      signal: this.#abort.signal,
      remotes: this.#work.remotes,
      admit: async (todo, entry) => {
        const json = todo.cast.replace(/\.cast$/, ".json");
        // Only a regular file is read (a FIFO would block the remote's queue for good).
        const info = await Deno.lstat(json).catch(() => null);
        const read = info?.isFile ? await readRecordingConfig(json) : null;
        const allowPublic = read?.ok === true && read.config.allow_public === true;
        return await gate.admit(todo.remote, { allowPublic }, { gitDir: entry.clone.gitDir });
      },
    });
    this.#actions = new RecordingActions({
      paths,
      settings,
      clock: this.#clock,
      generations: this.#gens,
      update,
      signal: this.#abort.signal,
      work: this.#work,
      afterJob: (id) => {
        const rec = this.#recs.get(id);
        if (rec) this.#afterTask(rec);
      },
      onEvent: (event) => this.#o.onEvent?.(event),
      beforeFinish: (state, to) => this.#text.finishing(state, to),
      onFinished: (state, movedTo) => this.#text.finished(state, movedTo),
    });
    this.#health = new HealthReporter({
      core,
      work: this.#work,
      gate,
      actions: this.#actions,
      badNames: this.#badNames,
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
    this.#counters.chunksPushed = previous?.chunks_pushed ?? 0;
    this.#counters.lastPush = previous?.last_push ?? null;
    const loaded = await loadCheckpoints(paths, {
      signal: this.signal,
      wall: () => this.#clock.wall(),
    });
    for (const id of loaded.finished) this.#gens.finish(id);
    for (const state of loaded.live) {
      this.#gens.set(state);
      this.#rec(state.source);
    }
    for (const [source, id] of loaded.current) this.#rec(source).current = id;
    for (const state of this.#gens.values()) this.#actions.wantAnswer(state);
    await this.#text.resume();
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
    // Every remote a previous run pushed to is asked whether it still holds what it got.
    for (const remote of await this.#work.remotes.known()) void remote.verifySoon();
    for (const remote of this.#work.withWork()) remote.queue.kick();
    await this.#health.write();
    this.#log.info("Daemon started (pid {pid}), watching {dir}", {
      pid: Deno.pid,
      dir: this.#o.paths.active,
    });
  }

  async #scanNames(): Promise<void> {
    const bad = new Set<string>();
    for (const id of await this.#watcher.list()) {
      // Deno shows bytes that are not UTF-8 as U+FFFD: such a name cannot be opened.
      if (id.includes("\uFFFD") && !(await exists(join(this.#o.paths.active, `${id}.cast`)))) {
        bad.add(id);
        continue;
      }
      this.#dirty.add(id);
    }
    for (const id of bad) {
      if (this.#badNames.has(id)) continue;
      this.#log.error(
        "A recording in {dir} has a file name that is not valid UTF-8 ({name}.cast): it cannot be opened by its name and is not backed up; rename it",
        { dir: this.#o.paths.active, name: id },
      );
    }
    if (bad.size !== this.#badNames.size || [...bad].some((id) => !this.#badNames.has(id))) {
      this.#badNames.clear();
      for (const id of bad) this.#badNames.add(id);
      this.#health.schedule();
    }
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
   * File events are taken up together, at most once a second: a terminal
   * that redraws ten times a second costs a tick a second, not one per
   * write. (Idle time is measured from the file's mtime, so this adds
   * nothing to it.)
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
  async #refresh(rec: Recording): Promise<void> {
    const before = rec.memo.configStamp;
    await refreshRecording(rec, { core: this.#core, once: this.#once });
    // Its .json may name another remote now.
    if (rec.memo.configStamp !== before) this.#work.reindex(rec.id);
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

  /** The actions due now: the current generation's, then older generations' (finish, settle). */
  #plan(rec: Recording, once?: Map<string, number>): Action[] {
    const now = this.#clock.now();
    const facts = rec.facts ?? ABSENT;
    const current = rec.current ? this.#gens.get(rec.current) : undefined;
    const actions = [plan({
      facts,
      checkpoint: current,
      progress: rec.progress,
      limits: this.#limits(rec, once),
      answered: current ? this.#actions.answered(current.id) : false,
      resolving: rec.resolving,
    }, now)];
    for (const state of this.#gens.of(rec.id)) {
      if (state.id === rec.current) continue;
      const progress = { ...newProgress(now), finishRetry: this.#actions.finishRetry(state.id) };
      const action = plan({
        facts: { ...facts, present: false },
        checkpoint: state,
        progress,
        limits: this.#limits(rec),
        answered: this.#actions.answered(state.id),
      }, now);
      if (action.type === "finish" || action.type === "settle") {
        actions.push({ type: action.type, id: state.id });
      } else if (action.type === "wait") actions.push(action);
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
    // Only what changed, what is due, and cuts that waited for a slot are planned.
    const now = this.#clock.now();
    const due = new Set(dirty);
    for (const [id, at] of this.#wakes) {
      if (at <= now) {
        due.add(id);
        this.#wakes.delete(id);
      }
    }
    // Cuts that waited for a slot, oldest first, as many as there are free slots (not all of
    // them on every tick: a thousand waiting recordings would each be planned on every tick).
    let slots = CUT_CONCURRENCY - this.#cutting.size;
    for (const id of this.#blocked) {
      if (slots-- <= 0) break;
      due.add(id);
      this.#blocked.delete(id);
    }
    for (const id of due) {
      if (this.#stopped) return;
      const rec = this.#recs.get(id);
      if (rec) this.#planAndStart(rec);
    }
    let wake = Infinity;
    for (const at of this.#wakes.values()) wake = Math.min(wake, at);
    if (wake < Infinity) this.#setWake(wake);
    // New cuts, and work publishable without a cut (a .json fixed): each queue looks again
    // (a busy one once its run ends).
    for (const remote of this.#work.withWork()) remote.queue.kick();
  }

  #planAndStart(rec: Recording): void {
    let wake = Infinity;
    let cutDue = false;
    for (const state of this.#gens.of(rec.id)) this.#actions.wantAnswer(state);
    for (const action of this.#plan(rec)) {
      if (action.type === "wait") {
        wake = Math.min(wake, action.until);
        continue;
      }
      if (action.type === "idle" || action.type === "hold" || rec.task) continue;
      if (action.type === "cut") {
        cutDue = true;
        // Cuts are CPU work (zstd): as many at once as there are cores; the rest start
        // when one ends (its end kicks a tick).
        if (this.#cutting.size >= CUT_CONCURRENCY) {
          this.#blocked.add(rec.id);
          continue;
        }
        // While the watcher compares listings, the facts may be a second old: an "idle"
        // cut is taken only if the file has not grown since.
        if (
          action.reason === "idle" &&
          factsStale(rec, join(this.#o.paths.active, `${rec.id}.cast`))
        ) {
          this.#dirty.add(rec.id);
          this.#kickSoon();
          continue;
        }
        this.#cutting.add(rec.id);
      }
      rec.task = this.#actions.run(rec, action).catch((error) => {
        this.#health.noteError(`internal error in ${rec.id}: ${error?.stack ?? error}`);
      }).finally(() => {
        rec.task = null;
        this.#cutting.delete(rec.id);
        this.#afterTask(rec);
      });
    }
    if (cutDue) this.#cutDue.add(rec.id);
    else this.#cutDue.delete(rec.id);
    if (wake < Infinity) this.#wakes.set(rec.id, wake);
    else this.#wakes.delete(rec.id);
  }

  #afterTask(rec: Recording): void {
    if (!rec.current && !this.#gens.hasSource(rec.id) && !rec.facts?.present && !rec.task) {
      this.#recs.delete(rec.id);
      this.#wakes.delete(rec.id);
      this.#cutDue.delete(rec.id);
      return;
    }
    this.#dirty.add(rec.id);
    this.#health.schedule();
    this.#kick();
  }

  /**
   * `run --once`: checks every remote it knows, cuts what was there when it
   * started (and the rest of ended recordings), pushes, finishes; true only
   * if everything is pushed.
   */
  async runOnce(): Promise<boolean> {
    this.#onceMode = true;
    await this.#init();
    await this.#actions.lookUpPending();
    // What a remote lost (a restored backup, a reset) is pushed again by this run too.
    for (const remote of await this.#work.remotes.known()) {
      await remote.verifySoon();
      await remote.queue.settle();
    }
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
      await this.#actions.lookUpPending();
      if (acted) continue;
      const remotes = this.#work.withWork().filter((remote) => !remote.queue.retry);
      if (!remotes.length) break;
      for (const remote of remotes) {
        remote.queue.kick({ now: true });
        await remote.queue.settle();
      }
      for (const rec of this.#recs.values()) await this.#refresh(rec);
    }
    const failing = this.#work.remotes.all().find((remote) => remote.queue.retry);
    // Everything pushed: also nothing held back (a broken .json) and nothing left uncut.
    const unpushed = [...this.#gens.values()].filter((state) =>
      state.pending.length > 0 || (state.final && !state.manifest_pushed) || state.provisional
    );
    const unresolved = [...this.#recs.values()].filter((rec) =>
      rec.facts?.headerReady && !rec.facts.problem && !rec.current
    );
    const ok = !failing && unpushed.length === 0 && unresolved.length === 0 &&
      ![...this.#recs.values()].some((rec) => rec.error) && this.#badNames.size === 0;
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
    this.#actions.stop();
    await this.#work.remotes.stop();
    return ok;
  }

  /** Stops within about two seconds: aborts git/zstd, writes health `stopped`. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#wake);
    this.#health.stop();
    const watching = this.#watcher.stop();
    this.#text.stop();
    this.#actions.stop();
    this.#abort.abort(new Error("shutdown"));
    const tasks = [this.#ticking, ...[...this.#recs.values()].map((rec) => rec.task)];
    await withTimeout(Promise.allSettled([...tasks, watching, this.#work.remotes.stop()]), 1500);
    await this.#health.write("stopped", "stopped");
    this.#log.info("Daemon stopped");
  }

  /** A snapshot of everything health.json shows. */
  snapshot(): HealthSnapshot {
    return this.#health.snapshot();
  }
}
