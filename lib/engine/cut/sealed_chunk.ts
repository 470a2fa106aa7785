/**
 * Encrypted chunks in the spool. With `encryption.recipients` set, a cut
 * writes `age(zstd(bytes))` as `<seq>_<start>-<end>.cast.zst.age`, so the
 * spool holds exactly what is pushed. The daemon has no private key, so a
 * chunk left beyond the checkpoint by a crash cannot be decrypted to be
 * checked: before its rename into the spool, a local digest file
 * (`<name>.digest`: sha256 of the plaintext range and of the ciphertext) is
 * written, and adoption checks both — the file's bytes against the
 * plaintext hash, the chunk against the ciphertext hash. The digest never
 * leaves the machine and is removed once the checkpoint holds the chunk.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { encryptStream } from "../../crypto/mod.ts";
import { fsyncDir, readJsonIfExists, tempPathFor, writeJsonAtomic } from "../../sys/mod.ts";
import { formatChunkName, type PendingChunk, readRange } from "../../chunk/mod.ts";
import { createHash } from "node:crypto";

/** Suffix of a sealed chunk's local digest file. */
export const DIGEST_SUFFIX = ".digest";

const DigestSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  output_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
});

/** What a sealed chunk's digest file says. */
export type ChunkDigest = z.infer<typeof DigestSchema>;

/** True for the name of a digest file. */
export function isDigestName(name: string): boolean {
  return name.endsWith(DIGEST_SUFFIX);
}

/** The digest file of the spool file `chunkPath`. */
export function digestPathFor(chunkPath: string): string {
  return chunkPath + DIGEST_SUFFIX;
}

/** zstd's output encrypted to `recipients` (for `compressRange`'s `wrap`). */
export function sealWith(
  recipients: readonly string[],
): (zstd: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>> {
  return (zstd) => encryptStream(zstd, recipients);
}

/** Writes the digest of a sealed chunk (atomic, 0600) before the chunk is renamed into place. */
export async function writeDigest(chunkPath: string, digest: ChunkDigest): Promise<void> {
  await writeJsonAtomic(digestPathFor(chunkPath), digest);
}

/** Reads the digest of `chunkPath`; undefined when absent or unreadable. */
export async function readDigest(chunkPath: string): Promise<ChunkDigest | undefined> {
  const raw = await readJsonIfExists(digestPathFor(chunkPath)).catch(() => undefined);
  const parsed = DigestSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** sha256 (hex) and size of a whole file. */
export async function fileSha256(path: string): Promise<{ sha256: string; bytes: number }> {
  const file = await Deno.open(path, { read: true });
  try {
    const bytes = (await file.stat()).size;
    const hash = createHash("sha256");
    for await (const block of readRange(file, 0, bytes)) hash.update(block);
    return { sha256: hash.digest("hex"), bytes };
  } finally {
    file.close();
  }
}

/**
 * True when the sealed spool file `chunkPath` is the one its digest
 * describes and the digest's plaintext hash is `plainSha256` (the
 * recording's bytes of its range now).
 */
export async function sealedChunkMatches(
  chunkPath: string,
  plainSha256: string,
): Promise<boolean> {
  const digest = await readDigest(chunkPath);
  if (!digest || digest.sha256 !== plainSha256) return false;
  const actual = await fileSha256(chunkPath);
  return actual.bytes === digest.bytes && actual.sha256 === digest.output_sha256;
}

/** Removes the digest files among `names` in `dir` (strays after a crash); returns their names. */
export async function removeDigests(dir: string, names: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    if (!isDigestName(name)) continue;
    await Deno.remove(join(dir, name)).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/**
 * Seals a plaintext chunk still in the spool (cut before the person turned
 * encryption on): `age(zstd)` is written beside it under its `.age` name
 * (temp, fsync, rename, fsync dir) and returned as a pending chunk. The
 * caller records it in the checkpoint, then removes the plaintext file; a
 * crash in between leaves one of the two names outside the checkpoint, which
 * startup reconciliation deletes (lib/engine/cut/spool.ts).
 */
export async function sealSpooledChunk(
  dir: string,
  chunk: PendingChunk,
  recipients: readonly string[],
): Promise<PendingChunk> {
  const sealed: PendingChunk = { ...chunk, encrypted: true };
  const target = join(dir, formatChunkName(sealed));
  const tmp = tempPathFor(target);
  const input = await Deno.open(join(dir, formatChunkName(chunk)), { read: true });
  const output = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  let bytes = 0;
  try {
    for await (const block of await encryptStream(input.readable, recipients)) {
      for (let at = 0; at < block.length;) at += await output.write(block.subarray(at));
      bytes += block.length;
    }
    await output.sync();
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  } finally {
    output.close();
  }
  await Deno.rename(tmp, target);
  await fsyncDir(dir);
  return { ...sealed, bytes };
}
