/**
 * One chunk checked on its own: its frames (decrypted when encrypted)
 * through their own `zstd -d`, hashed, and the verdict — corrupt or
 * truncated frame, checksum mismatch, wrong length, undecryptable — as a
 * problem naming the chunk and its byte range. lib/branch/verify.ts uses it
 * for what one pass over all chunks could not vouch for.
 *
 * @module
 */
import { errorMessage } from "../sys/mod.ts";
import { createHash } from "node:crypto";
import type { BlobReader, ChunkEntry } from "../git/mod.ts";
import { ChunkDecryptError, type DecryptOptions } from "./chunk_stream.ts";
import { chunkLabel, type Problem } from "./layout.ts";
import { runZstdDecode } from "./stream_decode.ts";

/** What decoding one chunk found. */
interface Decoded {
  ok: boolean;
  error?: string;
  length: number;
  sha256: string;
  /** It decompressed to more than its range claims: reading stopped there. */
  overflow?: boolean;
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
  const hash = createHash("sha256");
  const claimed = Math.max(0, entry.end - entry.start);
  let length = 0;
  let overflow = false;
  const run = await runZstdDecode(reader, [entry], {
    ...options,
    take: async (block) => {
      length += block.length;
      // A chunk never gives more than its range: stop here, whatever it claims to hold.
      if (length > claimed) {
        overflow = true;
        return false;
      }
      hash.update(block);
      if (options.onBlock) await options.onBlock(block);
      return true;
    },
  });
  if (overflow) {
    return {
      ok: false,
      overflow,
      error: `decompresses to more than its ${claimed} bytes`,
      length,
      sha256: "",
    };
  }
  return { ...run, length, sha256: hash.digest("hex") };
}

function isTruncation(error: string): boolean {
  return /premature end|unexpected end|truncated|incomplete/i.test(error);
}

/** The warning for a plain chunk checked without a sha256 (no record, no trailer). */
export function unhashedWarning(entry: ChunkEntry): string {
  return `${
    chunkLabel(entry)
  }: no Cast-Sha256 trailer, only its length and zstd checksum were checked`;
}

/** A chunk's verdict: a problem, a warning, or neither (intact). */
export interface ChunkVerdict {
  /** What is wrong with it. */
  problem?: Problem;
  /** What could not be checked. */
  warning?: string;
}

/**
 * Decodes chunk `entry` of recording `id` on its own (its bytes to
 * `onBlock`) and judges it. Throws only when the blob reader broke or the
 * signal fired.
 */
export async function checkChunk(
  id: string,
  entry: ChunkEntry,
  options: DecryptOptions & {
    reader: BlobReader;
    onBlock?: (block: Uint8Array) => Promise<void>;
    signal?: AbortSignal;
  },
): Promise<ChunkVerdict> {
  const expected = entry.end - entry.start;
  const base = { id, seq: entry.seq, start: entry.start, end: entry.end, path: entry.path };
  let decoded: Decoded;
  try {
    decoded = await decodeChunk(options.reader, entry, options);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const message = errorMessage(error);
    if (error instanceof ChunkDecryptError) {
      return {
        problem: { ...base, kind: error.kind === "corrupt" ? "corrupt" : "undecryptable", message },
      };
    }
    if (/no longer usable|cat-file (ended|timed out|was stopped)/.test(message)) throw error;
    return {
      problem: {
        ...base,
        kind: "unreadable",
        message: `${chunkLabel(entry)}: cannot be read: ${message}`,
      },
    };
  }
  if (decoded.overflow) {
    return {
      problem: {
        ...base,
        kind: "length",
        message: `${chunkLabel(entry)}: decompresses to more than its ${expected} bytes ` +
          "(reading stopped there): the chunk was replaced or damaged",
      },
    };
  }
  if (!decoded.ok) {
    const error = decoded.error || "zstd failed";
    const truncated = isTruncation(error);
    return {
      problem: {
        ...base,
        kind: truncated ? "truncated" : "corrupt",
        message: truncated
          ? `${
            chunkLabel(entry)
          }: truncated (the zstd frame ends early after ${decoded.length} of ${expected} bytes: ${error})`
          : `${chunkLabel(entry)}: corrupt zstd frame (${error})`,
      },
    };
  }
  if (entry.sha256 && decoded.sha256 !== entry.sha256) {
    const size = decoded.length === expected
      ? ""
      : decoded.length < expected
      ? `; it holds ${decoded.length} of ${expected} bytes (truncated)`
      : `; it holds ${decoded.length} bytes, not ${expected}`;
    return {
      problem: {
        ...base,
        kind: decoded.length < expected ? "truncated" : "checksum",
        message:
          `${chunkLabel(entry)}: checksum mismatch (Cast-Sha256 ${entry.sha256.slice(0, 12)}…, ` +
          `content ${decoded.sha256.slice(0, 12)}…)${size}: the chunk was replaced or damaged`,
      },
    };
  }
  if (decoded.length !== expected) {
    return {
      problem: {
        ...base,
        kind: decoded.length < expected ? "truncated" : "length",
        message: `${chunkLabel(entry)}: decompresses to ${decoded.length} bytes, not ${expected}`,
      },
    };
  }
  // An encrypted chunk has no plaintext hash on the branch: age's tags checked it.
  return !entry.sha256 && !entry.encrypted ? { warning: unhashedWarning(entry) } : {};
}
