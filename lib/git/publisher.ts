/**
 * The publisher: one local bare clone per remote+branch under `repos/`,
 * chunks committed one commit each (with `Cast-*` trailers) through a single
 * `git fast-import` per batch, then one `git push`. When the remote branch
 * moved, it fetches and replays our unpushed commits on top; a path another
 * machine already wrote is never overwritten (our chunk moves to a new id
 * with a host suffix).
 *
 * @module
 */
import { hostname } from "node:os";
import { clipText, errorMessage, timeoutSignal } from "../sys/mod.ts";
import {
  chunkPathOnBranch,
  chunkSumName,
  chunkSumPathOnBranch,
  manifestPathOnBranch,
  parseChunkName,
  parseChunkSumName,
} from "../chunk/mod.ts";
import { git, type GitAuth, gitChecked } from "./hermetic.ts";
import type { RunResult } from "../sys/mod.ts";
import { initBareAtomically, isCompleteBare, removeStaleLocks } from "./bare_repo.ts";
import {
  type ChunkItem,
  commitHeader,
  type ManifestItem,
  quoteFastImportPath,
  writeCommits,
} from "./fast_import.ts";
import { type AuthResolver, PublishError, type RemoteTarget } from "./target.ts";
import { classifyGitError } from "./auth.ts";
import { DEFAULT_UPKEEP, keepUp, type UpkeepPolicy } from "./upkeep.ts";
import { withoutCredentials } from "./remote_url.ts";

/** Options for {@linkcode RepoClone}. */
export interface RepoCloneOptions {
  /** Bare repository folder. */
  gitDir: string;
  /** Daemon-owned git config (GIT_CONFIG_GLOBAL). */
  globalConfig?: string;
  /** How to reach the remote (default: the URL as it is, no auth). */
  authFor?: AuthResolver;
  /** Shutdown signal. */
  signal?: AbortSignal;
  /** Timeout for network operations (default 120 s). */
  networkTimeoutMs?: number;
  /** Host suffix used when a path collides with another machine's (default hostname). */
  host?: string;
  /** Upkeep (lib/git/upkeep.ts; default {@linkcode DEFAULT_UPKEEP}). */
  upkeep?: UpkeepPolicy;
}

/** One local bare clone of a remote branch. */
export class RepoClone {
  /** The remote and branch. */
  readonly target: RemoteTarget;
  /** The bare repository. */
  readonly gitDir: string;
  #options: RepoCloneOptions;
  #ready = false;
  #anonymous: string | undefined;
  #renames = new Map<string, string>();
  #pushes = 0;

  /** Creates the handle; {@linkcode RepoClone.ensure} creates the clone. */
  constructor(target: RemoteTarget, options: RepoCloneOptions) {
    this.target = target;
    this.gitDir = options.gitDir;
    this.#options = options;
  }

  get #localRef(): string {
    return `refs/heads/${this.target.branch}`;
  }

  get #remoteRef(): string {
    return `refs/remotes/origin/${this.target.branch}`;
  }

  /**
   * A local git call. One that was stopped (shutdown) or timed out throws:
   * its silence must never read as an answer ("no tip", "not committed"), or
   * a push that never ran would count as done.
   */
  async #git(args: string[], extra: { stdin?: string | Uint8Array; timeoutMs?: number } = {}) {
    const result = await git(args, {
      gitDir: this.gitDir,
      globalConfig: this.#options.globalConfig,
      signal: this.#options.signal,
      ...extra,
    });
    if (result.aborted || result.timedOut) {
      throw new PublishError(
        "disk",
        `git ${args[0]} ${result.timedOut ? "timed out" : "was stopped"} in ${this.gitDir}`,
      );
    }
    return result;
  }

  /** Creates the bare clone if needed (works while the remote is unreachable). */
  async ensure(): Promise<void> {
    // Checked every time: a clone deleted (or left half-made) under a running daemon is made again.
    const complete = await isCompleteBare(this.gitDir);
    if (complete && this.#ready) return;
    if (!complete) {
      this.#ready = false;
      await initBareAtomically(this.gitDir, {
        globalConfig: this.#options.globalConfig,
        signal: this.#options.signal,
      });
    }
    await removeStaleLocks(this.gitDir);
    // The URL is kept for people reading the clone; pushes pass it explicitly.
    await this.#git([
      "config",
      "--end-of-options",
      "remote.origin.url",
      withoutCredentials(this.target.url),
    ]);
    await this.#git(["config", "chunker.branch", this.target.branch]);
    await this.#git(["symbolic-ref", "HEAD", this.#localRef]);
    this.#ready = true;
    if (!(await this.tip(this.#localRef))) {
      // New clone: start from the remote branch when it exists and is reachable.
      try {
        // Short: the first recording of a new clone waits for this answer.
        const remoteTip = await this.fetch({ timeoutMs: 20_000 });
        if (remoteTip) await gitChecked(["update-ref", this.#localRef, remoteTip], this.#gitOpts());
      } catch {
        // Unreachable now: commits start an orphan branch; a later push rebases.
      }
    }
  }

  #gitOpts() {
    return {
      gitDir: this.gitDir,
      globalConfig: this.#options.globalConfig,
      signal: this.#options.signal,
    };
  }

  /** The commit a ref points to, or undefined. */
  async tip(ref: string): Promise<string | undefined> {
    const result = await this.#git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    return result.success ? result.stdout.trim() : undefined;
  }

  /** The local branch tip. */
  localTip(): Promise<string | undefined> {
    return this.tip(this.#localRef);
  }

  async #auth(): Promise<{ url: string; auth?: GitAuth }> {
    if (!this.#options.authFor) return { url: this.target.url };
    try {
      const resolved = await this.#options.authFor(this.target.url);
      this.#anonymous = resolved.anonymous;
      return resolved;
    } catch (error) {
      if (error instanceof PublishError) throw error;
      throw new PublishError("auth", errorMessage(error));
    }
  }

  async #network(args: string[], options: { timeoutMs?: number } = {}) {
    const { url, auth } = await this.#auth();
    const timeoutMs = options.timeoutMs ?? this.#options.networkTimeoutMs ?? 120_000;
    const limit = timeoutSignal(timeoutMs, this.#options.signal);
    try {
      return await git(args.map((arg) => arg === "{url}" ? url : arg), {
        gitDir: this.gitDir,
        globalConfig: this.#options.globalConfig,
        signal: limit.signal,
        auth,
        timeoutMs,
      });
    } finally {
      limit.clear();
    }
  }

  /** A failed network call as a PublishError; an auth failure of an anonymous call names the fix. */
  #failure(result: RunResult, what: string): PublishError {
    const kind = classifyGitError(result.stderr, { timedOut: result.timedOut });
    const said = result.stderr.trim().slice(0, 500) || (result.timedOut ? "timed out" : "");
    const hint = kind === "auth" && this.#anonymous ? ` (${this.#anonymous})` : "";
    return new PublishError(kind, `${what}: ${said}${hint}`);
  }

  /**
   * Fetches the remote branch into `refs/remotes/origin/<branch>`. Returns
   * its tip, or undefined when the remote has no such branch yet.
   */
  async fetch(options: { timeoutMs?: number } = {}): Promise<string | undefined> {
    const result = await this.#network([
      "fetch",
      "--quiet",
      "--no-tags",
      "--no-write-fetch-head",
      "--end-of-options",
      "{url}",
      `+${this.#localRef}:${this.#remoteRef}`,
    ], options);
    if (!result.success) {
      if (/couldn't find remote ref|could not find remote ref/i.test(result.stderr)) {
        return undefined;
      }
      throw this.#failure(result, "fetch failed");
    }
    return await this.tip(this.#remoteRef);
  }

  /** Names of the files under `chunks/<id>/` at the local tip. */
  async committedChunkNames(id: string): Promise<Set<string>> {
    const tip = await this.localTip();
    if (!tip) return new Set();
    return await this.#listNames(tip, `chunks/${this.#renames.get(id) ?? id}/`);
  }

  async #listNames(commit: string, prefix: string): Promise<Set<string>> {
    const result = await this.#git(["ls-tree", "-z", "--name-only", commit, "--", prefix]);
    const names = new Set<string>();
    if (!result.success) return names;
    for (const path of result.stdout.split("\0")) {
      if (path) names.add(path.slice(prefix.length));
    }
    return names;
  }

  /** True when a manifest for `id` is at the local tip. */
  async hasManifest(id: string): Promise<boolean> {
    const tip = await this.localTip();
    if (!tip) return false;
    for (const encrypted of [false, true]) {
      const path = manifestPathOnBranch(id, { encrypted });
      if ((await this.#git(["cat-file", "-e", `${tip}:${path}`])).success) return true;
    }
    return false;
  }

  /**
   * Commits chunks (one commit each, in the given order) and manifests on the
   * local branch with one `git fast-import`. Chunks already committed are
   * skipped. Returns how many commits were made.
   */
  async commit(chunks: ChunkItem[], manifests: ManifestItem[] = []): Promise<number> {
    await this.ensure();
    const parent = await this.localTip();
    const todo: ChunkItem[] = [];
    const namesById = new Map<string, Set<string>>();
    for (const chunk of chunks) {
      let names = namesById.get(chunk.id);
      if (!names) {
        names = await this.committedChunkNames(chunk.id);
        namesById.set(chunk.id, names);
      }
      const path = chunkPathOnBranch(chunk.id, chunk);
      if (!names.has(path.slice(`chunks/${chunk.id}/`.length))) todo.push(chunk);
    }
    const manifestTodo: ManifestItem[] = [];
    for (const item of manifests) {
      if (!(await this.hasManifest(item.id))) manifestTodo.push(item);
    }
    if (todo.length === 0 && manifestTodo.length === 0) return 0;
    await writeCommits(this.gitDir, {
      globalConfig: this.#options.globalConfig,
      signal: this.#options.signal,
      ref: this.#localRef,
      parent,
      chunks: todo,
      manifests: manifestTodo,
    });
    return todo.length + manifestTodo.length;
  }

  /**
   * Pushes the local branch. When the remote moved, fetches, replays our
   * unpushed commits on top and pushes again. Returns the pushed tip.
   */
  async push(options: { timeoutMs?: number } = {}): Promise<string | undefined> {
    await this.ensure();
    for (let attempt = 0; attempt < 4; attempt++) {
      const tip = await this.localTip();
      if (!tip) return undefined;
      const known = await this.tip(this.#remoteRef);
      if (known === tip) return tip;
      const result = await this.#network([
        // Loose chunk objects are packed for the push as they are: no zlib, no
        // delta search for objects over 1 MiB (trees below that still get deltas).
        "-c",
        "core.compression=0",
        "-c",
        "core.bigFileThreshold=1m",
        "push",
        "--porcelain",
        "--quiet",
        "--end-of-options",
        "{url}",
        `${this.#localRef}:${this.#localRef}`,
      ], options);
      if (result.success) {
        await gitChecked(["update-ref", this.#remoteRef, tip], this.#gitOpts());
        await this.#maintain();
        return tip;
      }
      const text = clipText(`${result.stdout}\n${result.stderr}`);
      const refused = remoteRefusal(result.stdout, result.stderr);
      if (refused) throw new PublishError("rejected", refused);
      const rejected = /\[rejected\]|non-fast-forward|fetch first|\(stale info\)/i.test(text) ||
        /^!\s/m.test(result.stdout);
      if (!rejected) {
        throw this.#failure(result, "push failed");
      }
      const remoteTip = await this.fetch();
      await this.#replayOnto(remoteTip);
    }
    throw new PublishError("conflict", "push kept being rejected after rebasing 4 times");
  }

  /** Replays local commits not on `remoteTip` on top of it (our adds only). */
  async #replayOnto(remoteTip: string | undefined): Promise<void> {
    const local = await this.localTip();
    if (!local || !remoteTip) return;
    const isAncestor = await this.#git(["merge-base", "--is-ancestor", local, remoteTip]);
    if (isAncestor.success) {
      await gitChecked(["update-ref", this.#localRef, remoteTip], this.#gitOpts());
      return;
    }
    const commits = (await gitChecked(
      ["rev-list", "--reverse", local, "--not", remoteTip],
      this.#gitOpts(),
    )).split("\n").filter(Boolean);
    const stream: string[] = [];
    let first = true;
    const host = (this.#options.host ?? hostname()).replace(/[^A-Za-z0-9._-]+/g, "_") || "host";
    for (const commit of commits) {
      const message = await gitChecked(["log", "-1", "--format=%B", commit], this.#gitOpts());
      const entries = (await gitChecked(
        ["diff-tree", "-r", "--root", "--no-commit-id", "-z", "--diff-filter=A", commit],
        this.#gitOpts(),
      )).split("\0");
      const adds: { mode: string; blob: string; path: string }[] = [];
      for (let i = 0; i + 1 < entries.length; i += 2) {
        const meta = entries[i].replace(/^:/, "").split(" ");
        if (meta.length < 4) continue;
        adds.push({ mode: meta[1], blob: meta[3], path: entries[i + 1] });
      }
      let text = message;
      const lines: string[] = [];
      // A chunk's record goes where its chunk goes (diff-tree lists chunks/ before recordings/).
      const fates = new Map<string, string | null>();
      for (const add of adds) {
        let path = add.path;
        const owner = chunkOf(path);
        if (owner?.record && fates.has(owner.key)) {
          const id = fates.get(owner.key);
          if (id === null || id === undefined) continue; // its chunk was there already
          lines.push(`M ${add.mode} ${add.blob} ${quoteFastImportPath(owner.at(id))}\n`);
          continue;
        }
        const existing = await this.#git([
          "rev-parse",
          "--verify",
          "--quiet",
          `${remoteTip}:${path}`,
        ]);
        if (existing.success) {
          if (existing.stdout.trim() === add.blob) {
            if (owner) fates.set(owner.key, null);
            continue; // already there, identical
          }
          // Another machine wrote this path: never overwrite, move ours.
          const match = /^(chunks|recordings)\/([^/]+)\/(.+)$/.exec(path);
          if (!match) continue;
          const newId = `${match[2]}~${host}`;
          this.#renames.set(match[2], newId);
          path = `${match[1]}/${newId}/${match[3]}`;
          text = text.replaceAll(`Cast-Id: ${match[2]}`, `Cast-Id: ${newId}`);
          if (owner) fates.set(owner.key, newId);
        } else if (owner) {
          fates.set(owner.key, owner.id);
        }
        lines.push(`M ${add.mode} ${add.blob} ${quoteFastImportPath(path)}\n`);
      }
      if (lines.length === 0) continue;
      stream.push(
        commitHeader("refs/chunker/replay", {
          message: text,
          parent: first ? remoteTip : undefined,
        }) + lines.join(""),
      );
      first = false;
    }
    if (stream.length === 0) {
      await gitChecked(["update-ref", this.#localRef, remoteTip], this.#gitOpts());
      return;
    }
    await this.#git(["update-ref", "-d", "refs/chunker/replay"]);
    const result = await this.#git(["fast-import", "--quiet", "--done"], {
      stdin: stream.join("") + "done\n",
    });
    if (!result.success) {
      throw new PublishError("disk", `replaying commits failed: ${result.stderr.trim()}`);
    }
    const replayed = await this.tip("refs/chunker/replay");
    if (!replayed) throw new PublishError("disk", "replaying commits produced no commit");
    await gitChecked(["update-ref", this.#localRef, replayed, local], this.#gitOpts());
    await this.#git(["update-ref", "-d", "refs/chunker/replay"]);
  }

  /** Each fast-import batch leaves a pack or loose objects: lib/git/upkeep.ts keeps them few. */
  async #maintain(): Promise<void> {
    const policy = this.#options.upkeep ?? DEFAULT_UPKEEP;
    this.#pushes++;
    if (this.#pushes % policy.every !== 0) return;
    await keepUp(this.gitDir, {
      policy,
      globalConfig: this.#options.globalConfig,
      signal: this.#options.signal,
    });
  }

  /** Ids renamed because another machine had written the same path. */
  renames(): ReadonlyMap<string, string> {
    return this.#renames;
  }
}

/**
 * The chunk a path belongs to: a chunk (`chunks/<id>/<name>`) or its record
 * (`recordings/<id>/chunks/<seq>_<start>-<end>`, `record` set), with a key
 * shared by both and `at(id)`, the record's path under another id.
 */
function chunkOf(path: string) {
  const chunk = /^chunks\/([^/]+)\/([^/]+)$/.exec(path);
  const record = /^recordings\/([^/]+)\/chunks\/([^/]+)$/.exec(path);
  const id = (chunk ?? record)?.[1];
  const range = chunk
    ? parseChunkName(chunk[2])
    : record
    ? parseChunkSumName(record[2])
    : undefined;
  if (id === undefined || !range) return undefined;
  return {
    id,
    record: record !== null,
    key: `${id}\0${chunkSumName(range)}`,
    at: (other: string) => chunkSumPathOnBranch(other, range),
  };
}

/**
 * The remote's own refusal of a push (a hook, a quota, a protected branch):
 * `[remote rejected]` in the porcelain output, with what the remote said
 * (its `remote:` lines). Undefined for anything else, such as a
 * non-fast-forward rejection, which a fetch and replay fixes.
 */
export function remoteRefusal(output: string, errors: string): string | undefined {
  // A remote's text is clipped first: the patterns below never run over more than a few KiB.
  const stdout = clipText(output);
  const stderr = clipText(errors);
  const line = `${stdout}\n${stderr}`.split("\n").find((text) => /\[remote rejected\]/.test(text));
  if (!line) return undefined;
  const said = stderr.split("\n")
    .map((text) => /^remote:\s?(.*)$/.exec(text.trim())?.[1]?.trim() ?? "")
    .filter((text) => text && !/^error: hook declined/i.test(text));
  const reason = /\[remote rejected\]\s*(?:\S+\s*->\s*\S+\s*)?\(?([^)]*)\)?/.exec(line)?.[1]
    ?.trim();
  const parts = [said.join("; "), reason].filter(Boolean);
  return `the remote refused the push: ${parts.join(" — ").slice(0, 500) || line.trim()}`;
}
