/**
 * Startup reconciliation of spool and checkpoint (DESIGN.md invariant 2):
 * temp files and chunks already pushed are deleted; a chunk written just
 * before a crash (beyond the checkpoint, starting exactly at `cut_offset`) is
 * adopted only when the file is still the checkpoint's (inode, fingerprint)
 * and its bytes are the chunk's; anything else is deleted and cut again.
 * An encrypted chunk (no private key here) is checked against the local
 * digest written before its rename (lib/engine/cut/sealed_chunk.ts).
 *
 * @module
 */
import { join } from "node:path";
import { fsyncDir, isTempName } from "../../sys/mod.ts";
import {
  decompressDigest,
  formatChunkName,
  parseChunkName,
  type PendingChunk,
  type RecordingState,
  saveState,
  sha256Range,
} from "../../chunk/mod.ts";
import { spoolDirFor } from "./cut_pass.ts";
import { fingerprintAt, fingerprintMismatch } from "./identity.ts";
import { isDigestName, removeDigests, sealedChunkMatches } from "./sealed_chunk.ts";

/** What {@linkcode reconcileSpool} did. */
export interface ReconcileReport {
  /** Chunks found in the spool beyond the checkpoint, verified and adopted. */
  adopted: number;
  /** Files deleted: temp files, already-pushed chunks, unverifiable leftovers. */
  deleted: string[];
  /** Pending chunks whose spool file is gone (the caller decides). */
  missing: PendingChunk[];
}

interface Extra {
  name: string;
  seq: number;
  start: number;
  end: number;
  encrypted?: boolean;
}

/** Reconciles the spool of `state` with it; `castPath` is its file when it is the current one. */
export async function reconcileSpool(
  castPath: string | undefined,
  state: RecordingState,
  options: { spoolDir: string; stateDir: string; signal?: AbortSignal; wall?: () => Date },
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
  const extras: Extra[] = [];
  const remove = async (name: string) => {
    await Deno.remove(join(dir, name)).catch(() => {});
    report.deleted.push(name);
  };
  for (const name of names) {
    const parsed = parseChunkName(name);
    if (isDigestName(name) && !isTempName(name)) continue; // read by adoption, removed below
    if (isTempName(name) || !parsed) await remove(name);
    else if (pendingNames.has(name)) continue;
    else if (parsed.end <= state.pushed_offset || parsed.seq < state.next_seq) await remove(name);
    else extras.push({ name, ...parsed });
  }
  extras.sort((a, b) => a.seq - b.seq);
  for (const extra of extras) {
    const fits = extra.seq === state.next_seq && extra.start === state.cut_offset;
    const adopted = fits && castPath !== undefined &&
      await adopt(castPath, state, { ...options, dir, extra }).catch(() => false);
    if (adopted) report.adopted++;
    else await remove(extra.name);
  }
  report.deleted.push(...await removeDigests(dir, names));
  for (const chunk of state.pending) {
    if (!names.includes(formatChunkName(chunk))) report.missing.push(chunk);
  }
  if (report.deleted.length) await fsyncDir(dir);
  return report;
}

async function adopt(
  castPath: string,
  state: RecordingState,
  options: { stateDir: string; dir: string; extra: Extra; signal?: AbortSignal; wall?: () => Date },
): Promise<boolean> {
  const { extra } = options;
  const file = await Deno.open(castPath, { read: true });
  try {
    const info = await file.stat();
    if (state.ino !== null && (info.ino ?? null) !== state.ino) return false;
    if (info.size < extra.end || await fingerprintMismatch(file, state)) return false;
    const chunkPath = join(options.dir, extra.name);
    const plain = await sha256Range(file, extra.start, extra.end);
    if (extra.encrypted) {
      if (!(await sealedChunkMatches(chunkPath, plain))) return false;
    } else {
      const digest = await decompressDigest(chunkPath, { signal: options.signal });
      if (!digest.ok || digest.length !== extra.end - extra.start) return false;
      if (digest.sha256 !== plain) return false;
    }
    const chunk: PendingChunk = {
      seq: extra.seq,
      start: extra.start,
      end: extra.end,
      sha256: plain,
      bytes: (await Deno.stat(chunkPath)).size,
      cut_at: (options.wall?.() ?? new Date()).toISOString(),
      ...(extra.encrypted ? { encrypted: true } : {}),
    };
    const next: RecordingState = {
      ...state,
      ino: state.ino ?? info.ino ?? null,
      pending: [...state.pending, chunk],
      cut_offset: extra.end,
      next_seq: extra.seq + 1,
      fingerprint: await fingerprintAt(file, extra.end),
      ...(extra.encrypted ? { encrypted: true } : {}),
    };
    await saveState(options.stateDir, next);
    Object.assign(state, next);
    return true;
  } finally {
    file.close();
  }
}
