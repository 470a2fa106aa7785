/**
 * The engine's health: counters, the last error, the snapshot health.json is
 * built from (a pure view in health_view.ts), its debounced atomic write, the
 * `behind`/`caught-up` events when unpushed data gets old, and the
 * `public-refused` event when a public repository holds a recording back.
 *
 * @module
 */
import { log, OnceLog, serially, wallAt } from "../../sys/mod.ts";
import { displayUrl } from "../../git/mod.ts";
import { writeHealth } from "../../status/mod.ts";
import type { EngineCore } from "../core/mod.ts";
import { buildHealth, type HealthSnapshot, type RecordingSnapshot } from "./health_view.ts";
import { earliest, type RemoteWork, type VisibilityGate } from "../publish/mod.ts";
import type { RecordingState } from "../../chunk/mod.ts";

/** Options for {@linkcode HealthReporter}. */
export interface HealthReporterOptions {
  /** The engine's shared state. */
  core: EngineCore;
  /** The remotes, and where a generation goes. */
  work: RemoteWork;
  /** The public-repository guard (why a generation is held back; what GitHub said). */
  gate: VisibilityGate;
  /** The actions: why a provisional generation waits (null: it does not). */
  actions: { waitingFor(state: RecordingState): string | null };
  /** Names in `active/` that cannot be opened (not valid UTF-8). */
  badNames: ReadonlySet<string>;
}

/** The snapshot and the health.json write of one engine. */
export class HealthReporter {
  #o: HealthReporterOptions;
  #startedAt: Date;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #behind = new Set<string>();
  #refused = new Set<string>();
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #queue = serially();

  /** Creates the reporter; the engine's start time is now. */
  constructor(options: HealthReporterOptions) {
    this.#o = options;
    this.#startedAt = options.core.clock.wall();
  }

  /** Records and logs an error, shown in health. */
  noteError(message: string): void {
    this.#o.core.counters.lastError = message;
    this.#log.error(message);
    this.schedule();
  }

  /**
   * Writes health.json soon: changes within 100 ms share one write, and a
   * daemon with many recordings (a bigger file to build) writes less often
   * (another millisecond per recording, at most 2 s).
   */
  schedule(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const delay = Math.min(2000, 100 + this.#o.core.generations.size);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.write();
    }, delay);
  }

  /** No more writes but the final `stopped` one. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** A snapshot of everything health.json shows. */
  snapshot(): HealthSnapshot {
    const { core, work } = this.#o;
    const recordings: RecordingSnapshot[] = [];
    for (const state of core.generations.values()) {
      const rec = core.recs.get(state.source);
      const current = rec?.current === state.id;
      const target = work.targetOf(state);
      recordings.push({
        key: current ? state.source : state.id,
        state,
        current,
        size: rec?.facts?.size ?? state.cut_offset,
        held: rec?.memo.configError ?? (target ? this.#o.gate.refusal(target, state) : null),
        waiting: this.#o.actions.waitingFor(state),
        problem: current ? rec?.facts?.problem ?? null : null,
        note: null,
        error: current ? rec?.error ?? null : null,
        pendingSince: null,
        unpushedSince: earliest([
          ...state.pending.map((chunk) => chunk.since ?? chunk.cut_at),
          current && rec && (rec.facts?.size ?? 0) > state.cut_offset &&
            rec.progress.pendingSince !== null
            ? wallAt(core.clock, rec.progress.pendingSince).toISOString()
            : null,
        ]),
        remote: target
          ? {
            url: displayUrl(target.url),
            branch: target.branch,
            key: work.remotes.get(target).key,
          }
          : null,
      });
    }
    for (const rec of core.recs.values()) {
      if (rec.current || !(rec.facts?.problem || rec.memo.note || rec.resolving)) continue;
      recordings.push({
        key: rec.id,
        current: true,
        size: rec.facts?.size ?? 0,
        held: null,
        waiting: null,
        problem: rec.facts?.problem ?? null,
        note: rec.memo.note ??
          (rec.resolving ? `looking up where ${rec.id} starts on its remote's branch` : null),
        error: null,
        pendingSince: null,
        unpushedSince: null,
        remote: null,
      });
    }
    for (const name of this.#o.badNames) {
      recordings.push({
        key: name,
        current: true,
        size: 0,
        held: null,
        waiting: null,
        problem:
          `${name}.cast is not backed up: its file name is not valid UTF-8 and cannot be opened by name; rename it`,
        note: null,
        error: null,
        pendingSince: null,
        unpushedSince: null,
        remote: null,
      });
    }
    const { counters } = core;
    return {
      now: core.clock.wall(),
      pid: Deno.pid,
      startedAt: this.#startedAt,
      settings: core.options.settings,
      chunksPushed: counters.chunksPushed,
      lastPush: counters.lastPush,
      lastError: counters.lastError,
      recordings,
      remotes: work.remotes.all().map((remote) => ({
        ...remote.snapshot(),
        visibility: this.#o.gate.visibility(remote.target),
      })),
    };
  }

  /**
   * Writes health.json now (after a stop, only the final `stopped`). Writes
   * run one after another, each built when its turn comes: a write begun
   * before the stop can never land after the final `stopped` one.
   */
  write(status?: "starting" | "stopped", message?: string): Promise<void> {
    return this.#queue(() => this.#writeNow(status, message));
  }

  async #writeNow(status?: "starting" | "stopped", message?: string): Promise<void> {
    if (this.#stopped && status !== "stopped") return;
    const health = buildHealth(this.snapshot(), { status, message });
    try {
      await writeHealth(this.#o.core.options.paths.health, health);
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
    const { core } = this.#o;
    const now = new Set<string>();
    for (const state of core.generations.values()) {
      const target = this.#o.work.targetOf(state);
      const message = target ? this.#o.gate.refusal(target, state) : null;
      if (!message) continue;
      now.add(state.id);
      if (this.#refused.has(state.id)) continue;
      this.#log.warn("Recording {id} is held back: {message}", { id: state.id, message });
      core.options.onEvent?.({ kind: "public-refused", id: state.id, message });
    }
    this.#refused = now;
  }

  /**
   * Recordings whose oldest unpushed byte passed `notify.behind_minutes`
   * (pushes stall while the terminal keeps writing): one `behind` event when
   * it starts, one `caught-up` when it ends.
   */
  #watchBehind(recordings: Record<string, { unpushed_age_seconds?: number | null }>): void {
    const { options } = this.#o.core;
    const limit = (options.settings.notify?.behind_minutes ?? 10) * 60;
    for (const [id, rec] of Object.entries(recordings)) {
      const age = rec.unpushed_age_seconds ?? 0;
      if (age > limit && !this.#behind.has(id)) {
        this.#behind.add(id);
        this.#log.warn("Recording {id} is behind: {age} s of output not on the remote", {
          id,
          age: Math.round(age),
        });
        options.onEvent?.({ kind: "behind", id, ageSeconds: age });
      }
    }
    for (const id of [...this.#behind]) {
      if ((recordings[id]?.unpushed_age_seconds ?? 0) > limit) continue;
      this.#behind.delete(id);
      this.#log.info("Recording {id} is caught up", { id });
      options.onEvent?.({ kind: "caught-up", id });
    }
  }
}
