/**
 * The engine's side of its remotes: which remote a generation goes to, which
 * generations a remote's next batch takes, when it may be pushed, the batch
 * itself, and what a failure or recovery means for people (log, event).
 *
 * @module
 */
import { log, OnceLog } from "../sys/mod.ts";
import { displayUrl, type RemoteTarget, withoutCredentials } from "../git/mod.ts";
import type { RecordingState } from "../chunk/mod.ts";
import type { ErrorKind } from "../status/mod.ts";
import type { Recording, RecordingActions } from "./actions.ts";
import { type EngineCore, hasWork } from "./core.ts";
import type { HealthReporter } from "./health_report.ts";
import { publishBatch } from "./publish.ts";
import { pushNotBefore } from "./push_timing.ts";
import type { RemoteEntry, Remotes } from "./remotes.ts";
import type { VisibilityGate } from "./visibility_gate.ts";

/** Options for {@linkcode RemoteWork}. */
export interface RemoteWorkOptions {
  /** The engine's shared state. */
  core: EngineCore;
  /** The public-repository guard: generations it refuses are left out of every batch. */
  gate: VisibilityGate;
  /** Health counters and the health write. */
  health: HealthReporter;
  /** The remotes (built after this object: their hooks call it). */
  remotes: () => Remotes;
  /** The recording actions (checkpoint updates, recuts). */
  actions: () => RecordingActions;
}

/** The engine's remote hooks (see {@linkcode RemoteWorkOptions}). */
export class RemoteWork {
  #o: RemoteWorkOptions;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));

  /** Creates the hooks. */
  constructor(options: RemoteWorkOptions) {
    this.#o = options;
  }

  /** Where a generation (or a recording's next one) goes; undefined while its `.json` is broken. */
  targetOf(state: RecordingState | undefined, rec?: Recording): RemoteTarget | undefined {
    if (state?.remote) return state.remote;
    const { core } = this.#o;
    const owner = rec ?? (state ? core.recs.get(state.source) : undefined);
    if (owner?.memo.configError) return undefined;
    const config = owner?.memo.config;
    const { settings, paths } = core.options;
    return {
      // A token pasted into a URL goes nowhere: not into checkpoints, clones or slugs.
      url: withoutCredentials(config?.repo_url || settings.repo_url || paths.backupGit),
      branch: config?.branch || settings.branch,
    };
  }

  /** The generations with work for `entry`, by id. */
  sourcesFor(entry: RemoteEntry): RecordingState[] {
    return [...this.#o.core.states.values()].filter((state) => {
      const target = hasWork(state) ? this.targetOf(state) : undefined;
      return target !== undefined && this.#o.remotes().get(target).key === entry.key &&
        this.#o.gate.decide(target, state).action !== "refuse";
    }).sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /** The remotes that have work. */
  withWork(): RemoteEntry[] {
    const keys = new Map<string, RemoteEntry>();
    for (const state of this.#o.core.states.values()) {
      if (!hasWork(state)) continue;
      const target = this.targetOf(state);
      if (target && this.#o.gate.decide(target, state).action === "refuse") continue;
      if (target) keys.set(this.#o.remotes().get(target).key, this.#o.remotes().get(target));
    }
    return [...keys.values()];
  }

  /** When `entry`'s waiting work may be pushed (see {@linkcode pushNotBefore}). */
  notBefore(entry: RemoteEntry, lastSuccess: number | null): number {
    const { core } = this.#o;
    const cutting = () =>
      [...core.recs.values()].some((rec) => {
        const due = core.cutting.has(rec.id) ||
          core.plan(rec).some((action) => action.type === "cut");
        const target = due ? this.targetOf(undefined, rec) : undefined;
        return target !== undefined && this.#o.remotes().get(target).key === entry.key;
      });
    return pushNotBefore({
      sources: this.sourcesFor(entry),
      cutting,
      now: core.clock.now(),
      wallNow: core.clock.wall().getTime(),
      intervalMs: core.options.settings.push_interval_seconds * 1000,
      batchBytes: core.options.settings.push_batch_bytes,
      lastSuccess,
    });
  }

  /** Publishes one batch to `entry`; true when more is left. */
  async publish(entry: RemoteEntry): Promise<boolean> {
    const { core, health } = this.#o;
    const actions = this.#o.actions();
    const result = await publishBatch({
      paths: core.options.paths,
      settings: core.options.settings,
      target: entry.target,
      clone: entry.clone,
      update: actions.update,
      sources: () => this.sourcesFor(entry),
      manifestExtra: (state) => this.#manifestExtra(state),
      recut: (state, chunk) => actions.recut(state, chunk),
      // In the queue, before anything is committed: asks GitHub when an answer is due.
      prepare: () =>
        this.#o.gate.refresh(entry.target, this.sourcesFor(entry), {
          gitDir: entry.clone.gitDir,
        }),
    });
    if (result.chunks > 0 || result.finished.length) {
      health.chunksPushed += result.chunks;
      health.lastPush = core.clock.wall().toISOString();
      entry.lastPush = health.lastPush;
      this.#log.info("Pushed {count} chunk(s) to {branch}", {
        count: result.chunks,
        branch: entry.target.branch,
      });
    }
    for (const state of result.finished) core.dirty.add(state.source);
    if (result.finished.length) core.kick();
    health.schedule();
    return result.more;
  }

  #manifestExtra(state: RecordingState): Record<string, unknown> {
    const memo = this.#o.core.recs.get(state.source)?.memo;
    const started = memo?.config?.started;
    return {
      started: typeof started === "string" && started ? started : state.first_seen,
      asciicast_version: memo?.version ?? null,
    };
  }

  /** After a failure (logged once, an event) or a recovery (logged, an event). */
  changed(entry: RemoteEntry, failure: { kind: ErrorKind; message: string } | null): void {
    const { core, health } = this.#o;
    const label = `${displayUrl(entry.target.url)} (${entry.target.branch})`;
    const queued = this.sourcesFor(entry).reduce((sum, state) => sum + state.pending.length, 0);
    if (!failure) {
      this.#once.clear(`push:${entry.key}`);
      this.#log.info("Pushes to {branch} work again", { branch: entry.target.branch });
      core.options.onEvent?.({ type: "push-ok", remote: entry.key, queued, label });
    } else {
      // A rejected push may mean the repository changed: ask about its visibility again.
      if (failure.kind !== "network" && failure.kind !== "disk") {
        this.#o.gate.invalidate(entry.target);
      }
      const hint = failure.kind === "auth"
        ? " The token was rejected or cannot be read: store a new one with `deno task daemon-setup`."
        : "";
      const retry = entry.queue.retry;
      const delay = retry ? Math.round((retry.at - core.clock.now()) / 1000) : 0;
      health.lastError = `${failure.message}${hint}`;
      this.#once.warn(
        `push:${entry.key}`,
        `Pushing to ${entry.target.branch} failed (${failure.kind}): ${failure.message}.${hint} Retrying in ${delay}s; chunks stay in the spool.`,
      );
      core.options.onEvent?.({
        type: "push-failed",
        remote: entry.key,
        kind: failure.kind,
        message: failure.message,
        since: core.clock.wall(),
        queued,
        label,
      });
    }
    health.schedule();
  }
}
