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
import type { Hash } from "node:crypto";
import { join } from "node:path";
import { ensurePrivateDir, fsyncDir, tempPathFor } from "../../sys/mod.ts";
import {
  compressRange,
  type Fingerprint,
  firstNewlineEnd,
  formatChunkName,
  lastNewlineEnd,
  type PendingChunk,
  type RecordingState,
} from "../../chunk/mod.ts";
import { failpoint } from "../core/mod.ts";
import { byteBefore, fingerprintAt, fingerprintMismatch } from "./identity.ts";
import type { StateUpdate } from "./state_writer.ts";
import type { CutReason } from "../watch/mod.ts";
import { digestPathFor, sealWith, writeDigest } from "./sealed_chunk.ts";
import { continueCutHash, keepCutHash } from "./cut_hash.ts";

const NEWLINE = 0x0a;

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
  /** Called when a chunk's checkpoint is written (publishing may take it while the pass goes on). */
  onDurable?: (chunk: PendingChunk) => void;
  /** Tests: runs between choosing a chunk's end and reading its bytes (a rewrite goes here). */
  afterEndChosen?: (end: number) => Promise<void>;
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
 *
 * Three stages overlap: once chunk k's bytes are all read and hashed, chunk
 * k+1 is read from the same handle while zstd still finishes chunk k (at
 * most two compressions at once, so no core waits for a zstd's last job),
 * and chunk k-1 is made durable (its spool file fsynced and renamed, its
 * checkpoint written). Only one stage reads the handle at a time, and the
 * whole recording's hash is fed in file order. Checkpoints still advance in
 * order, each only once its chunk is durable (DESIGN.md invariant 2).
 */
export async function cutPass(
  castPath: string,
  state: RecordingState,
  options: CutPassOptions,
): Promise<CutPassResult> {
  const file = await Deno.open(castPath, { read: true });
  const chunks: PendingChunk[] = [];
  // The previous chunk's second stage (awaiting it throws what it threw); `failed` once one did.
  let durable: Promise<void> = Promise.resolve();
  let failed = false;
  // The compression not yet handed to the durable chain, if any.
  let compressing: Promise<Compressed> | undefined;
  // The chain as it was before the last chunk joined it (through the chunk before that).
  let settledBefore: Promise<void> = Promise.resolve();
  try {
    const info = await file.stat();
    const ino = info.ino ?? null;
    if (state.ino !== null && ino !== null && ino !== state.ino) {
      return { kind: "mismatch", reason: `replaced (inode ${state.ino} -> ${ino})` };
    }
    const changed = await fingerprintMismatch(file, state);
    if (changed) return { kind: "mismatch", reason: changed };
    const upTo = Math.min(options.upTo, info.size);
    let seq = state.next_seq;
    let offset = state.cut_offset;
    // The whole recording's hash, carried from chunk to chunk (lib/engine/cut/cut_hash.ts).
    let whole = continueCutHash(options.spoolDir, state.id, offset);
    // Each chunk advances the offset; the count is bounded by the span fixed above.
    const most = Math.ceil((upTo - offset) / options.maxBytes) + 1;
    for (let i = 0; i < most && offset < upTo && !failed; i++) {
      options.signal?.throwIfAborted();
      const start = offset;
      const end = await chooseChunkEnd(file, {
        start,
        size: upTo,
        searchFrom: options.noLineUntil ?? undefined,
      }, options);
      if (end <= start) {
        await durable;
        return { kind: "cut", chunks, noLineUntil: upTo };
      }
      await options.afterEndChosen?.(end);
      // The bytes at both ends of what is cut now, before and after reading them:
      // a file rewritten in place meanwhile (a new header) never passes. The end must still
      // be the line end it was chosen as: a rewrite between the choice and this look
      // leaves both fingerprints alike, with the end mid-line in the new bytes.
      const expected = await fingerprintAt(file, end);
      if (!(options.final && end === upTo) && (await byteBefore(file, end)) !== NEWLINE) {
        await durable; // a chunk before failed: that is the error
        return { kind: "mismatch", reason: "rewritten while it was being cut" };
      }
      // A bounded pipeline: chunk k-1 is durable (so its zstd has ended) before chunk k+1
      // starts; at most chunk k's zstd finishes beside this one and one chunk waits to be made
      // durable, however fast compression outruns the fsyncs.
      await settledBefore.catch(() => {});
      const { read, done } = readSignal();
      const current = compressOne(file, state, {
        ...options,
        seq,
        start,
        end,
        whole,
        onRead: read,
      });
      compressing = current;
      current.catch(() => {}); // its error is thrown by the chain, in chunk order
      // The handle is free (and the hash complete) once every byte of the range was read.
      await Promise.race([done, current]);
      options.signal?.throwIfAborted();
      const hashed = whole;
      whole = hashed?.copy();
      const fingerprint = await fingerprintAt(file, end);
      if (failed || fingerprint.head !== expected.head || fingerprint.tail !== expected.tail) {
        await removeMade(current);
        compressing = undefined;
        await durable; // a chunk before failed: that is the error
        return { kind: "mismatch", reason: "rewritten while it was being cut" };
      }
      settledBefore = durable;
      durable = durable.then(
        async () => {
          try {
            const chunk = await makeDurable(await current, state, {
              ...options,
              ino,
              fingerprint,
            });
            chunks.push(chunk);
            options.onDurable?.(chunk);
          } catch (error) {
            failed = true;
            throw error;
          }
        },
        async (error) => {
          await removeMade(current);
          throw error;
        },
      );
      // Seen by the next compression at once (the chain runs on its own).
      durable.catch(() => {
        failed = true;
      });
      compressing = undefined;
      offset = end;
      seq++;
    }
    await durable;
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
  } catch (error) {
    // A compression not yet handed to the chain leaves no temporary file behind.
    if (compressing) await removeMade(compressing);
    await durable.catch(() => {});
    throw error;
  } finally {
    file.close();
  }
}

/** A callback for when a range was read, and the promise it resolves. */
function readSignal(): { read: () => void; done: Promise<void> } {
  let read!: () => void;
  const done = new Promise<void>((resolve) => read = resolve);
  return { read, done };
}

/** Waits for a compression and removes its temporary file (a failed one removed its own). */
async function removeMade(made: Promise<Compressed>): Promise<void> {
  const result = await made.catch(() => undefined);
  if (result) await Deno.remove(result.tmp).catch(() => {});
}

/** Spool folders made by this process (a cut that fails forgets them: made again). */
const madeDirs = new Set<string>();

/** A chunk compressed into a temporary spool file, not yet durable. */
interface Compressed {
  seq: number;
  start: number;
  end: number;
  tmp: string;
  finalPath: string;
  dir: string;
  encrypted: boolean;
  sha256: string;
  bytes: number;
  outputSha256?: string;
  whole?: Hash;
}

/** First stage: `[start, end)` read, hashed and compressed into a temporary file. */
async function compressOne(
  file: Deno.FsFile,
  state: RecordingState,
  options: CutPassOptions & {
    seq: number;
    start: number;
    end: number;
    whole?: Hash;
    onRead?: () => void;
  },
): Promise<Compressed> {
  const dir = spoolDirFor(options.spoolDir, state.id);
  if (!madeDirs.has(dir)) {
    await ensurePrivateDir(dir);
    madeDirs.add(dir);
  }
  const { seq, start, end } = options;
  const recipients = options.recipients ?? [];
  const encrypted = recipients.length > 0;
  const finalPath = join(dir, formatChunkName({ seq, start, end, encrypted }));
  const tmp = tempPathFor(finalPath);
  const whole = options.whole;
  const result = await compressRange(file, { start, end, output: tmp }, {
    ...options,
    wrap: encrypted ? sealWith(recipients) : undefined,
    also: whole,
    sync: false, // the second stage fsyncs it, while the next chunk compresses
  }).catch((error) => {
    madeDirs.delete(dir);
    throw error;
  });
  failpoint("cut.after-compress");
  return { seq, start, end, tmp, finalPath, dir, encrypted, whole, ...result };
}

/**
 * Second stage: the temporary file fsynced and renamed into the spool, then
 * the checkpoint advanced past it (in chunk order: the caller chains them).
 */
async function makeDurable(
  made: Compressed,
  state: RecordingState,
  options: CutPassOptions & { ino: number | null; fingerprint: Fingerprint },
): Promise<PendingChunk> {
  const { seq, start, end, tmp, finalPath, dir, encrypted } = made;
  try {
    using output = await Deno.open(tmp, { read: true });
    await output.sync();
    if (encrypted) {
      await writeDigest(finalPath, {
        sha256: made.sha256,
        output_sha256: made.outputSha256!,
        bytes: made.bytes,
      });
    }
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await Deno.rename(tmp, finalPath);
  await fsyncDir(dir);
  if (made.whole) keepCutHash(options.spoolDir, state.id, end, made.whole);
  failpoint("cut.after-spool");
  const chunk: PendingChunk = {
    seq,
    start,
    end,
    sha256: made.sha256,
    bytes: made.bytes,
    cut_at: options.wall().toISOString(),
    ...(options.since ? { since: options.since } : {}),
    ...(options.reason ? { reason: options.reason } : {}),
    ...(encrypted ? { encrypted: true } : {}),
  };
  await options.update(state, (current) => ({
    ...current,
    ino: current.ino ?? options.ino,
    cut_offset: end,
    next_seq: seq + 1,
    pending: [...current.pending, chunk],
    fingerprint: options.fingerprint,
    ...(encrypted ? { encrypted: true, recipients: [...(options.recipients ?? [])] } : {}),
  }));
  if (encrypted) {
    // The checkpoint holds the chunk now: its crash-time digest is not needed any more.
    await Deno.remove(digestPathFor(finalPath)).catch(() => {});
  }
  failpoint("cut.after-checkpoint");
  return chunk;
}
