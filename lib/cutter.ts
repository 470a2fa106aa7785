/**
 * The cutter: turns `[cut_offset, last newline)` of a recording into a zstd
 * chunk in the spool, then advances the checkpoint (DESIGN.md invariant 2),
 * and reconciles spool and checkpoint after a crash.
 *
 * @module
 */
import { join } from "node:path";
import { fsyncDir, isTempName, tempPathFor } from "./atomic.ts";
import { firstNewlineEnd, lastNewlineEnd } from "./asciicast.ts";
import { formatChunkName, parseChunkName } from "./chunk_name.ts";
import { ensurePrivateDir } from "./paths.ts";
import { type PendingChunk, type RecordingState, saveState } from "./state.ts";
import { compressRange, decompressDigest, sha256Range } from "./zstd.ts";

/** Where and how to cut. */
export interface CutOptions {
  /** The spool directory (`$ASCIINEMA_HOME/spool`). */
  spoolDir: string;
  /** The checkpoint directory (`$ASCIINEMA_HOME/state`). */
  stateDir: string;
  /** zstd level. */
  level: number;
  /** Largest chunk (raw bytes), give or take one line. */
  maxBytes: number;
  /** Final chunk: include a trailing partial line. */
  final?: boolean;
  /** Abort (shutdown). */
  signal?: AbortSignal;
}

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
 * (one line longer than that) the first newline after it; with `final`, the
 * end of the file when the rest fits. Returns `start` when nothing is cuttable.
 */
export async function chooseChunkEnd(
  castPath: string,
  span: { start: number; size: number },
  options: { maxBytes: number; final?: boolean },
): Promise<number> {
  const { start, size } = span;
  if (size <= start) return start;
  if (options.final && size - start <= options.maxBytes) return size;
  const file = await Deno.open(castPath, { read: true });
  try {
    const limit = Math.min(size, start + options.maxBytes);
    let end = await lastNewlineEnd(file, { from: start, limit });
    if (end < 0 && limit < size) end = await firstNewlineEnd(file, { from: limit, limit: size });
    if (end < 0) return options.final ? size : start;
    return end;
  } finally {
    file.close();
  }
}

/**
 * Cuts the next chunk of `state`'s recording into the spool and durably
 * advances the checkpoint. Returns the chunk, or `undefined` when there was
 * nothing to cut. `state` is updated in place only after the checkpoint is
 * written.
 */
export async function cutNextChunk(
  castPath: string,
  state: RecordingState,
  options: CutOptions & { size: number },
): Promise<PendingChunk | undefined> {
  const start = state.cut_offset;
  const end = await chooseChunkEnd(castPath, { start, size: options.size }, options);
  if (end <= start) return undefined;
  const dir = spoolDirFor(options.spoolDir, state.id);
  await ensurePrivateDir(dir);
  const seq = state.next_seq;
  const finalPath = join(dir, formatChunkName({ seq, start, end }));
  const tmp = tempPathFor(finalPath);
  const result = await compressRange(castPath, { start, end, output: tmp }, options);
  await Deno.rename(tmp, finalPath);
  await fsyncDir(dir);
  const chunk: PendingChunk = {
    seq,
    start,
    end,
    sha256: result.sha256,
    bytes: result.bytes,
    cut_at: new Date().toISOString(),
  };
  const next: RecordingState = {
    ...state,
    cut_offset: end,
    next_seq: seq + 1,
    pending: [...state.pending, chunk],
  };
  await saveState(options.stateDir, next);
  Object.assign(state, next);
  return chunk;
}

/** What {@linkcode reconcileSpool} did. */
export interface ReconcileReport {
  /** Chunks found in the spool beyond the checkpoint, verified and adopted. */
  adopted: number;
  /** Files deleted: temp files, already-pushed chunks, unverifiable leftovers. */
  deleted: string[];
  /** Pending chunks whose spool file is gone (the caller decides). */
  missing: PendingChunk[];
}

/**
 * Brings spool and checkpoint into agreement after a crash: temp files and
 * chunks already pushed are deleted; a chunk written just before a crash
 * (beyond the checkpoint, starting exactly at `cut_offset`) is verified
 * against the recording and adopted, or deleted. Nothing is cut twice.
 */
export async function reconcileSpool(
  castPath: string | undefined,
  state: RecordingState,
  options: { spoolDir: string; stateDir: string; signal?: AbortSignal },
): Promise<ReconcileReport> {
  const report: ReconcileReport = { adopted: 0, deleted: [], missing: [] };
  const dir = spoolDirFor(options.spoolDir, state.id);
  let names: string[] = [];
  try {
    names = (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const pendingNames = new Set(state.pending.map((chunk) => formatChunkName(chunk)));
  const extras: { name: string; seq: number; start: number; end: number }[] = [];
  for (const name of names) {
    const parsed = parseChunkName(name);
    if (isTempName(name) || !parsed) {
      await Deno.remove(join(dir, name)).catch(() => {});
      report.deleted.push(name);
      continue;
    }
    if (pendingNames.has(name)) continue;
    if (parsed.end <= state.pushed_offset || parsed.seq < state.next_seq) {
      await Deno.remove(join(dir, name)).catch(() => {});
      report.deleted.push(name);
      continue;
    }
    extras.push({ name, ...parsed });
  }
  extras.sort((a, b) => a.seq - b.seq);
  let changed = false;
  const next: RecordingState = { ...state, pending: [...state.pending] };
  for (const extra of extras) {
    const fits = extra.seq === next.next_seq && extra.start === next.cut_offset;
    let adopted = false;
    if (fits && castPath) {
      try {
        const size = (await Deno.stat(castPath)).size;
        if (extra.end <= size) {
          const [digest, expected] = await Promise.all([
            decompressDigest(join(dir, extra.name), { signal: options.signal }),
            sha256Range(castPath, extra.start, extra.end),
          ]);
          if (
            digest.ok && digest.length === extra.end - extra.start && digest.sha256 === expected
          ) {
            const info = await Deno.stat(join(dir, extra.name));
            next.pending.push({
              seq: extra.seq,
              start: extra.start,
              end: extra.end,
              sha256: expected,
              bytes: info.size,
              cut_at: new Date().toISOString(),
            });
            next.cut_offset = extra.end;
            next.next_seq = extra.seq + 1;
            adopted = true;
            changed = true;
            report.adopted++;
          }
        }
      } catch {
        // Unverifiable: deleted below and cut again.
      }
    }
    if (!adopted) {
      await Deno.remove(join(dir, extra.name)).catch(() => {});
      report.deleted.push(extra.name);
    }
  }
  for (const chunk of next.pending) {
    if (!names.includes(formatChunkName(chunk))) report.missing.push(chunk);
  }
  if (changed) {
    await saveState(options.stateDir, next);
    Object.assign(state, next);
  }
  if (report.deleted.length) await fsyncDir(dir).catch(() => {});
  return report;
}
