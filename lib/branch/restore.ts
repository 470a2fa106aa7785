/**
 * Restores one recording from its branch: the chunks of `<id>` in sequence
 * order, streamed out of git (`git cat-file --batch`) into a temporary file
 * in a private folder beside the output, which is then fsynced and moved
 * into place. Every byte is hashed once: with a manifest, one `zstd -d`
 * writes the whole file and its sha256 is checked against the manifest's
 * (lib/branch/restore_stream.ts); only when that fails are the chunks hashed one by
 * one, to name the bad one. Without a manifest each chunk goes through its
 * own `zstd -d` and is checked against its `Cast-Sha256`. Nothing is written
 * when a check fails, and an existing file is never replaced without
 * `force`. A recording without a manifest is still in progress (or its
 * machine died): it restores up to the last pushed byte and is labelled
 * partial.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { BlobReader, displayUrl, type Manifest, readBranchIndex } from "../git/mod.ts";
import {
  errorMessage,
  fsyncDir,
  type HomePaths,
  KindedError,
  tempPathFor,
  writeFully,
} from "../sys/mod.ts";
import {
  BranchSourceError,
  type BranchSourceOptions,
  openBranch,
  readBranchRecordings,
} from "./source.ts";
import { readableRemotes } from "./remote_lookup.ts";
import { loadManifest, type ScanOptions, scanRecording } from "./verify.ts";
import { type Problem, problemSummary } from "./layout.ts";
import { decompressAll } from "./restore_stream.ts";
import { ChunkDecryptError } from "./chunk_stream.ts";

/** Options for {@linkcode restoreRecording}. */
export interface RestoreOptions extends BranchSourceOptions {
  /** Output file (default `./<id>.cast`); an existing directory gets `<id>.cast` inside it. */
  output?: string;
  /** Replace an existing output file. */
  force?: boolean;
}

/** What {@linkcode restoreRecording} wrote. */
export interface RestoreResult {
  /** Recording id. */
  id: string;
  /** Absolute path written. */
  output: string;
  /** Bytes written. */
  bytes: number;
  /** Chunks restored. */
  chunks: number;
  /** No manifest: restored up to the last pushed byte of a recording in progress. */
  partial: boolean;
  /** sha256 of the file written (absent for a partial restore: only its chunks were hashed). */
  sha256?: string;
  /** The manifest, when the recording is complete. */
  manifest?: Manifest;
  /** Committer time of the last chunk (Unix seconds), when known. */
  lastCommit?: number;
  /** Remote read. */
  url: string;
  /** Branch read. */
  branch: string;
  /** How the branch was read. */
  via: string;
  /** Fallback notes and unchecked chunks. */
  notes: string[];
}

/** Why a restore failed (`identity`: encrypted, and no identity that decrypts it). */
export type RestoreErrorKind = "exists" | "not_found" | "damaged" | "identity";

/** A restore that failed; nothing was written. */
export class RestoreError extends KindedError<RestoreErrorKind> {
  /** The problems found (for `damaged`). */
  readonly problems: Problem[];
  /** Creates the error; `problems` are those found (for `damaged`). */
  constructor(kind: RestoreErrorKind, message: string, problems: Problem[] = []) {
    super(kind, message);
    this.problems = problems;
  }
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The output path for `id`: `output` (or its `<id>.cast` when it is a directory), else `./<id>.cast`. */
async function outputPathFor(
  id: string,
  options: { output?: string; cwd?: string } = {},
): Promise<string> {
  const cwd = options.cwd ?? Deno.cwd();
  if (!options.output) return resolve(cwd, `${id}.cast`);
  const path = resolve(cwd, options.output);
  const info = await statOrUndefined(path);
  return info?.isDirectory ? join(path, `${id}.cast`) : path;
}

function existsMessage(path: string): string {
  return `${path} already exists: pass --force to replace it, or -o to write elsewhere.`;
}

/** Moves the finished temporary file into place (never over an existing file without `force`). */
async function publish(tmp: string, output: string, force: boolean): Promise<void> {
  if (force) {
    await Deno.rename(tmp, output);
    return;
  }
  try {
    // link() fails when the target exists: no window where a file appearing meanwhile is lost.
    await Deno.link(tmp, output);
    await Deno.remove(tmp);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new RestoreError("exists", existsMessage(output));
    }
    if (await statOrUndefined(output)) throw new RestoreError("exists", existsMessage(output));
    await Deno.rename(tmp, output); // filesystems without hard links
  }
}

/** What {@linkcode writeChecked} wrote and found. */
interface Written {
  bytes: number;
  sha256?: string;
  partial: boolean;
  lastCommit?: number;
  problems: Problem[];
  warnings: string[];
}

/**
 * Writes the recording to `tmp`, hashing every byte once: with a manifest
 * sha256, one `zstd -d` for all chunks and the whole file against the
 * manifest (per-chunk hashes only to name the bad chunk when that fails);
 * without one, chunk by chunk against each `Cast-Sha256`.
 */
async function writeChecked(
  id: string,
  options: Omit<ScanOptions, "sink" | "stopOnProblem" | "wholeFileHash"> & { tmp: string },
): Promise<Written> {
  const { tmp, ...scan } = options;
  const manifest = options.manifest;
  const layout = await scanRecording(id, { ...scan, layoutOnly: true });
  if (layout.problems.length) return { ...layout, bytes: 0, sha256: undefined };
  if (manifest?.sha256 && options.entries.length) {
    const entries = [...options.entries].sort((a, b) => a.seq - b.seq || a.start - b.start);
    const whole = await decompressAll(options.reader, entries, tmp, {
      signal: options.signal,
      identities: options.identities,
    });
    if (whole.ok && whole.sha256 === manifest.sha256 && whole.bytes === manifest.total_bytes) {
      return { ...layout, bytes: whole.bytes, sha256: whole.sha256 };
    }
    // Name the bad chunk: hash chunk by chunk (nothing written).
    const named = await scanRecording(id, { ...scan, stopOnProblem: true });
    if (named.problems.length) return { ...named, bytes: 0, sha256: undefined };
    await Deno.remove(tmp).catch(() => {}); // every check passed this time: write it chunk by chunk
  }
  let bytes = 0;
  using file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  const report = await scanRecording(id, {
    ...scan,
    stopOnProblem: true,
    wholeFileHash: Boolean(manifest?.sha256),
    sink: async (block) => {
      await writeFully(file, block);
      bytes += block.length;
    },
  });
  return { ...report, bytes };
}

/**
 * Restores recording `id` to a file (default `./<id>.cast`). Throws a
 * {@linkcode RestoreError} (`exists`, `not_found`, `damaged` with the
 * problems) or a `BranchSourceError` when the branch cannot be read.
 */
export async function restoreRecording(
  id: string,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const output = await outputPathFor(id, options);
  if (!options.force && (await statOrUndefined(output))) {
    throw new RestoreError("exists", existsMessage(output));
  }
  const source = await openBranch({ ...options, id });
  try {
    const index = await readBranchIndex(source.gitDir, source.ref, {
      ids: [id],
      deepen: source.deepen,
      signal: options.signal,
    });
    const entries = index?.chunks.get(id) ?? [];
    if (!index || (entries.length === 0 && !index.manifests.has(id))) {
      throw new RestoreError(
        "not_found",
        `There is no recording ${JSON.stringify(id)} on ${source.branch} of ${source.url}: ` +
          "run `daemon.ts list` to see the recordings there.",
      );
    }
    if (entries.some((entry) => entry.encrypted) || index.manifests.get(id)?.encrypted) {
      // Before anything is written: an encrypted recording needs an identity.
      try {
        if (!options.identities) throw new Error("no identity was given: pass --identity FILE");
        await options.identities.get();
      } catch (error) {
        throw new RestoreError(
          "identity",
          `${id} is encrypted (age); nothing was written: ${errorMessage(error)}`,
        );
      }
    }
    const compressed = entries.reduce((sum, entry) => sum + entry.size, 0);
    const reader = BlobReader.open(source.gitDir, {
      signal: options.signal,
      timeoutMs: 600_000 + Math.ceil(compressed / (1 << 20)) * 2000,
    });
    // A private folder beside the output: zstd creates the file there, unreadable to others.
    const tmpDir = tempPathFor(output);
    const tmp = join(tmpDir, basename(output));
    let file: Deno.FsFile | undefined;
    try {
      const { manifest, problem, locked } = await loadManifest(index, id, reader, options);
      if (locked) throw new RestoreError("identity", `${id}: nothing was written: ${locked}`);
      await Deno.mkdir(dirname(output), { recursive: true });
      await Deno.mkdir(tmpDir, { mode: 0o700 });
      const report = await writeChecked(id, {
        entries,
        manifest,
        manifestProblem: problem,
        reader,
        tmp,
        signal: options.signal,
        identities: options.identities,
      }).catch((error) => {
        if (!(error instanceof ChunkDecryptError)) throw error;
        throw new RestoreError(
          error.kind === "corrupt" ? "damaged" : "identity",
          `${id} cannot be restored; nothing was written: ${error.message}`,
        );
      });
      if (report.problems.length) {
        const locked = report.problems.every((p) => p.kind === "undecryptable");
        throw new RestoreError(
          locked ? "identity" : "damaged",
          `${id} cannot be restored intact; nothing was written: ${
            problemSummary(report.problems)
          }`,
          report.problems,
        );
      }
      file = await Deno.open(tmp, { read: true, write: true });
      await file.sync();
      file.close();
      file = undefined;
      await publish(tmp, output, options.force ?? false);
      await fsyncDir(dirname(output));
      return {
        id,
        output,
        bytes: report.bytes,
        chunks: entries.length,
        partial: report.partial,
        sha256: report.sha256,
        manifest,
        lastCommit: report.lastCommit,
        url: source.url,
        branch: source.branch,
        via: source.via,
        notes: [...source.notes, ...report.warnings],
      };
    } finally {
      file?.close();
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
      await reader.close();
    }
  } finally {
    await source.close();
  }
}

/** One recording on the branch, as `list` shows it. */
export interface ListedRecording {
  /** Recording id. */
  id: string;
  /** A manifest exists: the recording ended and every chunk was pushed. */
  complete: boolean;
  /** Chunks on the branch. */
  chunks: number;
  /** Bytes of the `.cast` on the branch (manifest total, else the end of the last chunk). */
  bytes: number;
  /** Compressed bytes on the branch. */
  compressed: number;
  /** Start time: the manifest's, else when the first chunk was committed (ISO). */
  started: string | null;
  /** End time from the manifest; null while in progress. */
  ended: string | null;
  /** When the last chunk was committed (ISO). */
  last_chunk: string | null;
  /** Also on this machine: in `active/` (still recording) or `done/`. */
  local: "active" | "done" | null;
  /** The machine that recorded it, from the manifest (manifests written before it had none). */
  host?: string;
  /** The manifest could not be read. */
  manifest_error?: string;
  /** Its chunks or manifest are encrypted (age). */
  encrypted?: boolean;
  /** Encrypted, and the identity at hand cannot read its manifest (times and sizes from the chunks). */
  locked?: string;
}

/** What {@linkcode listRecordings} found. */
export interface ListResult {
  /** Remote read. */
  url: string;
  /** Branch read. */
  branch: string;
  /** How the branch was read. */
  via: string;
  /** Fallback notes. */
  notes: string[];
  /** Recordings, oldest first. */
  recordings: ListedRecording[];
}

function isoOf(seconds: number | undefined): string | null {
  return seconds === undefined ? null : new Date(seconds * 1000).toISOString();
}

async function localState(paths: HomePaths, names: string[]): Promise<"active" | "done" | null> {
  for (const [state, dir] of [["active", paths.active], ["done", paths.done]] as const) {
    for (const name of names) {
      if (await statOrUndefined(join(dir, `${name}.cast`)).catch(() => undefined)) return state;
    }
  }
  return null;
}

/** Lists the recordings on the branch (names, trailers and manifests only; no content read). */
export async function listRecordings(options: BranchSourceOptions): Promise<ListResult> {
  // The first and last chunk's details: when it started and when it was last pushed.
  const result = await readBranchRecordings(
    { ...options, details: "ends" },
    async ({ index, reader }) => {
      const recordings: ListedRecording[] = [];
      const ids = [...new Set([...index.chunks.keys(), ...index.manifests.keys()])];
      for (const id of ids) {
        const entries = index.chunks.get(id) ?? [];
        const { manifest, problem, locked } = await loadManifest(index, id, reader, options);
        const times = entries.map((e) => e.committedAt).filter((t) => t !== undefined);
        const origin = typeof manifest?.source === "string" ? manifest.source : undefined;
        const encrypted = entries.some((e) => e.encrypted) || index.manifests.get(id)?.encrypted;
        recordings.push({
          id,
          complete: manifest !== undefined || locked !== undefined,
          chunks: entries.length,
          bytes: manifest?.total_bytes ?? entries.reduce((max, e) => Math.max(max, e.end), 0),
          compressed: entries.reduce((sum, e) => sum + e.size, 0),
          started: manifest?.started ?? isoOf(times.length ? Math.min(...times) : undefined),
          ended: manifest?.ended ?? null,
          last_chunk: isoOf(times.length ? Math.max(...times) : undefined),
          local: await localState(options.paths, origin && origin !== id ? [id, origin] : [id]),
          ...(typeof manifest?.host === "string" && manifest.host ? { host: manifest.host } : {}),
          ...(problem ? { manifest_error: problem } : {}),
          ...(encrypted ? { encrypted: true } : {}),
          ...(locked ? { locked } : {}),
        });
      }
      return recordings;
    },
  );
  result.recordings.sort((a, b) =>
    (a.started ?? "").localeCompare(b.started ?? "") || a.id.localeCompare(b.id)
  );
  return result;
}

/** A known remote that could not be read (see {@linkcode listKnownRemotes}). */
export interface UnreadableRemote {
  /** Remote. */
  url: string;
  branch: string;
  /** Why (with the next step). */
  error: string;
}

/** One remote's recordings, or why it could not be read. */
export type RemoteListing = ListResult | UnreadableRemote;

/**
 * Lists every remote the daemon knows (lib/branch/remote_lookup.ts knownRemotes),
 * one {@linkcode ListResult} each, or the reason one could not be read. The
 * embedded `backup.git` is left out while it does not exist and other
 * remotes are known.
 */
export async function listKnownRemotes(options: BranchSourceOptions): Promise<RemoteListing[]> {
  const listings: RemoteListing[] = [];
  for (const remote of await readableRemotes(options.paths, { cwd: options.cwd })) {
    try {
      listings.push(
        await listRecordings({ ...options, repoUrl: remote.url, branch: remote.branch }),
      );
    } catch (error) {
      if (!(error instanceof BranchSourceError)) throw error;
      listings.push({ url: displayUrl(remote.url), branch: remote.branch, error: error.message });
    }
  }
  return listings;
}
