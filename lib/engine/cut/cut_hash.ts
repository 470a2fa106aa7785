/**
 * The sha256 of a generation's cut bytes, kept as its chunks are cut: each
 * chunk's bytes feed it on their way to zstd, so the manifest's whole-file
 * sha256 is ready when the last chunk is cut, without reading the file again
 * (a 200 MB recording: one pass over it, not two). It hashes exactly what the
 * chunks hold. Kept in memory only: after a restart, or when a chunk is cut
 * again, the manifest hashes the file as before (lib/engine/publish/publish.ts).
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";

/** Per spool folder and generation: the hash of bytes `[0, upTo)`. */
const running = new Map<string, { upTo: number; hash: Hash }>();

function key(spoolDir: string, id: string): string {
  return `${spoolDir}\0${id}`;
}

/**
 * The hash to feed the chunk `[start, …)` of generation `id` with: a copy of
 * the one that covers `[0, start)` (a new one at 0), or undefined when none
 * does. Hand it to {@linkcode keepCutHash} once the chunk is cut.
 */
export function continueCutHash(spoolDir: string, id: string, start: number): Hash | undefined {
  if (start === 0) return createHash("sha256");
  const entry = running.get(key(spoolDir, id));
  if (entry?.upTo !== start) {
    running.delete(key(spoolDir, id));
    return undefined;
  }
  return entry.hash.copy();
}

/** Records `hash` as covering `[0, upTo)` of `id` (its chunk up to `upTo` is cut). */
export function keepCutHash(spoolDir: string, id: string, upTo: number, hash: Hash): void {
  running.set(key(spoolDir, id), { upTo, hash });
}

/**
 * The sha256 (hex) of `[0, upTo)` of `id` when its cuts were hashed up to
 * exactly there, else undefined; forgets it either way (a manifest asks once).
 */
export function takeCutSha256(spoolDir: string, id: string, upTo: number): string | undefined {
  const entry = running.get(key(spoolDir, id));
  running.delete(key(spoolDir, id));
  return entry?.upTo === upTo ? entry.hash.digest("hex") : undefined;
}
