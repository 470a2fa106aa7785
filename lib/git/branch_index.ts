/**
 * What a recordings branch holds, read from a git directory with plumbing
 * only (hermetic {@linkcode git}): the chunks of every recording with their
 * `Cast-Sha256` trailers, the manifests, and blob contents streamed through
 * one `git cat-file --batch`. This is what `restore`, `list` and `verify`
 * read, and what the daemon uses to rebuild a lost checkpoint
 * ({@linkcode resumePointFor}).
 *
 * Ids may hold spaces, quotes, unicode or a leading dash: every listing uses
 * `-z` output, and paths are passed after `--` as literal pathspecs.
 *
 * @module
 */
import { z } from "zod";
import { manifestPathOnBranch, parseChunkName } from "../chunk/mod.ts";
import { git, GitError } from "./hermetic.ts";

/** One chunk file on the branch. */
export interface ChunkEntry {
  /** Recording (chunk folder) id. */
  id: string;
  /** Sequence number from the name. */
  seq: number;
  /** First byte of the `.cast` it holds (inclusive). */
  start: number;
  /** End of its range (exclusive). */
  end: number;
  /** Path on the branch: `chunks/<id>/<name>`. */
  path: string;
  /** Blob id of the compressed chunk. */
  blob: string;
  /** Compressed size in bytes. */
  size: number;
  /** Encrypted with age (`.cast.zst.age`): `age(zstd(bytes))`. */
  encrypted?: boolean;
  /** sha256 (hex) of the raw bytes, from the `Cast-Sha256` trailer of the chunk's commit. */
  sha256?: string;
  /** The commit that carried the trailers. */
  commit?: string;
  /** Committer time of that commit (Unix seconds). */
  committedAt?: number;
}

/** A file under `chunks/` that is not a chunk. */
export interface StrayFile {
  /** Path on the branch. */
  path: string;
  /** The recording folder it sits in, when there is one. */
  id?: string;
  /** Why it is not a chunk. */
  reason: string;
}

/** Everything a branch holds about recordings. */
export interface BranchIndex {
  /** The ref read. */
  ref: string;
  /** The commit the ref pointed to (every read used this commit). */
  tip: string;
  /** Chunks by id, sorted by sequence then start. */
  chunks: Map<string, ChunkEntry[]>;
  /** Manifest blobs by id (`recordings/<id>/manifest.json`, or `manifest.json.age` encrypted). */
  manifests: Map<string, { path: string; blob: string; encrypted?: boolean }>;
  /** Other files beside a manifest (`recordings/<id>/<name>`, e.g. the text index), by id and name. */
  files: Map<string, Map<string, { path: string; blob: string; size: number }>>;
  /** Files under `chunks/` that are not chunks. */
  stray: StrayFile[];
}

/** Options for reading a branch. */
export interface BranchReadOptions {
  /** Only these recordings (default: every one on the branch). */
  ids?: string[];
  /** Daemon-owned git config (`GIT_CONFIG_GLOBAL`). */
  globalConfig?: string;
  /** Abort. */
  signal?: AbortSignal;
  /** Timeout per git call (default 120 s). */
  timeoutMs?: number;
}

/** A recording's manifest (`recordings/<id>/manifest.json`); unknown keys are kept. */
export const ManifestSchema = z.looseObject({
  id: z.string().min(1),
  total_bytes: z.number().int().min(0),
  chunks: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable().optional(),
  started: z.string().nullable().optional(),
  ended: z.string().nullable().optional(),
});

/** A parsed manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;

/** Thrown when a manifest is not valid JSON or misses fields. */
export class ManifestError extends Error {
  /** Path of the manifest on the branch. */
  readonly path: string;
  /** Creates the error. */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "ManifestError";
    this.path = path;
  }
}

/** Parses manifest bytes; throws a {@linkcode ManifestError} naming the problem. */
export function parseManifest(bytes: Uint8Array | string, path: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ManifestError(path, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(path, `${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
  }
  return parsed.data;
}

function gitOptions(gitDir: string, options: BranchReadOptions) {
  return {
    gitDir,
    globalConfig: options.globalConfig,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 120_000,
  };
}

/** The commit `ref` points to, or `undefined` when there is no such ref. */
export async function resolveTip(
  gitDir: string,
  ref: string,
  options: BranchReadOptions = {},
): Promise<string | undefined> {
  const result = await git(
    ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`],
    gitOptions(gitDir, options),
  );
  return result.success ? result.stdout.trim() : undefined;
}

function trailerKey(id: string, seq: number, start: number, end: number): string {
  return `${id}\0${seq}\0${start}\0${end}`;
}

/** Trailers of one chunk commit. */
export interface ChunkTrailers {
  /** `Cast-Id`. */
  id: string;
  /** `Cast-Seq`. */
  seq: number;
  /** `Cast-Range` start. */
  start: number;
  /** `Cast-Range` end. */
  end: number;
  /** `Cast-Sha256`, when present. */
  sha256?: string;
}

/** Reads the `Cast-*` trailers of a commit message; `undefined` unless it is a chunk commit. */
export function parseChunkTrailers(message: string): ChunkTrailers | undefined {
  const values = new Map<string, string>();
  for (const line of message.split("\n")) {
    const match = /^Cast-(Id|Seq|Range|Sha256): ?(.*)$/.exec(line);
    if (match) values.set(match[1], match[2].replace(/\r$/, ""));
  }
  const id = values.get("Id");
  const seq = values.get("Seq");
  const range = /^(\d+)-(\d+)$/.exec(values.get("Range") ?? "");
  if (!id || !seq || !/^\d+$/.test(seq) || !range) return undefined;
  const sha = values.get("Sha256")?.trim().toLowerCase();
  return {
    id,
    seq: Number(seq),
    start: Number(range[1]),
    end: Number(range[2]),
    sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined,
  };
}

function pathspecs(options: BranchReadOptions, top: "chunks" | "recordings"): string[] {
  return options.ids ? options.ids.map((id) => `${top}/${id}/`) : [`${top}/`];
}

/**
 * Reads the branch at `ref` of the repository `gitDir`: chunk names from one
 * `git ls-tree`, their trailers from one `git log`. Returns `undefined` when
 * the ref does not exist.
 */
export async function readBranchIndex(
  gitDir: string,
  ref: string,
  options: BranchReadOptions = {},
): Promise<BranchIndex | undefined> {
  const tip = await resolveTip(gitDir, ref, options);
  if (!tip) return undefined;
  const opts = gitOptions(gitDir, options);
  const index: BranchIndex = {
    ref,
    tip,
    chunks: new Map(),
    manifests: new Map(),
    files: new Map(),
    stray: [],
  };
  if (options.ids?.length === 0) return index;

  const lsArgs = [
    "--literal-pathspecs",
    "ls-tree",
    "-r",
    "-l",
    "-z",
    "--full-tree",
    tip,
    "--",
    ...pathspecs(options, "chunks"),
    ...pathspecs(options, "recordings"),
  ];
  const listed = await git(lsArgs, opts);
  if (!listed.success) throw new GitError(lsArgs.slice(1), listed);
  const wanted = options.ids ? new Set(options.ids) : undefined;
  for (const record of listed.stdout.split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    if (tab < 0) continue;
    const [, type, blob, size] = record.slice(0, tab).split(/\s+/);
    const path = record.slice(tab + 1);
    const slash = path.indexOf("/");
    const top = path.slice(0, slash);
    const rest = path.slice(slash + 1);
    const idEnd = rest.indexOf("/");
    if (idEnd <= 0) {
      if (top === "chunks") index.stray.push({ path, reason: "not inside a recording folder" });
      continue;
    }
    const id = rest.slice(0, idEnd);
    const name = rest.slice(idEnd + 1);
    if (wanted && !wanted.has(id)) continue;
    if (top === "recordings") {
      if (path === manifestPathOnBranch(id) && type === "blob") {
        index.manifests.set(id, { path, blob });
      } else if (path === manifestPathOnBranch(id, { encrypted: true }) && type === "blob") {
        index.manifests.set(id, { path, blob, encrypted: true });
      } else if (type === "blob" && !name.includes("/")) {
        if (!index.files.has(id)) index.files.set(id, new Map());
        index.files.get(id)!.set(name, { path, blob, size: Number(size) || 0 });
      }
      continue;
    }
    const range = type === "blob" && !name.includes("/") ? parseChunkName(name) : undefined;
    if (!range) {
      index.stray.push({
        path,
        id,
        reason: "not a chunk name (<seq>_<start>-<end>.cast.zst, or .cast.zst.age encrypted)",
      });
      continue;
    }
    let list = index.chunks.get(id);
    if (!list) index.chunks.set(id, list = []);
    list.push({ id, ...range, path, blob, size: Number(size) || 0 });
  }
  if (index.chunks.size === 0) return index;

  // Trailers of every chunk commit, in one call; the oldest commit naming a
  // chunk (the one that created it) wins.
  const logArgs = [
    "--literal-pathspecs",
    "log",
    "-z",
    "--format=%H%n%ct%n%B",
    tip,
    "--",
    ...pathspecs(options, "chunks"),
  ];
  const log = await git(logArgs, opts);
  if (!log.success) throw new GitError(logArgs.slice(1), log);
  const trailers = new Map<string, { sha256?: string; commit: string; committedAt: number }>();
  for (const record of log.stdout.split("\0")) {
    const first = record.indexOf("\n");
    if (first < 0) continue;
    const second = record.indexOf("\n", first + 1);
    const commit = record.slice(0, first).trim();
    const committedAt = Number(record.slice(first + 1, second < 0 ? undefined : second));
    const parsed = parseChunkTrailers(second < 0 ? "" : record.slice(second + 1));
    if (!parsed) continue;
    trailers.set(trailerKey(parsed.id, parsed.seq, parsed.start, parsed.end), {
      sha256: parsed.sha256,
      commit,
      committedAt,
    });
  }
  for (const list of index.chunks.values()) {
    for (const entry of list) {
      const found = trailers.get(trailerKey(entry.id, entry.seq, entry.start, entry.end));
      if (found) {
        entry.commit = found.commit;
        entry.committedAt = found.committedAt;
        if (found.sha256) entry.sha256 = found.sha256;
      }
    }
    list.sort((a, b) => a.seq - b.seq || a.start - b.start || a.end - b.end);
  }
  return index;
}

/**
 * The chunks of every recording on `ref` (or of `options.ids`), by id,
 * sorted by sequence. Empty when the ref does not exist.
 */
export async function listBranchChunks(
  gitDir: string,
  ref: string,
  options: BranchReadOptions = {},
): Promise<Map<string, ChunkEntry[]>> {
  return (await readBranchIndex(gitDir, ref, options))?.chunks ?? new Map();
}

/**
 * Reads `recordings/<id>/manifest.json` on `ref`; `undefined` when there is
 * none (the recording is still in progress). Throws a {@linkcode ManifestError}
 * when it is unreadable.
 */
export async function readManifest(
  gitDir: string,
  ref: string,
  id: string,
  options: BranchReadOptions = {},
): Promise<Manifest | undefined> {
  const path = manifestPathOnBranch(id);
  const result = await git(
    ["cat-file", "blob", `${ref}:${path}`],
    gitOptions(gitDir, options),
  );
  if (!result.success) {
    if (
      /does not exist|not a valid object|invalid object name|path .* does not/i.test(result.stderr)
    ) {
      return undefined;
    }
    throw new GitError(["cat-file"], result);
  }
  return parseManifest(result.stdout, path);
}
