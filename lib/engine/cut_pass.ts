/**
 * One cut pass: from a single open handle of the recording, checks that the
 * file is still the one the checkpoint describes (inode, fingerprint), then
 * cuts `[cut_offset, upTo)` into chunks of at most `max_chunk_bytes` (give or
 * take one line), each written to the spool before the checkpoint advances
 * (DESIGN.md invariants 2 and 11). `upTo` is fixed when the pass is planned,
 * so a pass ends however fast the file grows.
 *
 * @module
 */
import { join } from "node:path";
import { ensurePrivateDir, fsyncDir, tempPathFor } from "../sys/mod.ts";
import {
  compressRange,
  firstNewlineEnd,
  formatChunkName,
  lastNewlineEnd,
  type PendingChunk,
  type RecordingState,
} from "../chunk/mod.ts";
import { failpoint } from "./failpoint.ts";
import { fingerprintAt, fingerprintMismatch } from "./identity.ts";
import type { StateUpdate } from "./state_writer.ts";
import type { CutReason } from "./planner.ts";
import { digestPathFor, sealWith, writeDigest } from "./sealed_chunk.ts";
import { continueCutHash, keepCutHash } from "./cut_hash.ts";

/** The spool folder of a chunk id. */
export function spoolDirFor(spoolDir: string, id: string): string {
  return join(spoolDir, id);
}

/** The spool file of a pending chunk. */
export function spoolFileFor(spoolDir: string, id: string, chunk: PendingChunk): string {
  return join(spoolDir, id, formatChunkName(chunk));
}

/**
 * Where the next chunk should end: the last newline within `maxBytes`, else
 * (one line longer than that) the first newline after it, searched from
 * `searchFrom` when earlier bytes are known to hold none; with `final`, the
 * end when the rest fits. Returns `start` when nothing is cuttable.
 */
export async function chooseChunkEnd(
  file: Deno.FsFile,
  span: { start: number; size: number; searchFrom?: number },
  options: { maxBytes: number; final?: boolean },
): Promise<number> {
  const { start, size } = span;
  if (size <= start) return start;
  if (options.final && size - start <= options.maxBytes) return size;
  const limit = Math.min(size, start + options.maxBytes);
  let end = await lastNewlineEnd(file, { from: start, limit });
  if (end < 0 && limit < size) {
    const from = Math.max(limit, Math.min(span.searchFrom ?? limit, size));
    end = await firstNewlineEnd(file, { from, limit: size });
  }
  if (end < 0) return options.final ? size : start;
  return end;
}

/** Options for {@linkcode cutPass}. */
export interface CutPassOptions {
  /** `$ASCIINEMA_HOME/spool`. */
  spoolDir: string;
  /** zstd level. */
  level: number;
  /** Largest chunk (raw bytes), give or take one line. */
  maxBytes: number;
  /** Cut nothing at or beyond this offset (fixed when the pass was planned). */
  upTo: number;
  /** Final: cut a trailing partial line too, then mark the checkpoint final. */
  final: boolean;
  /** `[cut_offset, noLineUntil)` is known to hold no newline. */
  noLineUntil?: number | null;
  /** Wall time for `cut_at` and `ended_at`. */
  wall: () => Date;
  /** What triggered the pass (kept with each chunk). */
  reason?: CutReason;
  /** When the oldest byte of the pass was first seen (wall, ISO), kept with each chunk. */
  since?: string;
  /** With `final`: the `.json` end signals that ended it (see tracker's `configEndStamp`). */
  endStamp?: string | null;
  /** Writes checkpoint changes (serialized with the publisher's). */
  update: StateUpdate;
  /** Shutdown. */
  signal?: AbortSignal;
  /** age recipients (`encryption.recipients`): chunks are `age(zstd(bytes))`; empty: plain zstd. */
  recipients?: readonly string[];
}

/** What a pass did. */
export type CutPassResult =
  | { kind: "mismatch"; reason: string }
  | {
    kind: "cut";
    /** The chunks cut, in order. */
    chunks: PendingChunk[];
    /** `[cut_offset, noLineUntil)` holds no complete line: wait for more. */
    noLineUntil: number | null;
  };

/**
 * Runs one pass over `castPath` for `state` (updated in place after each
 * durable checkpoint). Throws on I/O errors; what was cut before stays cut.
 */
export async function cutPass(
  castPath: string,
  state: RecordingState,
  options: CutPassOptions,
): Promise<CutPassResult> {
  const file = await Deno.open(castPath, { read: true });
  try {
    const info = await file.stat();
    const ino = info.ino ?? null;
    if (state.ino !== null && ino !== null && ino !== state.ino) {
      return { kind: "mismatch", reason: `replaced (inode ${state.ino} -> ${ino})` };
    }
    const before = await fingerprintMismatch(file, state);
    if (before) return { kind: "mismatch", reason: before };
    const upTo = Math.min(options.upTo, info.size);
    const chunks: PendingChunk[] = [];
    // Each chunk advances the offset; the count is bounded by the span fixed above.
    const most = Math.ceil((upTo - state.cut_offset) / options.maxBytes) + 1;
    for (let i = 0; i < most && state.cut_offset < upTo; i++) {
      const start = state.cut_offset;
      const end = await chooseChunkEnd(file, {
        start,
        size: upTo,
        searchFrom: options.noLineUntil ?? undefined,
      }, options);
      if (end <= start) return { kind: "cut", chunks, noLineUntil: upTo };
      // The bytes at both ends of what is cut now, before and after reading them:
      // a file rewritten in place meanwhile (a new header) never passes.
      const expected = await fingerprintAt(file, end);
      const chunk = await cutOne(file, state, { ...options, start, end });
      const fingerprint = await fingerprintAt(file, end);
      if (fingerprint.head !== expected.head || fingerprint.tail !== expected.tail) {
        const spooled = spoolFileFor(options.spoolDir, state.id, chunk);
        await Deno.remove(spooled).catch(() => {});
        await Deno.remove(digestPathFor(spooled)).catch(() => {});
        return { kind: "mismatch", reason: "rewritten while it was being cut" };
      }
      await options.update(state, (current) => ({
        ...current,
        ino: current.ino ?? ino,
        cut_offset: end,
        next_seq: chunk.seq + 1,
        pending: [...current.pending, chunk],
        fingerprint,
        ...(chunk.encrypted ? { encrypted: true } : {}),
      }));
      if (chunk.encrypted) {
        // The checkpoint holds the chunk now: its crash-time digest is not needed any more.
        await Deno.remove(digestPathFor(spoolFileFor(options.spoolDir, state.id, chunk)))
          .catch(() => {});
      }
      failpoint("cut.after-checkpoint");
      chunks.push(chunk);
    }
    if (options.final && state.cut_offset >= upTo) {
      await options.update(state, (current) => ({
        ...current,
        ino: current.ino ?? ino,
        final: true,
        ended_at: current.ended_at ?? options.wall().toISOString(),
        end_stamp: options.endStamp ?? null,
      }));
    }
    return { kind: "cut", chunks, noLineUntil: null };
  } finally {
    file.close();
  }
}

async function cutOne(
  file: Deno.FsFile,
  state: RecordingState,
  options: CutPassOptions & { start: number; end: number },
): Promise<PendingChunk> {
  const dir = spoolDirFor(options.spoolDir, state.id);
  await ensurePrivateDir(dir);
  const seq = state.next_seq;
  const { start, end } = options;
  const recipients = options.recipients ?? [];
  const encrypted = recipients.length > 0;
  const finalPath = join(dir, formatChunkName({ seq, start, end, encrypted }));
  const tmp = tempPathFor(finalPath);
  const whole = continueCutHash(options.spoolDir, state.id, start);
  const result = await compressRange(file, { start, end, output: tmp }, {
    ...options,
    wrap: encrypted ? sealWith(recipients) : undefined,
    also: whole,
  });
  failpoint("cut.after-compress");
  if (encrypted) {
    await writeDigest(finalPath, {
      sha256: result.sha256,
      output_sha256: result.outputSha256!,
      bytes: result.bytes,
    }).catch(async (error) => {
      await Deno.remove(tmp).catch(() => {});
      throw error;
    });
  }
  await Deno.rename(tmp, finalPath);
  await fsyncDir(dir);
  if (whole) keepCutHash(options.spoolDir, state.id, end, whole);
  failpoint("cut.after-spool");
  return {
    seq,
    start,
    end,
    sha256: result.sha256,
    bytes: result.bytes,
    cut_at: options.wall().toISOString(),
    ...(options.since ? { since: options.since } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
    ...(encrypted ? { encrypted: true } : {}),
  };
}
