/**
 * The fast path of `restore` for a recording with a manifest: every chunk's
 * blob, in sequence order, is fed to ONE `zstd -d` that writes the file
 * itself (the chunks are concatenated zstd frames), and the file is hashed
 * once, against the manifest's sha256 and total size. Nothing is hashed per
 * chunk here: when the whole-file check fails, lib/branch/verify.ts scanRecording
 * hashes chunk by chunk only to name the bad chunk. Encrypted chunks are
 * decrypted one by one on the way in (lib/branch/chunk_stream.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { BlobReader, ChunkEntry } from "../git/mod.ts";
import { type DecryptOptions, feedChunks } from "./chunk_stream.ts";
import { timeoutSignal } from "../sys/mod.ts";
import { spawnZstd, zstdTimeoutMs } from "../chunk/mod.ts";

/** What {@linkcode decompressAll} wrote. */
export interface Decompressed {
  /** zstd decoded every frame. */
  ok: boolean;
  /** zstd's complaint (or the timeout) when not ok. */
  error?: string;
  /** Bytes in the file. */
  bytes: number;
  /** sha256 of the file (empty when not ok). */
  sha256: string;
}

const READ_BLOCK = 1 << 20;

/** sha256 and size of `path`, read in 1 MiB blocks. */
async function hashFile(path: string, signal?: AbortSignal): Promise<[string, number]> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(READ_BLOCK);
  let bytes = 0;
  using file = await Deno.open(path, { read: true });
  while (true) {
    signal?.throwIfAborted();
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    bytes += n;
  }
  return [hash.digest("hex"), bytes];
}

/**
 * Decompresses the chunks `entries` (in the order given) into `output`
 * (created or replaced by zstd, mode 0600) and hashes the result once.
 */
export async function decompressAll(
  reader: BlobReader,
  entries: readonly ChunkEntry[],
  output: string,
  options: DecryptOptions & { signal?: AbortSignal } = {},
): Promise<Decompressed> {
  const raw = entries.reduce(
    (sum, entry) => sum + Math.max(entry.end - entry.start, entry.size),
    0,
  );
  const limit = timeoutSignal(zstdTimeoutMs(raw), options.signal);
  try {
    const child = spawnZstd(["-d", "-q", "-f", "-o", output], {
      signal: limit.signal,
      stdout: "null",
    });
    const feed = feedChunks(reader, entries, child.stdin, options);
    const [fed, status, errText] = await Promise.allSettled([
      feed,
      child.status,
      new Response(child.stderr).text(),
    ]);
    if (fed.status === "rejected") throw fed.reason;
    if (limit.timedOut()) return { ok: false, error: "zstd timed out", bytes: 0, sha256: "" };
    if (limit.signal.aborted) throw new Error("stopped");
    if (status.status !== "fulfilled" || !status.value.success) {
      const error = errText.status === "fulfilled" ? errText.value.trim() : "";
      return { ok: false, error: error || "zstd failed", bytes: 0, sha256: "" };
    }
    await Deno.chmod(output, 0o600);
    const [sha256, bytes] = await hashFile(output, options.signal);
    return { ok: true, bytes, sha256 };
  } finally {
    limit.clear();
  }
}
