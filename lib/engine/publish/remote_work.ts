/**
 * The engine's side of its remotes ({@linkcode RemoteHost}): which remote a
 * generation goes to, which generations have work for each remote (an index
 * kept current as checkpoints change, so nothing walks every checkpoint),
 * when that work may be pushed, what a batch needs and what it finished,
 * folders a replay moved, and what a failure, a recovery or a rewritten
 * remote means for people. Each `Remote` runs its own batches and asks this
 * side through {@linkcode RemoteHost} only.
 *
 * @module
 */
import { log, OnceLog } from "../../sys/mod.ts";
import { type RemoteTarget, withoutCredentials } from "../../git/mod.ts";
import { folderOf, type PendingChunk, type RecordingState } from "../../chunk/mod.ts";
import type { ErrorKind } from "../../git/mod.ts";
import { remoteOf } from "../../recording/mod.ts";
import { type EngineCore, hasWork, type Recording } from "../core/mod.ts";
import type { PublishRemote, PublishResult } from "./publish.ts";
import { isUrgent, pushNotBefore } from "./push_timing.ts";
import { type Remote, type RemoteHost, Remotes } from "./remotes.ts";
import type { StateChange, StateUpdate } from "../cut/mod.ts";
import type { VisibilityGate } from "./visibility_gate.ts";

/** Options for {@linkcode RemoteWork}. */
export interface RemoteWorkOptions {
  /** The engine's shared state. */
  core: EngineCore;
  /** The public-repository guard: generations it refuses are left out of every batch. */
  gate: VisibilityGate;
  /** Checkpoint writer (serialized with the cuts'). */
  update: StateUpdate;
  /** Shutdown. */
  signal: AbortSignal;
}

/** The remotes and the engine's side of them. */
export class RemoteWork implements RemoteHost {
  /** Every remote, created on first use. */
  readonly remotes: Remotes;
  #o: RemoteWorkOptions;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  /** Generations with work, by remote key. */
  #byRemote = new Map<string, Set<RecordingState>>();
  /** The remote key each indexed generation is under. */
  #keyOf = new Map<RecordingState, string>();

  /** Creates the remotes; indexes every generation change from now on. */
  constructor(options: RemoteWorkOptions) {
    this.#o = options;
    const { core } = options;
    const { settings, paths } = core.options;
    this.remotes = new Remotes({
      paths,
      settings,
      clock: core.clock,
      authFor: core.options.authFor,
      signal: options.signal,
      host: this,
    });
    core.generations.listen((state, removed) => this.#index(state, removed));
  }

  /** Where a generation (or a recording's next one) goes; undefined while its `.json` is broken. */
  targetOf(state: RecordingState | undefined, rec?: Recording): RemoteTarget | undefined {
    if (state?.remote) return state.remote;
    const { core } = this.#o;
    const owner = rec ?? (state ? core.recs.get(state.source) : undefined);
    if (owner?.memo.configError) return undefined;
    const config = owner?.memo.config;
    const { settings, paths } = core.options;
    const remote = remoteOf({ url: config?.repo_url, branch: config?.branch }, {
      repoUrl: settings.repo_url,
      branch: settings.branch,
      backupGit: paths.backupGit,
    });
    // A token pasted into a URL goes nowhere: not into checkpoints, clones or slugs.
    return { url: withoutCredentials(remote.url), branch: remote.branch };
  }

  /** The remote of a recording's next generation, or undefined while its `.json` is broken. */
  remoteOf(rec: Recording): Remote | undefined {
    const target = this.targetOf(undefined, rec);
    return target ? this.remotes.get(target) : undefined;
  }

  #index(state: RecordingState, removed: boolean): void {
    const before = this.#keyOf.get(state);
    const target = !removed && hasWork(state) && !state.provisional
      ? this.targetOf(state)
      : undefined;
    const key = target ? this.remotes.get(target).key : undefined;
    if (before === key) return;
    if (before !== undefined) {
      this.#byRemote.get(before)?.delete(state);
      this.#keyOf.delete(state);
    }
    if (key !== undefined) {
      let set = this.#byRemote.get(key);
      if (!set) this.#byRemote.set(key, set = new Set());
      set.add(state);
      this.#keyOf.set(state, key);
    }
  }

  /** A recording's `.json` (its remote) may have changed: its generations are indexed again. */
  reindex(source: string): void {
    for (const state of this.#o.core.generations.of(source)) this.#index(state, false);
  }

  /** The generations with work for `remote` (the guard's refusals left out), by id. */
  sources(remote: PublishRemote): RecordingState[] {
    const states = [...this.#byRemote.get(remote.key) ?? []].filter((state) =>
      this.#o.gate.decide(remote.target, state).action !== "refuse"
    );
    return states.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /** Chunks waiting for `remote`. */
  queuedFor(remote: Remote): number {
    let queued = 0;
    for (const state of this.#byRemote.get(remote.key) ?? []) queued += state.pending.length;
    return queued;
  }

  /** The remotes that have work. */
  withWork(): Remote[] {
    return this.remotes.all().filter((remote) =>
      [...this.#byRemote.get(remote.key) ?? []].some((state) =>
        this.#o.gate.decide(remote.target, state).action !== "refuse"
      )
    );
  }

  /**
   * Asks the public-repository guard about `remote` for `states` when an answer
   * is due (in the remote's queue): a provisional generation shows why it would
   * be held even before the branch says where it starts.
   */
  async checkVisibility(remote: Remote, states: readonly RecordingState[]): Promise<void> {
    await this.#o.gate.refresh(remote.target, states, { gitDir: remote.clone.gitDir })
      .catch(() => {});
    this.#o.core.healthChanged();
  }

  /** Folders of `remote`'s generations still being made, with their claim tokens. */
  live(remote: Remote): ReadonlyMap<string, string> {
    const live = new Map<string, string>();
    for (const state of this.#o.core.generations.values()) {
      const target = this.targetOf(state);
      if (!state.claim || !target || this.remotes.get(target) !== remote) continue;
      live.set(folderOf(state), state.claim);
    }
    return live;
  }

  /** When `remote`'s waiting work may be pushed (see {@linkcode pushNotBefore}). */
  notBefore(remote: Remote, lastSuccess: number | null): number {
    const { core } = this.#o;
    const sources = this.sources(remote);
    return pushNotBefore({
      sources,
      // Asked only when it is read: a walk over the recordings being cut.
      cutting: sources.some(isUrgent) && this.#cuttingFor(remote),
      now: core.clock.now(),
      wallNow: core.clock.wall().getTime(),
      intervalMs: core.options.settings.push_interval_seconds * 1000,
      batchBytes: core.options.settings.push_batch_bytes,
      lastSuccess,
    });
  }

  /** True when a recording for `remote` is being cut or due a cut. */
  #cuttingFor(remote: Remote): boolean {
    const { core } = this.#o;
    for (const id of [...core.cutting, ...core.cutDue]) {
      const rec = core.recs.get(id);
      if (rec && this.remoteOf(rec) === remote) return true;
    }
    return false;
  }

  /** Before a batch, in the queue: asks GitHub about `remote` when an answer is due. */
  async prepare(remote: PublishRemote): Promise<void> {
    await this.#o.gate.refresh(remote.target, this.sources(remote), {
      gitDir: remote.clone.gitDir,
    });
  }

  /** Writes a change to a checkpoint (serialized with the cuts'). */
  update(state: RecordingState, change: StateChange): Promise<void> {
    return this.#o.update(state, change);
  }

  /** After a batch: counted, generations it finished looked at again, health. */
  published(remote: Remote, result: PublishResult): void {
    const { core } = this.#o;
    const { counters } = core;
    if (result.chunks > 0 || result.finished.length) {
      counters.chunksPushed += result.chunks;
      counters.lastPush = remote.lastPush;
    }
    for (const state of result.finished) core.dirty.add(state.source);
    if (result.finished.length) core.kick();
    core.healthChanged();
  }

  /** A pending chunk's spool file vanished before it was committed: cut from its start again. */
  async recut(state: RecordingState, chunk: PendingChunk): Promise<void> {
    await this.#o.update(state, (current) => ({
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

  /** A manifest's fields from the recording's `.json` and header (started, asciicast version). */
  manifestExtra(state: RecordingState): Record<string, unknown> {
    const memo = this.#o.core.recs.get(state.source)?.memo;
    const started = memo?.config?.started;
    return {
      started: typeof started === "string" && started ? started : state.first_seen,
      asciicast_version: memo?.version ?? null,
    };
  }

  /**
   * After git work on `remote`'s clone: a folder a replay moved is recorded
   * in its generation's checkpoint (later commits go there too), and what
   * the remote did (went back, was rewritten) is logged and shown in health.
   */
  async absorb(remote: Remote): Promise<void> {
    const { core } = this.#o;
    for (const [from, move] of remote.clone.takeMoves()) {
      const state = [...core.generations.values()].find((one) => folderOf(one) === from);
      if (!state) continue;
      // In memory at once; written with the checkpoint when it can be.
      const patch = {
        branch_id: move.folder === state.id ? undefined : move.folder,
        claim: move.token ?? state.claim,
      };
      Object.assign(state, patch);
      await this.#o.update(state, (current) => ({ ...current, ...patch })).catch(() => {});
      this.#log.warn(
        "chunks/{from}/ on {branch} belongs to another machine's recording: {id} goes to chunks/{to}/ (all of it, from its first chunk)",
        { from, to: move.folder, id: state.id, branch: remote.target.branch },
      );
    }
    for (const notice of remote.clone.takeNotices()) {
      remote.notice = { ...notice, at: core.clock.wall().toISOString() };
      this.#log.warn("{remote}: {message}", { remote: remote.label, message: notice.message });
      core.counters.lastError = `${remote.label}: ${notice.message}`;
      core.healthChanged();
    }
  }

  /** After a failure (logged once, an event) or a recovery (logged, an event). */
  changed(remote: Remote, failure: { kind: ErrorKind; message: string } | null): void {
    const { core } = this.#o;
    const label = remote.label;
    const queued = this.queuedFor(remote);
    if (!failure) {
      this.#once.clear(`push:${remote.key}`);
      this.#log.info("Pushes to {branch} work again", { branch: remote.target.branch });
      core.options.onEvent?.({ kind: "push-ok", remote: remote.key, queued, label });
    } else {
      // A rejected push may mean the repository changed: ask about its visibility again.
      if (failure.kind !== "network" && failure.kind !== "disk") {
        this.#o.gate.invalidate(remote.target);
      }
      const hint = failure.kind === "auth"
        ? " The token was rejected or cannot be read: store a new one with `deno task daemon-setup`."
        : "";
      const retry = remote.queue.retry;
      const delay = retry ? Math.round((retry.at - core.clock.now()) / 1000) : 0;
      core.counters.lastError = `${failure.message}${hint}`;
      this.#once.warn(
        `push:${remote.key}`,
        `Pushing to ${remote.target.branch} failed (${failure.kind}): ${failure.message}.${hint} Retrying in ${delay}s; chunks stay in the spool.`,
      );
      core.options.onEvent?.({
        kind: "push-failed",
        remote: remote.key,
        errorKind: failure.kind,
        message: failure.message,
        since: core.clock.wall(),
        queued,
        label,
      });
    }
    core.healthChanged();
  }
}
