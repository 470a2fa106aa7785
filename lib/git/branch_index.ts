/**
 * What a recordings branch holds, read from a git directory with plumbing
 * only (hermetic {@linkcode git}): the chunks of every recording, their
 * details (the sha256 of the raw bytes and when each was committed), the
 * manifests and the other files of a recording. This is what `restore`,
 * `list`, `verify`, `text`, `search`, `reindex` and `play` read, and what
 * the daemon uses to rebuild a lost checkpoint ({@linkcode resumePointFor}).
 *
 * Reads cost the recordings read, not the branch's history (DESIGN.md
 * invariant 18): names and sizes come from one `git ls-tree` of the tip,
 * details from the chunks' records beside them
 * (`recordings/<id>/chunks/<seq>_<start>-<end>`, lib/chunk/chunk_sum.ts),
 * read through `git cat-file --batch` when asked for. Only chunks without a
 * record (pushed before records existed) take theirs from the trailers of
 * their commits (lib/git/chunk_history.ts), one `git log` for those
 * recordings.
 *
 * Ids may hold spaces, quotes, unicode or a leading dash: every listing uses
 * `-z` output, and paths are passed after `--` as literal pathspecs.
 *
 * @module
 */
import { errorMessage } from "../sys/mod.ts";
import { z } from "zod";
import {
  CHUNK_SUM_MAX_BYTES,
  CHUNK_SUMS_FOLDER,
  manifestPathOnBranch,
  parseChunkName,
  parseChunkSum,
  parseChunkSumName,
} from "../chunk/mod.ts";
import { git, GitError } from "./hermetic.ts";
import { BlobReader } from "./blob_reader.ts";
import { chunkTrailersFromHistory, trailerKey } from "./chunk_history.ts";

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
  /**
   * sha256 (hex) of the raw bytes: from the chunk's record, else the
   * `Cast-Sha256` trailer of its commit (never for an encrypted chunk).
   * Set once its details are loaded ({@linkcode loadChunkDetails}).
   */
  sha256?: string;
  /** The commit that carried the trailers (only when they came from the history). */
  commit?: string;
  /** When the chunk was committed (Unix seconds), once its details are loaded. */
  committedAt?: number;
  /** Blob of the chunk's record (`recordings/<id>/chunks/<seq>_<start>-<end>`), when there is one. */
  record?: string;
  /** Size of that blob. */
  recordSize?: number;
  /** Its details were looked up (found or not). */
  detailed?: boolean;
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
  /** The repository read. */
  gitDir: string;
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
  /** See {@linkcode BranchReadOptions.deepen} (dropped once called). */
  deepen?: () => Promise<void>;
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
  /**
   * Fetches the history a shallow copy lacks; called once, before the only
   * history walk (chunks without a record).
   */
  deepen?: () => Promise<void>;
  /**
   * Which chunks' details (sha256, commit time) to load: `all` (default),
   * `ends` (the first and last chunk of each recording: `list`), or `none`
   * (loaded later with {@linkcode loadChunkDetails}).
   */
  details?: "all" | "ends" | "none";
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
    throw new ManifestError(path, `not valid JSON (${errorMessage(error)})`);
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

function pathspecs(options: BranchReadOptions, top: "chunks" | "recordings"): string[] {
  return options.ids ? options.ids.map((id) => `${top}/${id}/`) : [`${top}/`];
}

/**
 * Reads the branch at `ref` of the repository `gitDir`: chunk names, sizes
 * and records from one `git ls-tree` of the tip, then the details asked for
 * (`options.details`). Returns `undefined` when the ref does not exist.
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
    gitDir,
    ref,
    tip,
    chunks: new Map(),
    manifests: new Map(),
    files: new Map(),
    stray: [],
    deepen: options.deepen,
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
  const records = new Map<string, { blob: string; size: number }>();
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
      const record = name.startsWith(`${CHUNK_SUMS_FOLDER}/`) && type === "blob"
        ? parseChunkSumName(name.slice(CHUNK_SUMS_FOLDER.length + 1))
        : undefined;
      if (record) {
        records.set(trailerKey({ id, ...record }), {
          blob,
          size: Number(size) || 0,
        });
      } else if (path === manifestPathOnBranch(id) && type === "blob") {
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
  for (const list of index.chunks.values()) {
    for (const entry of list) {
      const record = records.get(trailerKey(entry));
      if (record) Object.assign(entry, { record: record.blob, recordSize: record.size });
    }
    list.sort((a, b) => a.seq - b.seq || a.start - b.start || a.end - b.end);
  }
  const details = options.details ?? "all";
  if (details !== "none" && index.chunks.size > 0) {
    const reader = BlobReader.open(gitDir, {
      globalConfig: options.globalConfig,
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
    try {
      await loadChunkDetails(index, reader, { ...options, ends: details === "ends" });
    } finally {
      await reader.close();
    }
  }
  return index;
}

/** Options of {@linkcode loadChunkDetails}. */
export interface ChunkDetailsOptions extends Omit<BranchReadOptions, "details" | "deepen"> {
  /** Only the first and last chunk of each recording. */
  ends?: boolean;
}

/**
 * Loads the details (sha256, commit time) of the chunks of `options.ids`
 * (default: every recording in `index`) that do not have them yet: from
 * their records through `reader`, all requests at once; chunks without a
 * usable record take them from their commits' trailers (one `git log` of
 * just those recordings: the only history walk, for branches written
 * before records existed).
 */
export async function loadChunkDetails(
  index: BranchIndex,
  reader: BlobReader,
  options: ChunkDetailsOptions = {},
): Promise<void> {
  const wanted: ChunkEntry[] = [];
  for (const id of options.ids ?? index.chunks.keys()) {
    const list = index.chunks.get(id) ?? [];
    const chosen = options.ends && list.length > 2 ? [list[0], list[list.length - 1]] : list;
    wanted.push(...chosen.filter((entry) => !entry.detailed));
  }
  const withRecord = wanted.filter((entry) =>
    entry.record && (entry.recordSize ?? 0) <= CHUNK_SUM_MAX_BYTES
  );
  const bodies = await reader.readSmall(withRecord.map((e) => e.record!), CHUNK_SUM_MAX_BYTES);
  const decoder = new TextDecoder();
  withRecord.forEach((entry, i) => {
    const body = bodies[i];
    const sum = body ? parseChunkSum(decoder.decode(body)) : undefined;
    if (!sum || sum.committed === undefined || (!sum.sha256 && !entry.encrypted)) return;
    entry.committedAt = sum.committed;
    if (sum.sha256) entry.sha256 = sum.sha256;
    entry.detailed = true;
  });
  const rest = wanted.filter((entry) => !entry.detailed);
  if (rest.length === 0) return;
  const deepen = index.deepen;
  index.deepen = undefined;
  await deepen?.();
  const found = await chunkTrailersFromHistory(index.tip, [...new Set(rest.map((e) => e.id))], {
    ...gitOptions(index.gitDir, options),
  });
  for (const entry of rest) {
    const trailers = found.get(trailerKey(entry));
    if (trailers) {
      entry.commit = trailers.commit;
      entry.committedAt = trailers.committedAt;
      if (trailers.sha256) entry.sha256 = trailers.sha256;
    }
    entry.detailed = true;
  }
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
