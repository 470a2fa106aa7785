/**
 * Many chunks through ONE `zstd -d`: their frames, in order (decrypted
 * first when encrypted, lib/branch/chunk_stream.ts), are fed to a single
 * decoder, and its output is split at the lengths the chunks' ranges give,
 * each piece hashed as it passes. A recording of 100 chunks costs one
 * process, not 100; every byte is decompressed and hashed once.
 *
 * Its output never runs past what the ranges claim in all: beyond that, zstd
 * is stopped (`extra`).
 *
 * The split is only as good as the lengths: a chunk that decodes to another
 * length shifts every piece after it. lib/branch/verify.ts trusts a piece
 * only up to the last chunk whose sha256 matched, and checks the rest chunk
 * by chunk to name the bad one.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { BlobReader, ChunkEntry } from "../git/mod.ts";
import { type DecryptOptions, feedChunks } from "./chunk_stream.ts";
import { timeoutSignal } from "../sys/mod.ts";
import { spawnZstd, zstdTimeoutMs } from "../chunk/mod.ts";

/** One chunk's piece of the output. */
export interface Piece {
  /** Bytes attributed to it (its range's length, or fewer when the output ended early). */
  length: number;
  /** Their sha256 (hex). */
  sha256: string;
}

/** What {@linkcode decodeInOrder} found. */
export interface DecodedRun {
  /** zstd decoded every frame. */
  ok: boolean;
  /** zstd's complaint (or the timeout) when not ok. */
  error?: string;
  /** One piece per chunk that got any output, in order. */
  pieces: Piece[];
  /** Output beyond the last chunk's range (its frames decoded to more than the ranges say; zstd was stopped). */
  extra: number;
}

/** How one `zstd -d` over chunks ended. */
export interface ZstdRun {
  /** zstd decoded every frame (false too when it was stopped). */
  ok: boolean;
  /** zstd's complaint, or the timeout, when not ok. */
  error?: string;
}

/**
 * Feeds the frames of `entries` (in order) to one `zstd -d` and hands each
 * output block (a fresh one: it may be kept) to `take`; `take` answering
 * false stops zstd there (its output went past a bound). Throws when a blob
 * cannot be read or decrypted, or the signal fired.
 */
export async function runZstdDecode(
  reader: BlobReader,
  entries: readonly ChunkEntry[],
  options: DecryptOptions & {
    take: (block: Uint8Array) => Promise<boolean>;
    signal?: AbortSignal;
  },
): Promise<ZstdRun> {
  const raw = entries.reduce(
    (sum, entry) => sum + Math.max(entry.end - entry.start, entry.size),
    0,
  );
  const limit = timeoutSignal(zstdTimeoutMs(raw), options.signal);
  try {
    const child = spawnZstd(["-d", "-q", "-c"], { signal: limit.signal });
    const feed = feedChunks(reader, entries, child.stdin, options);
    const drain = (async () => {
      for await (const block of child.stdout) {
        if (await options.take(block)) continue;
        try {
          child.kill("SIGKILL");
        } catch {
          // ended already
        }
        break;
      }
    })();
    const [fed, drained, status, errText] = await Promise.allSettled([
      feed,
      drain,
      child.status,
      new Response(child.stderr).text(),
    ]);
    if (fed.status === "rejected") throw fed.reason;
    if (drained.status === "rejected") throw drained.reason;
    if (limit.timedOut()) return { ok: false, error: "zstd timed out" };
    if (limit.signal.aborted) throw new Error("stopped");
    if (status.status === "fulfilled" && status.value.success) return { ok: true };
    const said = errText.status === "fulfilled" ? errText.value.trim() : "";
    return { ok: false, error: said || "zstd failed" };
  } finally {
    limit.clear();
  }
}

/**
 * Decodes `entries` (in the order given) with one `zstd -d`; hands every
 * output block to `onBlock` and splits the output by the entries' range
 * lengths. Throws when a blob cannot be read or decrypted.
 */
export async function decodeInOrder(
  reader: BlobReader,
  entries: readonly ChunkEntry[],
  options: DecryptOptions & {
    onBlock?: (block: Uint8Array) => Promise<void>;
    signal?: AbortSignal;
  } = {},
): Promise<DecodedRun> {
  const pieces: Piece[] = [];
  let extra = 0;
  let index = 0;
  let hash: Hash | undefined;
  let filled = 0;
  const run = await runZstdDecode(reader, entries, {
    ...options,
    take: async (block) => {
      let at = 0;
      while (at < block.length && index < entries.length) {
        const want = entries[index].end - entries[index].start - filled;
        const part = block.subarray(at, at + Math.min(want, block.length - at));
        hash ??= createHash("sha256");
        hash.update(part);
        filled += part.length;
        at += part.length;
        if (filled === entries[index].end - entries[index].start) {
          pieces.push({ length: filled, sha256: hash.digest("hex") });
          hash = undefined;
          filled = 0;
          index++;
        }
      }
      if (options.onBlock && at > 0) await options.onBlock(block.subarray(0, at));
      // More than all the ranges claim: stop here (a zstd bomb never runs on).
      extra += block.length - at;
      return extra === 0;
    },
  });
  if (hash) pieces.push({ length: filled, sha256: hash.digest("hex") });
  return { ...run, pieces, extra };
}
