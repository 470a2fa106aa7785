/**
 * Identity before bytes: a fingerprint of what was already cut (sha256 of the
 * first and the last 4 KiB before the cut offset), kept in the checkpoint and
 * checked on the very handle a cut reads from (DESIGN.md invariant 11).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Fingerprint } from "../../chunk/mod.ts";

/** Bytes hashed at each end. */
const WINDOW = 4096;

async function hashWindow(file: Deno.FsFile, start: number, end: number): Promise<string> {
  const buffer = new Uint8Array(end - start);
  await file.seek(start, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return createHash("sha256").update(buffer.subarray(0, filled)).digest("hex");
}

/** The byte just before offset `at` of `file`, or null at the start or past the end. */
export async function byteBefore(file: Deno.FsFile, at: number): Promise<number | null> {
  if (at <= 0) return null;
  const one = new Uint8Array(1);
  await file.seek(at - 1, Deno.SeekMode.Start);
  return (await file.read(one)) === 1 ? one[0] : null;
}

/** The fingerprint of `file` at offset `at`. */
export async function fingerprintAt(file: Deno.FsFile, at: number): Promise<Fingerprint> {
  return {
    at,
    head: await hashWindow(file, 0, Math.min(at, WINDOW)),
    tail: await hashWindow(file, Math.max(0, at - WINDOW), at),
  };
}

/**
 * Why `file` is not the file `expected` was taken of, or null when it is
 * (or when there is nothing to compare: no fingerprint, nothing cut yet).
 */
export async function fingerprintMismatch(
  file: Deno.FsFile,
  expected: { fingerprint: Fingerprint | null; cut_offset: number },
): Promise<string | null> {
  const fingerprint = expected.fingerprint;
  if (!fingerprint || expected.cut_offset === 0 || fingerprint.at !== expected.cut_offset) {
    return null;
  }
  const size = (await file.stat()).size;
  if (size < fingerprint.at) return `truncated (${size} bytes, ${fingerprint.at} were cut)`;
  const now = await fingerprintAt(file, fingerprint.at);
  if (now.head !== fingerprint.head) return "rewritten (its first bytes differ from what was cut)";
  if (now.tail !== fingerprint.tail) return "rewritten (the bytes before the cut differ)";
  return null;
}

/**
 * Why the file at `castPath` is not the one `state` describes (another
 * inode, or the bytes already cut differ), or null. For a file that changed
 * without growing past what was cut, which no cut would look at.
 */
export async function fileIdentityMismatch(
  castPath: string,
  state: { ino: number | null; fingerprint: Fingerprint | null; cut_offset: number },
): Promise<string | null> {
  const file = await Deno.open(castPath, { read: true });
  try {
    const ino = (await file.stat()).ino ?? null;
    if (state.ino !== null && ino !== null && ino !== state.ino) {
      return `replaced (inode ${state.ino} -> ${ino})`;
    }
    return await fingerprintMismatch(file, state);
  } finally {
    file.close();
  }
}
