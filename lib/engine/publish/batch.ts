/**
 * Which chunks go into the next push to a remote: generations in order,
 * each one's pending chunks in sequence order, until the batch would pass
 * `push_batch_bytes` (a batch always holds at least one chunk); a finished
 * generation's manifest rides along once all its chunks are in. Pure.
 *
 * @module
 */
import type { PendingChunk } from "../../chunk/mod.ts";

/** The part of a checkpoint batching reads. */
export interface BatchSource {
  /** Chunk id. */
  id: string;
  /** Chunks waiting, in sequence order. */
  pending: readonly PendingChunk[];
  /** Everything is cut. */
  final: boolean;
  /** The manifest is on the remote. */
  manifest_pushed: boolean;
}

/** One push's worth of work. */
export interface Batch<S extends BatchSource> {
  /** Per generation, the chunks of this batch (possibly none, for a manifest only). */
  items: { source: S; chunks: PendingChunk[]; manifest: boolean }[];
  /** Compressed bytes of the chunks. */
  bytes: number;
  /** Work is left for another batch. */
  more: boolean;
}

/** Selects the next batch from `sources` (taken in the order given). */
export function selectBatch<S extends BatchSource>(
  sources: readonly S[],
  options: { maxBytes: number },
): Batch<S> {
  const batch: Batch<S> = { items: [], bytes: 0, more: false };
  for (const source of sources) {
    const chunks: PendingChunk[] = [];
    for (const chunk of source.pending) {
      if (batch.bytes > 0 && batch.bytes + chunk.bytes > options.maxBytes) {
        batch.more = true;
        break;
      }
      chunks.push(chunk);
      batch.bytes += chunk.bytes;
    }
    const all = chunks.length === source.pending.length;
    const manifest = all && source.final && !source.manifest_pushed;
    if (chunks.length || manifest) batch.items.push({ source, chunks, manifest });
    if (batch.more) break;
  }
  return batch;
}

/** A push's timeout: a base plus its bytes at the slowest rate it is given time for. */
export function pushTimeoutMs(
  bytes: number,
  options: { baseSeconds: number; minBytesPerSecond: number },
): number {
  return Math.ceil(options.baseSeconds * 1000 + (bytes / options.minBytesPerSecond) * 1000);
}
