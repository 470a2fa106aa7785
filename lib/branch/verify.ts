/**
 * Checks recordings on a branch without writing anything: the chunk ranges
 * tile `[0, end)` with no gap or overlap, every chunk decompresses to exactly
 * its range's length and matches its `Cast-Sha256` trailer, and the manifest
 * (when there is one) agrees on size, chunk count and total sha256. Each
 * problem names the chunk and byte range. `restore` runs the same scan with
 * a sink that writes the bytes. Encrypted chunks are read through
 * lib/branch/chunk_stream.ts; one the identity cannot decrypt is reported,
 * by range, as `undecryptable`.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import {
  BlobMissingError,
  BlobReader,
  BlobTooLargeError,
  type BranchIndex,
  type ChunkEntry,
  loadChunkDetails,
  type Manifest,
  ManifestError,
  parseManifest,
} from "../git/mod.ts";
import { ChunkDecryptError, type DecryptOptions, manifestBytes } from "./chunk_stream.ts";
import { type BranchSourceOptions, readBranchRecordings } from "./source.ts";
import { checkLayout, chunkLabel, type Problem } from "./layout.ts";
import { checkChunk, unhashedWarning } from "./chunk_check.ts";
import { type DecodedRun, decodeInOrder } from "./stream_decode.ts";

/** The result of checking one recording. */
export interface RecordingReport {
  /** Recording id. */
  id: string;
  /** Chunks on the branch. */
  chunks: number;
  /** End of the last chunk (bytes the branch holds when there is no problem). */
  bytes: number;
  /** Compressed bytes on the branch. */
  compressed: number;
  /** A manifest exists: the recording ended and is complete. */
  complete: boolean;
  /** No manifest: the recording is (or was, when its machine died) still in progress. */
  partial: boolean;
  /** The manifest, when there is a readable one. */
  manifest?: Manifest;
  /** sha256 of all decompressed bytes in order (when the content was scanned). */
  sha256?: string;
  /** Committer time of the first and last chunk commits (Unix seconds). */
  firstCommit?: number;
  /** See firstCommit. */
  lastCommit?: number;
  /** Problems found (empty: all good). */
  problems: Problem[];
  /** Things that could not be checked (for example a chunk without a Cast-Sha256 trailer). */
  warnings: string[];
}

/** Options for {@linkcode scanRecording}. */
export interface ScanOptions {
  /** The recording's chunks on the branch. */
  entries: ChunkEntry[];
  /** Its manifest, when there is one. */
  manifest?: Manifest;
  /** A problem met while reading the manifest. */
  manifestProblem?: string;
  /** Where blobs are read from. */
  reader: BlobReader;
  /** Receives the decompressed bytes in order (restore writes them). */
  sink?: (block: Uint8Array) => Promise<void>;
  /** Stop at the first problem (restore: nothing more is worth writing). */
  stopOnProblem?: boolean;
  /** Only the structural checks (no content read). */
  layoutOnly?: boolean;
  /**
   * Hash all bytes in order against the manifest (default true). Restore
   * without a manifest turns it off: each chunk is hashed once, against its
   * `Cast-Sha256`, and `sha256` stays unset.
   */
  wholeFileHash?: boolean;
  /**
   * Read only the chunks starting at or after this byte (a reader following
   * a recording has the rest); the layout is still checked whole.
   */
  from?: number;
  /** Read only the chunks starting before this byte (a reader that needs a range). */
  until?: number;
  signal?: AbortSignal;
  /** Identities for encrypted chunks (looked up when one is met). */
  identities?: DecryptOptions["identities"];
}

/**
 * Checks one recording: layout first, then every chunk's content: all of
 * them through one `zstd -d` (lib/branch/stream_decode.ts), split at the
 * chunks' lengths and each piece checked against its sha256; only what that
 * pass cannot vouch for is decoded again chunk by chunk, to name the bad one.
 */
export async function scanRecording(id: string, options: ScanOptions): Promise<RecordingReport> {
  const entries = [...options.entries].sort((a, b) => a.seq - b.seq || a.start - b.start);
  const manifest = options.manifest;
  const problems = checkLayout(id, entries, manifest);
  if (options.manifestProblem) {
    problems.push({ kind: "manifest", id, message: options.manifestProblem });
  }
  const times = entries.map((entry) => entry.committedAt).filter((t) => t !== undefined);
  const report: RecordingReport = {
    id,
    chunks: entries.length,
    bytes: entries.reduce((max, entry) => Math.max(max, entry.end), 0),
    compressed: entries.reduce((sum, entry) => sum + entry.size, 0),
    complete: manifest !== undefined,
    partial: manifest === undefined,
    manifest,
    firstCommit: times.length ? Math.min(...times) : undefined,
    lastCommit: times.length ? Math.max(...times) : undefined,
    problems,
    warnings: [],
  };
  if (entries.length === 0 && !manifest) {
    problems.push({ kind: "missing", id, message: `no chunks of ${id} on the branch` });
  }
  if (options.layoutOnly || (options.stopOnProblem && problems.length)) return report;
  const todo = entries.filter((entry) =>
    (options.from === undefined || entry.start >= options.from) &&
    (options.until === undefined || entry.start < options.until)
  );
  let total = options.wholeFileHash === false ? undefined : createHash("sha256");
  let checked = false;
  if (todo.length > 1) {
    // One zstd for them all; chunk by chunk only for what it could not vouch for.
    const vouched = await scanInOrder(todo, options, report, total);
    if (vouched === todo.length) {
      checked = true;
    } else if (options.sink) {
      // The sink has had those bytes: name the first bad chunk (nothing more is read).
      for (const entry of todo.slice(vouched)) {
        const verdict = await checkChunk(id, entry, options);
        if (verdict.problem) {
          problems.push(verdict.problem);
          return report;
        }
      }
      problems.push({
        kind: "unreadable",
        id,
        ...at(todo[vouched]),
        message: `${chunkLabel(todo[vouched])}: cannot be read in one pass (it reads alone)`,
      });
      return report;
    } else {
      // Checked again chunk by chunk, from the start, to report every problem.
      report.warnings = [];
      total = total && createHash("sha256");
    }
  }
  for (const entry of checked ? [] : todo) {
    const verdict = await checkChunk(id, entry, {
      ...options,
      onBlock: async (block) => {
        total?.update(block);
        if (options.sink) await options.sink(block);
      },
    });
    if (verdict.problem) problems.push(verdict.problem);
    if (verdict.warning) report.warnings.push(verdict.warning);
    if (options.stopOnProblem && problems.length) return report;
  }
  if (!total) return report;
  report.sha256 = total.digest("hex");
  if (manifest?.sha256 && problems.length === 0 && report.sha256 !== manifest.sha256) {
    problems.push({
      kind: "manifest",
      id,
      start: 0,
      end: report.bytes,
      message: `the whole recording's sha256 (${report.sha256.slice(0, 12)}…) differs from the ` +
        `manifest's (${manifest.sha256.slice(0, 12)}…)`,
    });
  }
  return report;
}

/** `seq`, `start`, `end` and `path` of a chunk, for a problem. */
function at(entry: ChunkEntry) {
  return { seq: entry.seq, start: entry.start, end: entry.end, path: entry.path };
}

/**
 * `todo` through one `zstd -d` (bytes to the sink and `total`); returns how
 * many chunks from the first it vouches for: each piece has its chunk's
 * length and sha256, and a chunk without a sha256 is vouched for by a later
 * one that matched (the split would have shifted otherwise), or by the whole
 * output ending exactly where the last range does.
 */
async function scanInOrder(
  todo: ChunkEntry[],
  options: ScanOptions,
  report: RecordingReport,
  total: Hash | undefined,
): Promise<number> {
  let run: DecodedRun;
  try {
    run = await decodeInOrder(options.reader, todo, {
      signal: options.signal,
      identities: options.identities,
      onBlock: async (block) => {
        total?.update(block);
        if (options.sink) await options.sink(block);
      },
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (/no longer usable|cat-file (ended|timed out|was stopped)/.test(String(error))) throw error;
    return 0; // a chunk that cannot be read or decrypted: found chunk by chunk
  }
  let vouched = 0;
  for (const [i, entry] of todo.entries()) {
    const piece = run.pieces[i];
    if (!piece || piece.length !== entry.end - entry.start) break;
    if (entry.sha256) {
      if (piece.sha256 !== entry.sha256) break;
      vouched = i + 1;
    }
  }
  const whole = run.ok && run.extra === 0 && run.pieces.length === todo.length &&
    todo.every((entry, i) =>
      run.pieces[i].length === entry.end - entry.start &&
      (!entry.sha256 || run.pieces[i].sha256 === entry.sha256)
    );
  if (whole) vouched = todo.length;
  for (const entry of todo.slice(0, vouched)) {
    if (!entry.sha256 && !entry.encrypted) report.warnings.push(unhashedWarning(entry));
  }
  return vouched;
}

/**
 * Reads and parses the manifest of `id` through `reader`, decrypting an
 * encrypted one. `locked` says why an encrypted manifest could not be read
 * (no identity, or not this one).
 */
export async function loadManifest(
  index: BranchIndex,
  id: string,
  reader: BlobReader,
  options: DecryptOptions = {},
): Promise<{ manifest?: Manifest; problem?: string; locked?: string }> {
  const found = index.manifests.get(id);
  if (!found) return {};
  try {
    return { manifest: parseManifest(await manifestBytes(reader, found, options), found.path) };
  } catch (error) {
    if (error instanceof ManifestError) return { problem: error.message };
    if (error instanceof BlobTooLargeError) return { problem: `${found.path}: ${error.message}` };
    if (error instanceof BlobMissingError) {
      return { problem: `${found.path} is not in this copy of the branch: ${error.message}` };
    }
    if (error instanceof ChunkDecryptError) {
      return error.kind === "corrupt" ? { problem: error.message } : { locked: error.message };
    }
    throw error;
  }
}

/** Options for {@linkcode verifyBranch}. */
export interface VerifyOptions extends BranchSourceOptions {
  /** Only this recording (default: every recording on the branch). */
  id?: string;
}

/** The result of {@linkcode verifyBranch}. */
export interface VerifyReport {
  /** Remote read. */
  url: string;
  /** Branch read. */
  branch: string;
  /** How it was read (fetched, in place, local clone). */
  via: string;
  /** Fallback notes. */
  notes: string[];
  /** One report per recording. */
  recordings: RecordingReport[];
  /** No problem anywhere. */
  ok: boolean;
}

/** Verifies every recording on the branch (or one): the checks of restore, writing nothing. */
export async function verifyBranch(options: VerifyOptions): Promise<VerifyReport> {
  const result = await readBranchRecordings({
    ...options,
    ids: options.id === undefined ? undefined : [options.id],
    details: "none", // each recording's, just before it is checked
    readerTimeoutMs: (index) => {
      const compressed = [...index.chunks.values()].flat().reduce((sum, e) => sum + e.size, 0);
      return 600_000 + Math.ceil(compressed / (1 << 20)) * 2000;
    },
  }, async ({ index, reader }) => {
    const recordings: RecordingReport[] = [];
    const ids = options.id !== undefined ? [options.id] : [
      ...new Set([
        ...index.chunks.keys(),
        ...index.manifests.keys(),
        // A folder holding nothing but strays is reported too.
        ...index.stray.map((stray) => stray.id).filter((id): id is string => Boolean(id)),
      ]),
    ].sort();
    for (const id of ids) {
      await loadChunkDetails(index, reader, { ids: [id], signal: options.signal });
      const { manifest, problem, locked } = await loadManifest(index, id, reader, options);
      const report = await scanRecording(id, {
        entries: index.chunks.get(id) ?? [],
        manifest,
        manifestProblem: problem,
        reader,
        signal: options.signal,
        identities: options.identities,
      });
      if (locked) {
        // Known to be complete, but its sizes and sha256 are sealed.
        report.complete = true;
        report.partial = false;
        report.problems.push({ kind: "undecryptable", id, message: locked });
      }
      for (const stray of index.stray.filter((s) => s.id === id)) {
        report.problems.push({
          kind: "stray",
          id,
          path: stray.path,
          message: `${stray.path}: ${stray.reason}`,
        });
      }
      recordings.push(report);
    }
    return recordings;
  });
  return { ...result, ok: result.recordings.every((r) => r.problems.length === 0) };
}
