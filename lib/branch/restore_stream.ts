/**
 * The fast path of `restore` for a recording with a manifest: every chunk's
 * blob, in sequence order, is fed to ONE `zstd -d` that writes the file
 * itself (the chunks are concatenated zstd frames), while this process
 * reads the file behind it and hashes it: one pass, each byte decompressed
 * once and hashed once, the hash running beside the decompression instead
 * of after it, against the manifest's sha256 and total size. Nothing is
 * hashed per chunk here: when the whole-file check fails,
 * lib/branch/verify.ts scanRecording hashes chunk by chunk only to name the
 * bad chunk. Encrypted chunks are decrypted one by one on the way in
 * (lib/branch/chunk_stream.ts).
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
/** How long the hash waits for zstd to write more when it has caught up. */
const CATCH_UP_MS = 2;

/**
 * Hashes `path` while `writer` (zstd) is still writing it, then to its end:
 * reads what is there, and when it has caught up waits a moment (or for the
 * writer to end) and reads on. zstd writes the file front to back
 * (`--no-sparse`: no holes filled in later).
 */
async function hashBehind(
  path: string,
  writer: Promise<unknown>,
  signal: AbortSignal,
): Promise<[string, number]> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(READ_BLOCK);
  let bytes = 0;
  let ended = false;
  const end = writer.finally(() => {
    ended = true;
  });
  const wait = () =>
    Promise.race([end, new Promise((resolve) => setTimeout(resolve, CATCH_UP_MS))]);
  // zstd creates the file as it starts: open it once it is there.
  let opened: Deno.FsFile | undefined;
  while (!opened) {
    signal.throwIfAborted();
    try {
      opened = await Deno.open(path, { read: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (ended) return ["", 0]; // zstd never made it: its error says why
      await wait();
    }
  }
  using file = opened;
  while (true) {
    signal.throwIfAborted();
    const n = await file.read(buffer);
    if (n !== null && n > 0) {
      hash.update(buffer.subarray(0, n));
      bytes += n;
      continue;
    }
    if (ended) break; // read to the end after the writer stopped
    await wait();
  }
  return [hash.digest("hex"), bytes];
}

/**
 * Decompresses the chunks `entries` (in the order given) into `output`
 * (created by zstd, then mode 0600; it must not exist) and hashes it beside
 * zstd.
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
    // zstd refuses to replace a file (no -f): `output` is new, in the restore's private folder.
    const child = spawnZstd(["-d", "-q", "--no-sparse", "-o", output], {
      signal: limit.signal,
      stdout: "null",
    });
    const feed = feedChunks(reader, entries, child.stdin, options);
    const hashed = hashBehind(output, child.status, limit.signal);
    const [fed, status, errText, digest] = await Promise.allSettled([
      feed,
      child.status,
      new Response(child.stderr).text(),
      hashed,
    ]);
    if (fed.status === "rejected") throw fed.reason;
    if (limit.timedOut()) return { ok: false, error: "zstd timed out", bytes: 0, sha256: "" };
    if (limit.signal.aborted) throw new Error("stopped");
    if (status.status !== "fulfilled" || !status.value.success) {
      const error = errText.status === "fulfilled" ? errText.value.trim() : "";
      return { ok: false, error: error || "zstd failed", bytes: 0, sha256: "" };
    }
    if (digest.status === "rejected") throw digest.reason;
    await Deno.chmod(output, 0o600);
    const [sha256, bytes] = digest.value;
    return { ok: true, bytes, sha256 };
  } finally {
    limit.clear();
  }
}
