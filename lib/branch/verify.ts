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
import { createHash } from "node:crypto";
import {
  BlobReader,
  type BranchIndex,
  type ChunkEntry,
  loadChunkDetails,
  type Manifest,
  ManifestError,
  parseManifest,
} from "../git/mod.ts";
import {
  ChunkDecryptError,
  type DecryptOptions,
  feedChunks,
  manifestBytes,
} from "./chunk_stream.ts";
import { type BranchSourceOptions, readBranchRecordings } from "./source.ts";
import { checkLayout, chunkLabel, type Problem } from "./layout.ts";
import { timeoutSignal } from "../sys/mod.ts";
import { spawnZstd, zstdTimeoutMs } from "../chunk/mod.ts";

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

/** What decoding one chunk found. */
interface Decoded {
  ok: boolean;
  error?: string;
  length: number;
  sha256: string;
}

/** Streams blob → `zstd -d` → hash (and `onBlock`), never holding the chunk in memory. */
async function decodeChunk(
  reader: BlobReader,
  entry: ChunkEntry,
  options: DecryptOptions & {
    onBlock?: (block: Uint8Array) => Promise<void>;
    signal?: AbortSignal;
  },
): Promise<Decoded> {
  const limit = timeoutSignal(
    zstdTimeoutMs(Math.max(entry.end - entry.start, entry.size)),
    options.signal,
  );
  try {
    const child = spawnZstd(["-d", "-q", "-c"], { signal: limit.signal });
    const feed = feedChunks(reader, [entry], child.stdin, options);
    const hash = createHash("sha256");
    let length = 0;
    const drain = (async () => {
      for await (const block of child.stdout) {
        hash.update(block);
        length += block.length;
        if (options.onBlock) await options.onBlock(block);
      }
    })();
    const stderr = new Response(child.stderr).text();
    const [fed, drained, status, errText] = await Promise.allSettled([
      feed,
      drain,
      child.status,
      stderr,
    ]);
    if (fed.status === "rejected") throw fed.reason;
    if (drained.status === "rejected") throw drained.reason;
    if (limit.timedOut()) return { ok: false, error: "zstd timed out", length, sha256: "" };
    if (limit.signal.aborted) throw new Error("stopped");
    const ok = status.status === "fulfilled" && status.value.success;
    return {
      ok,
      error: ok
        ? undefined
        : (errText.status === "fulfilled" ? errText.value.trim() : "zstd failed"),
      length,
      sha256: hash.digest("hex"),
    };
  } finally {
    limit.clear();
  }
}

function isTruncation(error: string): boolean {
  return /premature end|unexpected end|truncated|incomplete/i.test(error);
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
  /** Abort. */
  signal?: AbortSignal;
  /** Identities for encrypted chunks (looked up when one is met). */
  identities?: DecryptOptions["identities"];
}

/**
 * Checks one recording: layout first, then every chunk's content, streamed
 * through `zstd -d` one chunk at a time.
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
  const total = options.wholeFileHash === false ? undefined : createHash("sha256");
  for (const entry of entries) {
    if (options.from !== undefined && entry.start < options.from) continue;
    const expected = entry.end - entry.start;
    let decoded: Decoded;
    try {
      decoded = await decodeChunk(options.reader, entry, {
        signal: options.signal,
        identities: options.identities,
        onBlock: async (block) => {
          total?.update(block);
          if (options.sink) await options.sink(block);
        },
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const message = (error as Error).message;
      if (error instanceof ChunkDecryptError) {
        problems.push({
          kind: error.kind === "corrupt" ? "corrupt" : "undecryptable",
          id,
          seq: entry.seq,
          start: entry.start,
          end: entry.end,
          path: entry.path,
          message,
        });
        if (options.stopOnProblem) return report;
        continue;
      }
      if (/no longer usable|cat-file (ended|timed out|was stopped)/.test(message)) throw error;
      problems.push({
        kind: "unreadable",
        id,
        seq: entry.seq,
        start: entry.start,
        end: entry.end,
        path: entry.path,
        message: `${chunkLabel(entry)}: cannot be read: ${message}`,
      });
      if (options.stopOnProblem) return report;
      continue;
    }
    const base = {
      id,
      seq: entry.seq,
      start: entry.start,
      end: entry.end,
      path: entry.path,
    };
    if (!decoded.ok) {
      const error = decoded.error || "zstd failed";
      const truncated = isTruncation(error);
      problems.push({
        ...base,
        kind: truncated ? "truncated" : "corrupt",
        message: truncated
          ? `${
            chunkLabel(entry)
          }: truncated (the zstd frame ends early after ${decoded.length} of ${expected} bytes: ${error})`
          : `${chunkLabel(entry)}: corrupt zstd frame (${error})`,
      });
    } else if (entry.sha256 && decoded.sha256 !== entry.sha256) {
      const size = decoded.length === expected
        ? ""
        : decoded.length < expected
        ? `; it holds ${decoded.length} of ${expected} bytes (truncated)`
        : `; it holds ${decoded.length} bytes, not ${expected}`;
      problems.push({
        ...base,
        kind: decoded.length < expected ? "truncated" : "checksum",
        message:
          `${chunkLabel(entry)}: checksum mismatch (Cast-Sha256 ${entry.sha256.slice(0, 12)}…, ` +
          `content ${decoded.sha256.slice(0, 12)}…)${size}: the chunk was replaced or damaged`,
      });
    } else if (decoded.length !== expected) {
      problems.push({
        ...base,
        kind: decoded.length < expected ? "truncated" : "length",
        message: `${chunkLabel(entry)}: decompresses to ${decoded.length} bytes, not ${expected}`,
      });
    } else if (!entry.sha256 && !entry.encrypted) {
      // An encrypted chunk has no plaintext hash on the branch: age's tags checked it.
      report.warnings.push(
        `${
          chunkLabel(entry)
        }: no Cast-Sha256 trailer, only its length and zstd checksum were checked`,
      );
    }
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
    const ids = options.id !== undefined
      ? [options.id]
      : [...new Set([...index.chunks.keys(), ...index.manifests.keys()])].sort();
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
