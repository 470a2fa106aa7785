/**
 * The publisher: one local bare clone per remote+branch under `repos/`,
 * chunks committed one commit each (with `Cast-*` trailers) through a single
 * `git fast-import` per batch, then one `git push`. When the remote branch
 * moved, it fetches and replays our unpushed commits on top (replay.ts); a
 * folder another generation claimed is never written into (claim.ts).
 *
 * A new clone fetches only the tip's trees (`--depth=1 --filter=blob:none`
 * where the server can filter): appending and replaying need no more. Every
 * fetch runs with `--progress` and is stopped only when it makes no progress
 * for a while, so a long branch on a slow link is fetched once, not cut off
 * by a fixed limit and started again.
 *
 * The remote is trusted but verified ({@linkcode RepoClone.verify}): a cheap
 * `ls-remote` of the branch tip, compared with what was pushed last. A remote
 * that went back to an older commit (a restored backup, a reset) gets what it
 * lost pushed again; one rewritten to an unrelated history is reported, and
 * only what was never pushed (and recordings still being made) goes on top.
 *
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { clipText, errorMessage, type RunResult, timeoutSignal } from "../sys/mod.ts";
import { formatChunkName, manifestPathOnBranch } from "../chunk/mod.ts";
import { git, type GitAuth, gitChecked, type GitOptions } from "./hermetic.ts";
import { initBareAtomically, isCompleteBare, removeStaleLocks } from "./bare_repo.ts";
import { type ChunkItem, type ManifestItem, writeCommits } from "./fast_import.ts";
import { BlobStage } from "./blob_stage.ts";
import { type AuthResolver, PublishError, type RemoteTarget } from "./target.ts";
import { classifyGitError } from "./auth.ts";
import { DEFAULT_UPKEEP, keepUp, type UpkeepPolicy } from "./upkeep.ts";
import { withoutCredentials } from "./remote_url.ts";
import { type Claimant, folderNames, hostTag, placeFolder, readFolders } from "./claim.ts";
import { type FolderMove, isAncestor, replayOnto } from "./replay.ts";

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
  /** Longest a fetch or ls-remote may run, however it progresses (default 1 h). */
  networkTimeoutMs?: number;
  /** A fetch that shows no progress for this long is stopped (default 60 s). */
  stallMs?: number;
  /** This machine's name, for folders moved away from another's (default hostname). */
  host?: string;
  /** Who knows the folders still being made (the daemon's remote; none: no folder is). */
  owner?: CloneOwner;
  /** Upkeep (lib/git/upkeep.ts; default {@linkcode DEFAULT_UPKEEP}). */
  upkeep?: UpkeepPolicy;
}

/** What a clone asks of whoever owns it (the engine's `Remote`). */
export interface CloneOwner {
  /**
   * Folders of generations still being made, with their claim tokens: a
   * replay takes their tokens, and keeps them when the remote was rewritten.
   */
  liveFolders(): ReadonlyMap<string, string>;
}

/** Something the remote did that a person should hear about. */
export interface RemoteNotice {
  /** What happened. */
  kind: "rewound" | "deleted" | "diverged" | "unrelated";
  /** For people. */
  message: string;
  /** Recording folders no longer on the remote and not pushed again (unrelated history). */
  dropped: string[];
}

/** What {@linkcode RepoClone.verify} found. */
export type VerifyOutcome = "same" | "moved" | RemoteNotice["kind"];

const PUSHED_REF = "refs/chunker/pushed";
/** The remote's name in network calls (and the promisor of a filtered clone). */
const PROMISOR = "chunker";

/** One local bare clone of a remote branch. */
export class RepoClone {
  /** The remote and branch. */
  readonly target: RemoteTarget;
  /** The bare repository. */
  readonly gitDir: string;
  #options: RepoCloneOptions;
  #ready = false;
  /** True once this process wrote or read `chunker.synced` in this clone (a clone made again forgets it). */
  #syncedMarked = false;
  #anonymous: string | undefined;
  #partial = false;
  #pushes = 0;
  #moves = new Map<string, FolderMove>();
  #notices: RemoteNotice[] = [];
  #stage = new BlobStage(() => this.#gitOpts());

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

  get #host(): string {
    return hostTag(this.#options.host ?? hostname());
  }

  #gitOpts(): GitOptions {
    return {
      gitDir: this.gitDir,
      globalConfig: this.#options.globalConfig,
      signal: this.#options.signal,
    };
  }

  /**
   * A local git call. One that was stopped (shutdown) or timed out throws:
   * its silence must never read as an answer ("no tip", "not committed"), or
   * a push that never ran would count as done.
   */
  async #git(args: string[], extra: { stdin?: string | Uint8Array; timeoutMs?: number } = {}) {
    const result = await git(args, { ...this.#gitOpts(), ...extra });
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
      this.#syncedMarked = false;
      await initBareAtomically(this.gitDir, {
        globalConfig: this.#options.globalConfig,
        signal: this.#options.signal,
      });
      // New clones hold only the trees they need: the blobs stay on the remote.
      await this.#git(["config", "core.repositoryformatversion", "1"]);
      await this.#git(["config", "extensions.partialClone", PROMISOR]);
    }
    await removeStaleLocks(this.gitDir);
    // Kept for people and for finding the clone again (lib/branch/remote_lookup.ts); network
    // calls pass the URL git should use (auth may change it) themselves.
    await this.#git([
      "config",
      "--end-of-options",
      "remote.origin.url",
      withoutCredentials(this.target.url),
    ]);
    await this.#git(["config", "--end-of-options", "chunker.branch", this.target.branch]);
    await this.#git(["symbolic-ref", "HEAD", this.#localRef]);
    this.#partial = (await this.#git(["config", "--get", "extensions.partialClone"])).success;
    this.#ready = true;
    if (!(await this.tip(this.#localRef))) {
      // No local branch: start from what the remote was seen to hold (a fetch that got that
      // far before a stop), else from the remote branch when it exists and is reachable.
      const known = await this.tip(this.#remoteRef);
      try {
        const remoteTip = known ?? await this.fetch();
        if (remoteTip) await gitChecked(["update-ref", this.#localRef, remoteTip], this.#gitOpts());
      } catch {
        // Unreachable now: commits start an orphan branch; a later push replays them.
      }
    }
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

  /** True when the local branch holds commits the remote (as last seen) lacks. */
  async hasUnpushed(): Promise<boolean> {
    if (!(await isCompleteBare(this.gitDir))) return false;
    const local = await this.localTip();
    return local !== undefined && local !== await this.tip(this.#remoteRef);
  }

  /** True once this clone has read the remote branch (or learned it does not exist). */
  async synced(): Promise<boolean> {
    if (this.#syncedMarked) return true;
    const marked =
      (await this.#git(["config", "--get", "chunker.synced"])).stdout.trim() === "true";
    this.#syncedMarked = marked;
    return marked;
  }

  /** Marks the clone synced (once per clone and process: every push and fetch asks for it). */
  async #markSynced(): Promise<void> {
    if (this.#syncedMarked) return;
    if ((await this.#git(["config", "chunker.synced", "true"])).success) this.#syncedMarked = true;
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

  /** A failed network call as a PublishError; an auth failure of an anonymous call names the fix. */
  #failure(result: RunResult, what: string): PublishError {
    const kind = classifyGitError(result.stderr, { timedOut: result.timedOut });
    const said = lastLines(result.stderr) || (result.timedOut ? "timed out" : "");
    const hint = kind === "auth" && this.#anonymous ? ` (${this.#anonymous})` : "";
    return new PublishError(kind, `${what}: ${said}${hint}`);
  }

  /**
   * A network git call: the remote as `chunker` (defined only in the call's environment, so a
   * local command never reaches the network by itself), auth, limits.
   */
  async #network(
    args: (auth: { url: string }) => string[],
    options: { timeoutMs?: number; stallMs?: number } = {},
  ) {
    const { url, auth } = await this.#auth();
    const origin: [string, string][] = [[`remote.${PROMISOR}.url`, url]];
    if (this.#partial) {
      origin.push(
        [`remote.${PROMISOR}.promisor`, "true"],
        [`remote.${PROMISOR}.partialclonefilter`, "blob:none"],
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#options.networkTimeoutMs ?? 3_600_000;
    const limit = timeoutSignal(timeoutMs, this.#options.signal);
    try {
      return await git(args({ url }), {
        gitDir: this.gitDir,
        globalConfig: this.#options.globalConfig,
        signal: limit.signal,
        auth: { ...auth, config: [...(auth?.config ?? []), ...origin] },
        timeoutMs,
        stallMs: options.stallMs ?? this.#options.stallMs ?? 60_000,
      });
    } finally {
      limit.clear();
    }
  }

  /**
   * Fetches the remote branch into `refs/remotes/origin/<branch>` (the first
   * time only its tip, shallow and filtered), stopped only when it makes no
   * progress. Returns its tip, or undefined when the remote has no such branch.
   */
  async fetch(): Promise<string | undefined> {
    const first = !(await this.tip(this.#remoteRef)) && this.#partial;
    const result = await this.#network(() => [
      "fetch",
      "--progress",
      "--no-tags",
      "--no-write-fetch-head",
      "--no-recurse-submodules",
      ...(first ? ["--depth=1", "--filter=blob:none"] : []),
      "--end-of-options",
      PROMISOR,
      `+${this.#localRef}:${this.#remoteRef}`,
    ]);
    if (!result.success) {
      if (/couldn't find remote ref|could not find remote ref/i.test(result.stderr)) {
        await this.#markSynced();
        return undefined;
      }
      throw this.#failure(result, "fetch failed");
    }
    await this.#markSynced();
    return await this.tip(this.#remoteRef);
  }

  /** The remote branch's tip now (`git ls-remote`), or undefined when it has none. */
  async #lsRemote(): Promise<string | undefined> {
    const result = await this.#network(({ url }) => [
      "ls-remote",
      "--end-of-options",
      url,
      this.#localRef,
    ]);
    if (!result.success) {
      throw this.#failure(result, "ls-remote failed");
    }
    const line = result.stdout.split("\n").find((text) => text.endsWith(`\t${this.#localRef}`));
    return line?.split("\t")[0];
  }

  /**
   * The commit whose tree says what the branch holds, for a look-up that
   * must not mistake "could not read" for "empty": the clone must have read
   * the remote at least once (fetched now when it never did; throws when it
   * cannot). Undefined: the branch does not exist anywhere yet.
   */
  async lookupTip(): Promise<string | undefined> {
    await this.ensure();
    if (!(await this.synced())) {
      const remoteTip = await this.fetch();
      if (remoteTip && !(await this.localTip())) {
        await gitChecked(["update-ref", this.#localRef, remoteTip], this.#gitOpts());
      }
    }
    const local = await this.localTip();
    const remote = await this.tip(this.#remoteRef);
    if (!local || !remote || local === remote) return local ?? remote;
    return (await isAncestor(remote, local, this.#gitOpts())) ? local : remote;
  }

  /**
   * Makes sure the blob `oid` is here (a filtered clone fetches it from the
   * remote, with the clone's auth); throws when it cannot.
   */
  async fetchBlob(oid: string): Promise<void> {
    if ((await this.#git(["cat-file", "-t", oid])).success) return;
    if (!this.#partial) {
      throw new PublishError("disk", `blob ${oid} is missing from ${this.gitDir}`);
    }
    const result = await this.#network(() => ["cat-file", "-e", oid]);
    if (!result.success) {
      throw this.#failure(result, `fetching blob ${oid} failed`);
    }
  }

  /** Names of the files under `chunks/<folder>/` at the local tip. */
  async committedChunkNames(folder: string): Promise<Set<string>> {
    const tip = await this.localTip();
    if (!tip) return new Set();
    const prefix = `chunks/${folder}/`;
    const result = await this.#git([
      "--literal-pathspecs",
      "ls-tree",
      "-z",
      "--name-only",
      tip,
      "--",
      prefix,
    ]);
    const names = new Set<string>();
    if (!result.success) return names;
    for (const path of result.stdout.split("\0")) {
      if (path) names.add(path.slice(prefix.length));
    }
    return names;
  }

  /** True when a manifest for `folder` is at `commit` (default: the local tip); no blob is read. */
  async hasManifest(folder: string, commit?: string): Promise<boolean> {
    const tip = commit ?? await this.localTip();
    if (!tip) return false;
    for (const encrypted of [false, true]) {
      const path = manifestPathOnBranch(folder, { encrypted });
      if ((await this.#git(["rev-parse", "--verify", "--quiet", `${tip}:${path}`])).success) {
        return true;
      }
    }
    return false;
  }

  /**
   * Where each claimant's files go at the local tip: its folder when it is
   * its own or free, else the first free `<folder>~<host>[-n]` (see claim.ts).
   * Returns only the folders that differ.
   */
  async placeFolders(claimants: ReadonlyMap<string, Claimant>): Promise<Map<string, string>> {
    await this.ensure();
    const moved = new Map<string, string>();
    if (claimants.size === 0) return moved;
    const tip = await this.localTip();
    const views = await readFolders(this.gitDir, tip, claimants.keys(), {
      ...this.#gitOpts(),
      candidatesFor: claimants.keys(),
    });
    for (const [folder, claimant] of claimants) {
      const place = placeFolder(folder, claimant, views, this.#host);
      if (place !== folder) moved.set(folder, place);
    }
    return moved;
  }

  /**
   * Commits chunks (one commit each, in the given order) and manifests on the
   * local branch with one `git fast-import`. Chunks and manifests already
   * committed are skipped. Returns how many commits were made.
   */
  async commit(chunks: ChunkItem[], manifests: ManifestItem[] = []): Promise<number> {
    await this.ensure();
    const parent = await this.localTip();
    const folders = new Set([...chunks.map((c) => c.id), ...manifests.map((m) => m.id)]);
    const views = await readFolders(this.gitDir, parent, folders, this.#gitOpts());
    const todo = chunks.filter((chunk) =>
      !views.get(chunk.id)?.blobs.has(`chunks/${formatChunkName(chunk)}`)
    );
    const manifestTodo = manifests.filter((item) =>
      !["manifest.json", "manifest.json.age"].some((name) =>
        views.get(item.id)?.blobs.has(`recordings/${name}`)
      )
    );
    if (todo.length === 0 && manifestTodo.length === 0) return 0;
    await writeCommits(this.gitDir, {
      globalConfig: this.#options.globalConfig,
      signal: this.#options.signal,
      ref: this.#localRef,
      parent,
      chunks: await this.#withStagedBlobs(todo),
      manifests: manifestTodo,
    });
    return todo.length + manifestTodo.length;
  }

  /**
   * Starts writing a spool file's blob into this clone ahead of its commit
   * (lib/git/blob_stage.ts); returns at once. For a file that is committed
   * as it is: never a plaintext chunk that will be sealed first.
   */
  stageBlob(file: string): void {
    this.#stage.stage(file);
  }

  /** Removes what was staged for `file` (a plaintext chunk about to be sealed). */
  discardStaged(file: string): Promise<void> {
    return this.#stage.discard(file);
  }

  /** Resolves once every blob staged so far is written (or has failed). */
  stagedBlobs(): Promise<void> {
    return this.#stage.settled();
  }

  /** `chunks` with the blob ids staged for their files that the clone holds (one `cat-file`). */
  async #withStagedBlobs(chunks: ChunkItem[]): Promise<ChunkItem[]> {
    if (this.#stage.size === 0) return chunks;
    const blobs = await Promise.all(chunks.map((chunk) => this.#stage.take(chunk.file)));
    const asked = [...new Set(blobs.filter((blob): blob is string => Boolean(blob)))];
    if (asked.length === 0) return chunks;
    const check = await this.#git(["cat-file", "--batch-check=%(objectname) %(objecttype)"], {
      stdin: asked.join("\n") + "\n",
    });
    const held = new Set(
      check.stdout.split("\n").filter((line) => line.endsWith(" blob")).map((line) =>
        line.split(" ")[0]
      ),
    );
    return chunks.map((chunk, index) => {
      const blob = blobs[index];
      return blob && held.has(blob) ? { ...chunk, blob } : chunk;
    });
  }

  /** The blob ids `files` would have (`git hash-object`), in order. */
  async blobIds(files: string[]): Promise<string[]> {
    if (files.length === 0) return [];
    const result = await this.#git(["hash-object", "--no-filters", "--stdin-paths"], {
      stdin: files.join("\n") + "\n",
    });
    if (!result.success) throw new PublishError("disk", `git hash-object failed: ${result.stderr}`);
    return result.stdout.split("\n").filter(Boolean);
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
      const result = await this.#network(({ url }) => [
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
        url,
        `${this.#localRef}:${this.#localRef}`,
      ], { timeoutMs: options.timeoutMs ?? 120_000, stallMs: options.timeoutMs ?? 120_000 });
      if (result.success) {
        // Both refs in one transaction, one process.
        await gitChecked(["update-ref", "--stdin"], {
          ...this.#gitOpts(),
          stdin: `update ${this.#remoteRef} ${tip}\nupdate ${PUSHED_REF} ${tip}\n`,
        });
        await this.#markSynced();
        await this.#maintain();
        return tip;
      }
      const text = clipText(`${result.stdout}\n${result.stderr}`);
      // A remote that lost history older than this (shallow) clone's: what this clone wrote
      // goes again on what the remote has now; what it cannot give back is reported.
      if (/shallow update not allowed/i.test(text) && (await this.#shallowRoots()).length) {
        await this.#rebuildOwn(await this.fetch());
        continue;
      }
      const refused = remoteRefusal(result.stdout, result.stderr);
      if (refused) throw new PublishError("rejected", refused);
      const rejected = /\[rejected\]|non-fast-forward|fetch first|\(stale info\)/i.test(text) ||
        /^!\s/m.test(result.stdout);
      if (!rejected) throw this.#failure(result, "push failed");
      await this.#integrate(await this.fetch());
    }
    throw new PublishError("conflict", "push kept being rejected after rebasing 4 times");
  }

  /** True when every object `treeish` reaches is here (a filtered clone lacks blobs). */
  async #holdsWhole(treeish: string): Promise<boolean> {
    const listed = await this.#git(["rev-list", "--objects", "--missing=print", treeish], {
      timeoutMs: 300_000,
    });
    return listed.success && !/^\?/m.test(listed.stdout);
  }

  /** The boundary commits of a shallow clone (none when it is complete). */
  async #shallowRoots(): Promise<string[]> {
    const text = await Deno.readTextFile(join(this.gitDir, "shallow")).catch(() => "");
    return text.split("\n").map((line) => line.trim()).filter(Boolean);
  }

  /**
   * The remote lost history this shallow clone holds only the tip of: the
   * commits this clone made go again on what the remote has now (or start
   * the branch anew); the folders it can no longer give back are reported.
   */
  async #rebuildOwn(remoteTip: string | undefined): Promise<void> {
    const local = await this.localTip();
    if (!local) return;
    const before = await folderNames(this.gitDir, local, this.#gitOpts());
    const roots = await this.#shallowRoots();
    const replayed = (onto: string | undefined, from: string, exclude: string[]) =>
      replayOnto({
        ...this.#gitOpts(),
        gitDir: this.gitDir,
        local: from,
        remote: onto,
        exclude,
        live: this.#options.owner?.liveFolders() ?? new Map(),
        host: this.#host,
      });
    // The clone's oldest commit, when it holds every object of its tree (a shallow clone of a
    // server that cannot filter does), is given back as one commit of everything it holds.
    let base = remoteTip;
    if (roots.length === 1 && await this.#holdsWhole(`${roots[0]}^{tree}`)) {
      const restored = await this.#git([
        "commit-tree",
        "-m",
        "restored: what this machine held of the branch when the remote lost it",
        `${roots[0]}^{tree}`,
      ]);
      if (restored.success) base = (await replayed(base, restored.stdout.trim(), [])).tip;
    }
    const replay = await replayed(base, local, roots);
    if (replay.tip) {
      await gitChecked(["update-ref", this.#localRef, replay.tip, local], this.#gitOpts());
    } else {
      await gitChecked(["update-ref", "-d", this.#localRef, local], this.#gitOpts());
    }
    for (const [folder, move] of replay.moves) this.#moves.set(folder, move);
    const after = replay.tip
      ? await folderNames(this.gitDir, replay.tip, this.#gitOpts())
      : new Set();
    const dropped = [...before].filter((name) => !after.has(name)).sort();
    const shown = dropped.slice(0, 5).join(", ");
    this.#notices.push(
      dropped.length === 0
        ? {
          kind: "deleted",
          message:
            "the remote lost history older than this machine's clone: everything this machine held of it is pushed again",
          dropped,
        }
        : {
          kind: "unrelated",
          message:
            `the remote lost history older than this machine's clone: what this machine wrote since is pushed again; ${dropped.length} recording folder(s) it cannot give back are no longer on the remote (${shown}${
              dropped.length > 5 ? ", ..." : ""
            })`,
          dropped,
        },
    );
  }

  /** Puts our unpushed commits on top of `remoteTip` (the local branch moves). */
  async #integrate(remoteTip: string | undefined): Promise<void> {
    const local = await this.localTip();
    if (!local || !remoteTip) {
      if (remoteTip) await gitChecked(["update-ref", this.#localRef, remoteTip], this.#gitOpts());
      return;
    }
    const replay = await replayOnto({
      ...this.#gitOpts(),
      gitDir: this.gitDir,
      local,
      remote: remoteTip,
      pushed: await this.tip(PUSHED_REF),
      live: this.#options.owner?.liveFolders() ?? new Map(),
      host: this.#host,
    });
    await gitChecked(["update-ref", this.#localRef, replay.tip!, local], this.#gitOpts());
    for (const [folder, move] of replay.moves) this.#moves.set(folder, move);
    if (replay.history === "diverged") {
      this.#notices.push({
        kind: "diverged",
        message:
          "the remote branch went back to an older commit and went on from there: what it lost of ours is pushed again",
        dropped: [],
      });
    } else if (replay.history === "unrelated") {
      const shown = replay.dropped.slice(0, 5).join(", ");
      this.#notices.push({
        kind: "unrelated",
        message:
          `the remote branch was replaced by an unrelated history: ${replay.dropped.length} recording folder(s) pushed before are no longer on it${
            shown ? ` (${shown}${replay.dropped.length > 5 ? ", ..." : ""})` : ""
          } and were not pushed again; only what was never pushed and recordings still being made go on top`,
        dropped: replay.dropped,
      });
      // The old history is no reference any more.
      await gitChecked(["update-ref", PUSHED_REF, remoteTip], this.#gitOpts());
    }
  }

  /**
   * Checks that the remote still holds what was pushed (`git ls-remote`, then
   * a fetch only when the tip is one we do not know). A remote that went back
   * is given what it lost again by the next push; one that moved on is
   * replayed onto; one rewritten is reported. Throws when the remote cannot
   * be asked.
   */
  async verify(): Promise<VerifyOutcome> {
    await this.ensure();
    const remoteTip = await this.#lsRemote();
    await this.#markSynced();
    const known = await this.tip(this.#remoteRef);
    const pushed = await this.tip(PUSHED_REF);
    // What the remote was seen to hold is in the local branch before anything is compared:
    // given back to a remote that lost it, it goes with our own commits.
    if (known) {
      const local = await this.localTip();
      if (!local || await isAncestor(local, known, this.#gitOpts())) {
        await gitChecked(["update-ref", this.#localRef, known], this.#gitOpts());
      } else if (!(await isAncestor(known, local, this.#gitOpts()))) {
        await this.#integrate(known);
      }
    }
    if (
      remoteTip && remoteTip === known &&
      (!pushed || await isAncestor(pushed, remoteTip, this.#gitOpts()))
    ) return "same";
    if (!remoteTip) {
      if (!pushed && !known) return "same";
      await this.#git(["update-ref", "-d", this.#remoteRef]);
      this.#notices.push({
        kind: "deleted",
        message: "the remote branch is gone: everything pushed before is pushed again",
        dropped: [],
      });
      return "deleted";
    }
    const have = (await this.#git(["cat-file", "-t", remoteTip])).stdout.trim() === "commit";
    if (
      have && pushed && remoteTip !== pushed &&
      (await isAncestor(remoteTip, pushed, this.#gitOpts()))
    ) {
      await gitChecked(["update-ref", this.#remoteRef, remoteTip], this.#gitOpts());
      this.#notices.push({
        kind: "rewound",
        message:
          "the remote branch went back to an older commit (a restored backup or a reset): what it lost is pushed again",
        dropped: [],
      });
      return "rewound";
    }
    const before = this.#notices.length;
    await this.#integrate(await this.fetch());
    return this.#notices.at(before)?.kind ?? "moved";
  }

  /** Folders a replay moved since the last call, by old name (the caller records them). */
  takeMoves(): Map<string, FolderMove> {
    const moves = this.#moves;
    this.#moves = new Map();
    return moves;
  }

  /** What the remote did since the last call that people should hear about. */
  takeNotices(): RemoteNotice[] {
    const notices = this.#notices;
    this.#notices = [];
    return notices;
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
      partial: this.#partial,
    });
  }
}

/** The last lines of git's stderr, without progress noise. */
function lastLines(stderr: string): string {
  return clipText(stderr).split(/[\r\n]+/).filter((line) =>
    line.trim() &&
    !/^(remote: )?(Counting|Compressing|Receiving|Resolving|Enumerating|Total)/.test(line)
  ).slice(-3).join("\n").trim().slice(0, 500);
}

/** True when `gitDir` is a clone that holds only part of the branch (shallow or filtered). */
export async function isPartialClone(gitDir: string): Promise<boolean> {
  try {
    await Deno.lstat(join(gitDir, "shallow"));
    return true;
  } catch {
    // not shallow
  }
  try {
    return /partialclone\s*=/i.test(await Deno.readTextFile(join(gitDir, "config")));
  } catch {
    return false;
  }
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
