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
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  ensurePrivateDir,
  errorMessage,
  fsyncDir,
  KindedError,
  timeoutSignal,
  walkFiles,
} from "../sys/mod.ts";
import { chunkPathOnBranch, manifestPathOnBranch, readRange } from "../chunk/mod.ts";
import { git, type GitAuth, gitChecked, gitEnv, GitError } from "./hermetic.ts";
import { classifyGitError } from "./auth.ts";
import type { ErrorKind } from "../status/mod.ts";

/** Where a recording's chunks go. */
export interface RemoteTarget {
  /** Remote URL or local path. */
  url: string;
  /** Branch. */
  branch: string;
}

/** Resolves how git reaches a remote: the URL to use and any auth. */
export type AuthResolver = (url: string) => Promise<{ url: string; auth?: GitAuth }>;

/** A chunk to commit: its spool file and its place in the recording. */
export interface ChunkItem {
  /** Chunk id (folder on the branch). */
  id: string;
  /** Sequence number. */
  seq: number;
  /** Range start. */
  start: number;
  /** Range end. */
  end: number;
  /** sha256 of the raw bytes (never written to the branch for an encrypted chunk). */
  sha256: string;
  /** Encrypted with age (`.cast.zst.age`): no plaintext hash in its commit. */
  encrypted?: boolean;
  /** Spool file. */
  file: string;
}

/** A manifest to commit when a recording ends. */
export interface ManifestItem {
  /** Chunk id. */
  id: string;
  /** The manifest document. */
  manifest: Record<string, unknown>;
  /** The manifest encrypted with age: committed as `manifest.json.age` instead. */
  sealed?: Uint8Array;
}

/** A failed publish, classified. */
export class PublishError extends KindedError<ErrorKind> {}

/** The clone folder name of a remote+branch: readable part plus a hash. */
export function repoSlug(target: RemoteTarget): string {
  const tail = basename(target.url.replace(/\/+$/, "")).replace(/\.git$/, "") || "remote";
  const readable = `${tail}-${target.branch}`.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
  const hash = createHash("sha256").update(`${target.url}\n${target.branch}`).digest("hex");
  return `${readable}-${hash.slice(0, 10)}.git`;
}

/** C-style quoting of a path for git fast-import. */
export function quoteFastImportPath(path: string): string {
  let out = '"';
  for (const ch of path) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (code < 0x20 || code === 0x7f) out += "\\" + code.toString(8).padStart(3, "0");
    else out += ch;
  }
  return out + '"';
}

/** The commit message of a chunk, with its trailers. */
export function chunkCommitMessage(item: Omit<ChunkItem, "file">): string {
  return [
    `chunk ${item.id} #${item.seq} [${item.start}, ${item.end})`,
    "",
    `Cast-Id: ${item.id}`,
    `Cast-Seq: ${item.seq}`,
    `Cast-Range: ${item.start}-${item.end}`,
    // An encrypted chunk's plaintext hash stays on this machine (DESIGN.md invariant 14).
    ...(item.encrypted ? [] : [`Cast-Sha256: ${item.sha256}`]),
    "",
  ].join("\n");
}

const encoder = new TextEncoder();

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
  /**
   * Upkeep: every `every` pushes, repack when there are `loose` loose
   * objects or `packs` packs (default 50, 1000, 50).
   */
  upkeep?: { every: number; loose: number; packs: number };
}

/** One local bare clone of a remote branch. */
export class RepoClone {
  /** The remote and branch. */
  readonly target: RemoteTarget;
  /** The bare repository. */
  readonly gitDir: string;
  #options: RepoCloneOptions;
  #ready = false;
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
    await this.#git(["config", "remote.origin.url", this.target.url]);
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
      return await this.#options.authFor(this.target.url);
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
      "{url}",
      `+${this.#localRef}:${this.#remoteRef}`,
    ], options);
    if (!result.success) {
      if (/couldn't find remote ref|could not find remote ref/i.test(result.stderr)) {
        return undefined;
      }
      throw new PublishError(
        classifyGitError(result.stderr, { timedOut: result.timedOut }),
        `fetch failed: ${result.stderr.trim().slice(0, 500) || "timed out"}`,
      );
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
    let total = 0;
    for (const chunk of todo) total += (await Deno.stat(chunk.file)).size;
    const limit = timeoutSignal(
      120_000 + Math.ceil(total / (1 << 20)) * 2000,
      this.#options.signal,
    );
    const process = new Deno.Command("git", {
      // Chunks are zstd frames already: store them as they are. zlib on top
      // (core.compression: the pack, and the loose objects fast-import writes
      // for batches under fastimport.unpackLimit = 100 objects) and the delta
      // search against the previous blob (below --big-file-threshold) cost
      // more than zstd itself and save nothing.
      args: [
        "-c",
        "core.compression=0",
        "fast-import",
        "--quiet",
        "--done",
        "--big-file-threshold=64k",
      ],
      env: { ...gitEnv({ globalConfig: this.#options.globalConfig }), GIT_DIR: this.gitDir },
      clearEnv: true,
      cwd: this.gitDir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: limit.signal,
    }).spawn();
    const writer = process.stdin.getWriter();
    const stderr = new Response(process.stderr).text();
    const stdout = new Response(process.stdout).text();
    let first = true;
    const now = Math.floor(Date.now() / 1000);
    const header = (message: string) => {
      let text = `commit ${this.#localRef}\n` +
        `committer asciinema-chunker <asciinema-chunker@localhost> ${now} +0000\n` +
        `data ${encoder.encode(message).length}\n${message}\n`;
      if (first && parent) text += `from ${parent}\n`;
      first = false;
      return text;
    };
    try {
      for (const chunk of todo) {
        const info = await Deno.stat(chunk.file);
        await writer.write(encoder.encode(
          header(chunkCommitMessage(chunk)) +
            `M 100644 inline ${quoteFastImportPath(chunkPathOnBranch(chunk.id, chunk))}\n` +
            `data ${info.size}\n`,
        ));
        let copied = 0;
        const file = await Deno.open(chunk.file, { read: true });
        try {
          // One reused buffer: writer.write resolves once its bytes are written.
          for await (const block of readRange(file, 0, info.size)) {
            copied += block.length;
            await writer.write(block);
          }
          if ((await file.read(new Uint8Array(1))) !== null) copied++;
        } finally {
          file.close();
        }
        if (copied !== info.size) throw new Error(`${chunk.file} changed while committing`);
        await writer.write(encoder.encode("\n"));
      }
      for (const item of manifestTodo) {
        const body = item.sealed ?? encoder.encode(JSON.stringify(item.manifest, null, 2) + "\n");
        const path = manifestPathOnBranch(item.id, { encrypted: item.sealed !== undefined });
        await writer.write(encoder.encode(
          header(`manifest ${item.id}\n\nCast-Id: ${item.id}\n`) +
            `M 100644 inline ${quoteFastImportPath(path)}\n` +
            `data ${body.length}\n`,
        ));
        await writer.write(body);
        await writer.write(encoder.encode("\n"));
      }
      await writer.write(encoder.encode("done\n"));
      await writer.close();
    } catch (error) {
      await writer.abort().catch(() => {});
      await process.status;
      limit.clear();
      // A broken pipe only says fast-import died: what it said is the reason.
      const said = (await stderr.catch(() => "")).trim().slice(0, 500);
      throw new PublishError("disk", `git fast-import failed: ${said || (error as Error).message}`);
    }
    const [status, errText] = await Promise.all([process.status, stderr, stdout]);
    limit.clear();
    if (!status.success) {
      throw new PublishError("disk", `git fast-import failed: ${errText.trim().slice(0, 500)}`);
    }
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
        "{url}",
        `${this.#localRef}:${this.#localRef}`,
      ], options);
      if (result.success) {
        await gitChecked(["update-ref", this.#remoteRef, tip], this.#gitOpts());
        await this.#maintain();
        return tip;
      }
      const text = `${result.stdout}\n${result.stderr}`;
      const refused = remoteRefusal(result.stdout, result.stderr);
      if (refused) throw new PublishError("rejected", refused);
      const rejected = /\[rejected\]|non-fast-forward|fetch first|\(stale info\)/i.test(text) ||
        /^!\s/m.test(result.stdout);
      if (!rejected) {
        throw new PublishError(
          classifyGitError(result.stderr, { timedOut: result.timedOut }),
          `push failed: ${
            result.stderr.trim().slice(0, 500) || (result.timedOut ? "timed out" : "")
          }`,
        );
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
      for (const add of adds) {
        let path = add.path;
        const existing = await this.#git([
          "rev-parse",
          "--verify",
          "--quiet",
          `${remoteTip}:${path}`,
        ]);
        if (existing.success) {
          if (existing.stdout.trim() === add.blob) continue; // already there, identical
          // Another machine wrote this path: never overwrite, move ours.
          const match = /^(chunks|recordings)\/([^/]+)\/(.+)$/.exec(path);
          if (!match) continue;
          const newId = `${match[2]}~${host}`;
          this.#renames.set(match[2], newId);
          path = `${match[1]}/${newId}/${match[3]}`;
          text = text.replaceAll(`Cast-Id: ${match[2]}`, `Cast-Id: ${newId}`);
        }
        lines.push(`M ${add.mode} ${add.blob} ${quoteFastImportPath(path)}\n`);
      }
      if (lines.length === 0) continue;
      const body = encoder.encode(text);
      const now = Math.floor(Date.now() / 1000);
      stream.push(
        `commit refs/chunker/replay\n` +
          `committer asciinema-chunker <asciinema-chunker@localhost> ${now} +0000\n` +
          `data ${body.length}\n${text}\n` + (first ? `from ${remoteTip}\n` : "") + lines.join(""),
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

  /** Each fast-import batch leaves a pack: repack once there are many. */
  async #maintain(): Promise<void> {
    // Cheap check every 50 pushes: packs from fast-import and loose objects from small batches.
    const upkeep = this.#options.upkeep ?? { every: 50, loose: 1000, packs: 50 };
    this.#pushes++;
    if (this.#pushes % upkeep.every !== 0) return;
    const result = await this.#git(["count-objects", "-v"]);
    if (!result.success) return;
    const field = (name: string) =>
      Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(result.stdout)?.[1] ?? 0);
    if (field("count") < upkeep.loose && field("packs") < upkeep.packs) return;
    // Bounded: a repack that runs out of time leaves the old packs, and pushes go on.
    const repack = await this.#git(["repack", "-a", "-d", "-q"], { timeoutMs: 60_000 });
    if (repack.success) await this.#git(["prune-packed", "-q"], { timeoutMs: 30_000 });
  }

  /** Ids renamed because another machine had written the same path. */
  renames(): ReadonlyMap<string, string> {
    return this.#renames;
  }
}

/**
 * The remote's own refusal of a push (a hook, a quota, a protected branch):
 * `[remote rejected]` in the porcelain output, with what the remote said
 * (its `remote:` lines). Undefined for anything else, such as a
 * non-fast-forward rejection, which a fetch and replay fixes.
 */
export function remoteRefusal(stdout: string, stderr: string): string | undefined {
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

/** True when `gitDir` is a whole bare repository (HEAD, objects/, refs/). */
export async function isCompleteBare(gitDir: string): Promise<boolean> {
  try {
    const [head, objects, refs] = await Promise.all(
      ["HEAD", "objects", "refs"].map((name) => Deno.stat(join(gitDir, name))),
    );
    return head.isFile && objects.isDirectory && refs.isDirectory;
  } catch {
    return false;
  }
}

let initCounter = 0;

/**
 * Creates the bare repository `gitDir` all at once: `git init` into a
 * temporary folder beside it, then a rename, so a crash or a stop never
 * leaves half a repository. Something incomplete already there is moved
 * aside to `<gitDir>.broken-<time>`, never deleted.
 */
export async function initBareAtomically(
  gitDir: string,
  options: { globalConfig?: string; signal?: AbortSignal } = {},
): Promise<void> {
  if (await isCompleteBare(gitDir)) return;
  const parent = dirname(gitDir);
  await ensurePrivateDir(parent);
  try {
    await Deno.lstat(gitDir);
    await Deno.rename(gitDir, `${gitDir}.broken-${Date.now()}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const tmp = join(parent, `.${basename(gitDir)}.tmp-${Deno.pid}-${++initCounter}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await ensurePrivateDir(tmp);
  try {
    const result = await git(["init", "--bare", "--quiet", tmp], options);
    if (!result.success) throw new GitError(["init"], result);
    await Deno.rename(tmp, gitDir);
    await fsyncDir(parent);
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Creates `backup.git` (the embedded default remote) when missing. */
export async function ensureEmbeddedRemote(
  gitDir: string,
  options: { globalConfig?: string } = {},
): Promise<void> {
  await initBareAtomically(gitDir, options);
}

/**
 * Removes git lock files left by a git process that died with the machine
 * (only this daemon uses its clones, and only one daemon runs per home).
 */
async function removeStaleLocks(gitDir: string): Promise<void> {
  const candidates = ["HEAD.lock", "config.lock", "packed-refs.lock", "index.lock", "shallow.lock"];
  for (const name of candidates) await Deno.remove(join(gitDir, name)).catch(() => {});
  for (const path of await walkFiles(join(gitDir, "refs"))) {
    if (path.endsWith(".lock")) await Deno.remove(path).catch(() => {});
  }
}
