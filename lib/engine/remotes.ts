/**
 * The engine's remotes: for every remote and branch, its local clone and its
 * queue, created on first use, plus their part of the health snapshot.
 *
 * @module
 */
import { join } from "node:path";
import type { ErrorKind } from "../status/mod.ts";
import { errorMessage, type HomePaths } from "../sys/mod.ts";
import {
  type AuthResolver,
  displayUrl,
  PublishError,
  type RemoteTarget,
  RepoClone,
  repoSlug,
} from "../git/mod.ts";
import { type Clock, wallAt } from "./clock.ts";
import type { RemoteSnapshot } from "./health_view.ts";
import { type QueueFailure, RemoteQueue } from "./remote_queue.ts";

/** One remote: where, its clone, its queue. */
export interface RemoteEntry {
  /** Clone folder name (the key). */
  key: string;
  /** URL and branch. */
  target: RemoteTarget;
  /** The local bare clone. */
  clone: RepoClone;
  /** Serial work with backoff. */
  queue: RemoteQueue;
  /** The last failure, or null. */
  failure: QueueFailure | null;
  /** Last successful push with chunks (wall, ISO), or null. */
  lastPush: string | null;
}

/** How a remote's queue publishes and reports. */
export interface RemoteHooks {
  /** Publishes one batch; true when more is left. */
  publish: (entry: RemoteEntry) => Promise<boolean>;
  /** After a failure or a recovery. */
  onChange: (entry: RemoteEntry, failure: QueueFailure | null) => void;
  /** When its waiting work may be published (see `RemoteQueueOptions.notBefore`). */
  notBefore: (entry: RemoteEntry, lastSuccess: number | null) => number;
}

/** Classifies anything thrown while publishing. */
export function classifyPublishError(error: unknown): QueueFailure {
  if (error instanceof PublishError) return { kind: error.kind, message: error.message };
  const message = errorMessage(error);
  const kind: ErrorKind = error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotFound || /No space|os error 28|Read-only/i.test(message)
    ? "disk"
    : "remote";
  return { kind, message };
}

/** Options for {@linkcode Remotes}. */
export interface RemotesOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Clock. */
  clock: Clock;
  /** Longest backoff, seconds. */
  capSeconds: number;
  /** Authentication. */
  authFor?: AuthResolver;
  /** Shutdown. */
  signal: AbortSignal;
  /** Publishing and reporting. */
  hooks: RemoteHooks;
}

/** Creates remotes on demand. */
export class Remotes {
  #entries = new Map<string, RemoteEntry>();
  #byTarget = new Map<string, RemoteEntry>();
  #options: RemotesOptions;

  /** Creates the registry. */
  constructor(options: RemotesOptions) {
    this.#options = options;
  }

  /** The entry of `target`, created on first use. */
  get(target: RemoteTarget): RemoteEntry {
    // Asked for on every tick: the slug (a hash) is computed once per remote.
    const named = this.#byTarget.get(`${target.url}\n${target.branch}`);
    if (named) return named;
    const key = repoSlug(target);
    const known = this.#entries.get(key);
    if (known) return known;
    const { paths, clock, hooks } = this.#options;
    const entry: RemoteEntry = {
      key,
      target,
      clone: new RepoClone(target, {
        gitDir: join(paths.repos, key),
        globalConfig: paths.gitConfig,
        authFor: this.#options.authFor,
        signal: this.#options.signal,
      }),
      queue: undefined as unknown as RemoteQueue,
      failure: null,
      lastPush: null,
    };
    entry.queue = new RemoteQueue(key, {
      clock,
      capSeconds: this.#options.capSeconds,
      publish: () => hooks.publish(entry),
      classify: classifyPublishError,
      notBefore: (lastSuccess) => hooks.notBefore(entry, lastSuccess),
      onChange: (_queue, failure) => {
        entry.failure = failure;
        hooks.onChange(entry, failure);
      },
    });
    this.#entries.set(key, entry);
    this.#byTarget.set(`${target.url}\n${target.branch}`, entry);
    return entry;
  }

  /** Every remote used so far. */
  all(): RemoteEntry[] {
    return [...this.#entries.values()];
  }

  /** Health snapshot of every remote. */
  snapshot(): RemoteSnapshot[] {
    const { clock } = this.#options;
    return this.all().map((entry) => {
      const retry = entry.queue.retry;
      return {
        key: entry.key,
        url: displayUrl(entry.target.url),
        branch: entry.target.branch,
        lastPush: entry.lastPush,
        lastError: retry ? entry.failure?.message ?? retry.error : null,
        errorKind: retry ? entry.queue.errorKind : null,
        failingSince: entry.queue.failingSince === null
          ? null
          : wallAt(clock, entry.queue.failingSince).toISOString(),
        nextRetryAt: retry ? wallAt(clock, retry.at).toISOString() : null,
      };
    });
  }

  /** Stops every queue. */
  async stop(): Promise<void> {
    await Promise.all(this.all().map((entry) => entry.queue.stop()));
  }
}
