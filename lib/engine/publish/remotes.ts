/**
 * The engine's remotes. A {@linkcode Remote} owns everything of one remote
 * and branch: its target, its local clone, its queue (look-ups, checks and
 * publishing run there, one at a time, off the tick), its batches, its last
 * failure and push, what it noticed about the remote, and its part of the
 * health snapshot. Its clone and its queue ask it through their owner
 * interfaces; it asks the engine only through the narrow
 * {@linkcode RemoteHost}. {@linkcode Remotes} creates them on first use (and
 * finds the clones a previous run left in `repos/`, so each is checked).
 *
 * @module
 */
import { join } from "node:path";
import type { ErrorKind } from "../../git/mod.ts";
import {
  type Clock,
  errorMessage,
  type HomePaths,
  log,
  OnceLog,
  type Settings,
  wallAt,
} from "../../sys/mod.ts";
import {
  type AuthResolver,
  type CloneOwner,
  displayUrl,
  git,
  PublishError,
  type RemoteNotice,
  type RemoteTarget,
  RepoClone,
  repoSlug,
} from "../../git/mod.ts";
import { type QueueFailure, type QueueOwner, RemoteQueue } from "./remote_queue.ts";
import {
  publishBatch,
  type PublishHost,
  type PublishRemote,
  type PublishResult,
} from "./publish.ts";

/**
 * What a remote asks of the engine: its work (and the rest of a batch's
 * needs, {@linkcode PublishHost}), when that work may go, and what its
 * batches, failures and git work mean for the recordings and for health.
 */
export interface RemoteHost extends PublishHost {
  /** After a batch that worked: counters, generations it finished, health. */
  published(remote: Remote, result: PublishResult): void;
  /** When `remote`'s waiting work may be published (see {@linkcode QueueOwner.notBefore}). */
  notBefore(remote: Remote, lastSuccess: number | null): number;
  /** After a failure or a recovery of its publishing. */
  changed(remote: Remote, failure: QueueFailure | null): void;
  /** After git work on its clone: records folders a replay moved, reports what it noticed. */
  absorb(remote: Remote): Promise<void>;
  /** Folders of its generations still being made, with their claim tokens. */
  live(remote: Remote): ReadonlyMap<string, string>;
}

/** Classifies anything thrown while publishing. */
function classifyPublishError(error: unknown): QueueFailure {
  if (error instanceof PublishError) return { kind: error.kind, message: error.message };
  const message = errorMessage(error);
  const kind: ErrorKind = error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotFound || /No space|os error 28|Read-only/i.test(message)
    ? "disk"
    : "remote";
  return { kind, message };
}

/** One remote as the engine sees it. */
export interface RemoteSnapshot {
  /** Clone folder name. */
  key: string;
  /** Display URL (never with credentials). */
  url: string;
  branch: string;
  /** Last success (ISO) or null. */
  lastPush: string | null;
  /** Last error, or null. */
  lastError: string | null;
  errorKind: ErrorKind | null;
  /** ISO or null. */
  failingSince: string | null;
  /** ISO or null. */
  nextRetryAt: string | null;
  /** What the GitHub API said of its visibility (null: not GitHub, or not asked yet). */
  visibility?: "public" | "private" | "unknown" | null;
  /**
   * What the remote did that people should know (went back, was rewritten),
   * or null; `serious` when a person should look (recordings it lost were not
   * pushed again).
   */
  notice?: { text: string; serious: boolean } | null;
}

/** Options for {@linkcode Remotes}. */
export interface RemotesOptions {
  /** Home layout. */
  paths: HomePaths;
  /**
   * Settings: `retry_max_seconds` (longest backoff), `verify_interval_seconds`
   * (how often the remote is checked for what it lost), `push_timeout_seconds`
   * (a fetch or check silent this long is stopped), and a batch's.
   */
  settings: Settings;
  clock: Clock;
  /** Authentication. */
  authFor?: AuthResolver;
  /** Shutdown. */
  signal: AbortSignal;
  /** The engine's side. */
  host: RemoteHost;
}

/** One remote and branch: where, its clone, its queue, its batches, what it did. */
export class Remote implements PublishRemote, QueueOwner, CloneOwner {
  /** Clone folder name (the key). */
  readonly key: string;
  /** URL and branch. */
  readonly target: RemoteTarget;
  /** The local bare clone. */
  readonly clone: RepoClone;
  /** Serial work with backoff. */
  readonly queue: RemoteQueue;
  /** The last failure of its publishing, or null. */
  failure: QueueFailure | null = null;
  /** Last successful push with chunks (wall, ISO), or null. */
  lastPush: string | null = null;
  /** The last thing the remote did that people should hear about (wall time), or null. */
  notice: (RemoteNotice & { at: string }) | null = null;
  #options: RemotesOptions;
  #verifyTimer?: ReturnType<typeof setTimeout>;
  #verifying = false;
  #stopped = false;
  #reachable: (() => void)[] = [];
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));

  /** Creates the remote (nothing runs until it is kicked or checked). */
  constructor(target: RemoteTarget, key: string, options: RemotesOptions) {
    this.key = key;
    this.target = target;
    this.#options = options;
    const { paths, settings } = options;
    this.clone = new RepoClone(target, {
      gitDir: join(paths.repos, key),
      globalConfig: paths.gitConfig,
      authFor: options.authFor,
      signal: options.signal,
      // A fetch may take as long as it needs while it progresses; silent for a push's base
      // timeout, it is stopped (and everything it started with it).
      stallMs: settings.push_timeout_seconds * 1000,
      owner: this,
    });
    this.queue = new RemoteQueue(key, {
      owner: this,
      clock: options.clock,
      capSeconds: settings.retry_max_seconds,
    });
  }

  /**
   * One batch of the engine's work for this remote (its queue calls it):
   * committed in its clone and pushed. True when more is left, `"idle"` when
   * nothing waited (no generation has work, nothing committed is unpushed).
   * Whatever the git work did to the clone (folders a replay moved, a
   * rewritten remote) is handed to the engine after it, also after a failure.
   */
  async publish(): Promise<boolean | "idle"> {
    const { host, paths, settings, clock } = this.#options;
    try {
      if (host.sources(this).length === 0 && !(await this.clone.hasUnpushed())) return "idle";
      const result = await publishBatch(this, host, { paths, settings });
      if (result.chunks > 0 || result.finished.length) {
        this.lastPush = clock.wall().toISOString();
        this.#log.info("Pushed {count} chunk(s) to {branch}", {
          count: result.chunks,
          branch: this.target.branch,
        });
      }
      host.published(this, result);
      this.#wasReachable();
      return result.more;
    } finally {
      await host.absorb(this);
    }
  }

  /** How its queue reads anything thrown while publishing. */
  classify(error: unknown): QueueFailure {
    return classifyPublishError(error);
  }

  /** After a failure or a recovery of its publishing (from its queue). */
  changed(failure: QueueFailure | null): void {
    this.failure = failure;
    this.#options.host.changed(this, failure);
  }

  /** When its waiting work may be published (asked by its queue). */
  notBefore(lastSuccess: number | null): number {
    return this.#options.host.notBefore(this, lastSuccess);
  }

  /** Folders of its generations still being made, with their claim tokens (asked by its clone). */
  liveFolders(): ReadonlyMap<string, string> {
    return this.#options.host.live(this);
  }

  /** Display form of the remote (no credentials) and branch. */
  get label(): string {
    return `${displayUrl(this.target.url)} (${this.target.branch})`;
  }

  /**
   * Checks, in the queue, that the remote still holds what was pushed; then
   * again every `verify_interval_seconds`. A failure is logged once.
   */
  verifySoon(): Promise<void> {
    clearTimeout(this.#verifyTimer);
    this.#verifyTimer = undefined;
    if (this.#stopped || this.#verifying) return Promise.resolve();
    this.#verifying = true;
    return new Promise((resolve) => {
      this.queue.enqueue(async () => {
        try {
          const outcome = await this.clone.verify();
          this.#once.clear(`verify:${this.key}`);
          this.#wasReachable();
          if (outcome !== "same") this.queue.kick({ now: true });
        } catch (error) {
          if (!this.#options.signal.aborted) {
            this.#once.warn(
              `verify:${this.key}`,
              `Checking what ${this.label} holds failed: ${
                errorMessage(error)
              }; trying again later`,
            );
          }
        } finally {
          await this.#options.host.absorb(this).catch(() => {});
          this.#verifying = false;
          this.#later();
          resolve();
        }
      });
    });
  }

  /** Runs `then` once, the next time the remote answered (a push or a check worked). */
  whenReachable(then: () => void): void {
    this.#reachable.push(then);
  }

  #wasReachable(): void {
    const waiting = this.#reachable;
    this.#reachable = [];
    for (const then of waiting) then();
  }

  /** Schedules the next check (`verify_interval_seconds` from now). */
  verifyLater(): void {
    this.#later();
  }

  #later(): void {
    if (this.#stopped) return;
    clearTimeout(this.#verifyTimer);
    this.#verifyTimer = setTimeout(
      () => void this.verifySoon(),
      this.#options.settings.verify_interval_seconds * 1000,
    );
  }

  /** Its part of the health snapshot. */
  snapshot(): RemoteSnapshot {
    const { clock } = this.#options;
    const retry = this.queue.retry;
    return {
      key: this.key,
      url: displayUrl(this.target.url),
      branch: this.target.branch,
      lastPush: this.lastPush,
      lastError: retry ? this.failure?.message ?? retry.error : null,
      errorKind: retry ? this.queue.errorKind : null,
      failingSince: this.queue.failingSince === null
        ? null
        : wallAt(clock, this.queue.failingSince).toISOString(),
      nextRetryAt: retry ? wallAt(clock, retry.at).toISOString() : null,
      notice: this.notice
        ? {
          text: `${this.notice.message} (${this.notice.at})`,
          serious: this.notice.kind === "unrelated",
        }
        : null,
    };
  }

  /** Stops its queue and its checks. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#verifyTimer);
    await this.queue.stop();
  }
}

/** Creates remotes on demand. */
export class Remotes {
  #entries = new Map<string, Remote>();
  #byTarget = new Map<string, Remote>();
  #options: RemotesOptions;

  constructor(options: RemotesOptions) {
    this.#options = options;
  }

  /** The remote of `target`, created on first use. */
  get(target: RemoteTarget): Remote {
    // Asked for often: the slug (a hash) is computed once per remote.
    const named = this.#byTarget.get(`${target.url}\n${target.branch}`);
    if (named) return named;
    const key = repoSlug(target);
    let remote = this.#entries.get(key);
    if (!remote) {
      remote = new Remote(target, key, this.#options);
      this.#entries.set(key, remote);
      // Checked every `verify_interval_seconds` from now on.
      remote.verifyLater();
    }
    this.#byTarget.set(`${target.url}\n${target.branch}`, remote);
    return remote;
  }

  /** Every remote used so far. */
  all(): Remote[] {
    return [...this.#entries.values()];
  }

  /**
   * The remotes of the clones a previous run left in `repos/` (their URL and
   * branch are in their config), so that each is checked at the start.
   */
  async known(): Promise<Remote[]> {
    const found: Remote[] = [];
    let names: string[];
    try {
      names = (await Array.fromAsync(Deno.readDir(this.#options.paths.repos)))
        .filter((entry) => entry.isDirectory && entry.name.endsWith(".git"))
        .map((entry) => entry.name).sort();
    } catch {
      return found;
    }
    for (const name of names) {
      const result = await git([
        "config",
        "--get-regexp",
        "^(remote\\.origin\\.url|chunker\\.branch)$",
      ], {
        gitDir: join(this.#options.paths.repos, name),
        globalConfig: this.#options.paths.gitConfig,
        timeoutMs: 10_000,
      }).catch(() => undefined);
      const values = new Map(
        (result?.stdout ?? "").split("\n").filter(Boolean).map((line) => {
          const space = line.indexOf(" ");
          return [line.slice(0, space), line.slice(space + 1)] as const;
        }),
      );
      const url = values.get("remote.origin.url");
      const branch = values.get("chunker.branch");
      if (!url || !branch) continue;
      const target = { url, branch };
      if (repoSlug(target) === name) found.push(this.get(target));
    }
    return found;
  }

  /** Health snapshot of every remote. */
  snapshot(): RemoteSnapshot[] {
    return this.all().map((remote) => remote.snapshot());
  }

  /** Stops every queue. */
  async stop(): Promise<void> {
    await Promise.all(this.all().map((remote) => remote.stop()));
  }
}
