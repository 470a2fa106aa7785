/**
 * The fast path of `restore` for a recording with a manifest: every chunk's
 * blob, in sequence order, is fed to ONE `zstd -d` that writes the file
 * itself (the chunks are concatenated zstd frames; plain ones straight from
 * `git show`, lib/git/blob_pipe.ts), while this process
 * reads the file behind it and hashes it: one pass, each byte decompressed
 * once and hashed once, the hash running beside the decompression instead
 * of after it, against the manifest's sha256 and total size. The file never
 * grows far past what the chunks' ranges claim: once it does, zstd is
 * stopped (a hostile branch's zstd bomb never fills the disk). Nothing is
 * hashed per chunk here: when the whole-file check fails,
 * lib/branch/verify.ts scanRecording hashes chunk by chunk only to name the
 * bad chunk. Encrypted chunks are decrypted one by one on the way in
 * (lib/branch/chunk_stream.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type BlobReader, canPipeBlobs, type ChunkEntry, pipeBlobsInto } from "../git/mod.ts";
import { type DecryptOptions, feedChunks } from "./chunk_stream.ts";
import { timeoutSignal, withTimeout } from "../sys/mod.ts";
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
  /** The chunks gave more than their ranges claim: stopped there. */
  overflow?: boolean;
}

const READ_BLOCK = 1 << 20;
/** How long the hash waits for zstd to write more when it has caught up. */
const CATCH_UP_MS = 2;
/** The written part is flushed to the disk every this many bytes, beside zstd. */
const FLUSH_EVERY = 32 << 20;

/**
 * Hashes `path` while zstd (`writer`, its exit) is still writing it, then to
 * its end: reads what is there, and when it has caught up waits a moment (or
 * for zstd to end) and reads on. zstd writes the file front to back
 * (`--no-sparse`: no holes filled in later). Past `claimed` bytes (read, or
 * the file's size while waiting) it calls `stop` and returns `overflow`.
 */
async function hashBehind(
  path: string,
  options: { writer: Promise<unknown>; claimed: number; stop: () => void; signal: AbortSignal },
): Promise<{ sha256: string; bytes: number; overflow: boolean }> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(READ_BLOCK);
  let bytes = 0;
  let ended = false;
  const end = options.writer.finally(() => {
    ended = true;
  });
  const wait = () => withTimeout(end, CATCH_UP_MS);
  const overflowed = () => {
    options.stop();
    return { sha256: "", bytes, overflow: true };
  };
  // zstd creates the file as it starts: open it once it is there.
  let opened: Deno.FsFile | undefined;
  while (!opened) {
    options.signal.throwIfAborted();
    try {
      opened = await Deno.open(path, { read: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (ended) return { sha256: "", bytes: 0, overflow: false }; // zstd's error says why
      await wait();
    }
  }
  using file = opened;
  // What is written is flushed to the disk as it goes (the restore's fsync then has little left).
  let flushing: Promise<void> = Promise.resolve();
  let flushedAt = 0;
  try {
    while (true) {
      options.signal.throwIfAborted();
      const n = await file.read(buffer);
      if (n !== null && n > 0) {
        if (bytes + n > options.claimed) return overflowed();
        hash.update(buffer.subarray(0, n));
        bytes += n;
        if (bytes - flushedAt >= FLUSH_EVERY) {
          flushedAt = bytes;
          flushing = flushing.then(() => file.syncData()).catch(() => {});
        }
        continue;
      }
      if (ended) break; // read to the end after zstd stopped
      if ((await file.stat()).size > options.claimed) return overflowed();
      await wait();
    }
  } finally {
    await flushing;
  }
  return { sha256: hash.digest("hex"), bytes, overflow: false };
}

/** One `zstd -d` writing `output`, and what feeds it. */
interface Decoder {
  /** The chunks were all handed over (rejects when one could not be read or decrypted). */
  fed: Promise<void>;
  /** zstd's status and what was said on stderr. */
  done: Promise<{ success: boolean; stderr: string }>;
  /** Ends it at once. */
  stop: () => void;
}

/**
 * Starts the decoder. Plain chunks go from git straight into zstd
 * (lib/git/blob_pipe.ts: nothing passes through this process); encrypted
 * ones, or without the shell, through this process (decrypted on the way).
 */
function startDecoder(
  reader: BlobReader,
  entries: readonly ChunkEntry[],
  output: string,
  options: DecryptOptions & { signal: AbortSignal },
): Decoder {
  // zstd refuses to replace a file (no -f): `output` is new, in the restore's private folder.
  const zstd = ["zstd", "-d", "-q", "--no-sparse", "-o", output];
  if (!entries.some((entry) => entry.encrypted) && canPipeBlobs()) {
    const pipe = pipeBlobsInto(reader.gitDir, entries.map((entry) => entry.blob), {
      program: zstd,
      globalConfig: reader.globalConfig,
      signal: options.signal,
    });
    return { fed: Promise.resolve(), done: pipe.done, stop: pipe.stop };
  }
  const child = spawnZstd(zstd.slice(1), { signal: options.signal, stdout: "null" });
  const stderr = new Response(child.stderr).text().catch(() => "");
  return {
    fed: feedChunks(reader, entries, child.stdin, options),
    done: Promise.all([child.status, stderr]).then(([status, text]) => ({
      success: status.success,
      stderr: text,
    })),
    stop: () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // ended already
      }
    },
  };
}

/**
 * Decompresses the chunks `entries` (in the order given) into `output`
 * (created by zstd, then mode 0600; it must not exist, in a private folder)
 * and hashes it beside zstd. Stops when the chunks give more than their
 * ranges claim: `ok` false, `overflow` true.
 */
export async function decompressAll(
  reader: BlobReader,
  entries: readonly ChunkEntry[],
  output: string,
  options: DecryptOptions & { signal?: AbortSignal } = {},
): Promise<Decompressed> {
  const claimed = entries.reduce((sum, entry) => sum + Math.max(0, entry.end - entry.start), 0);
  const raw = entries.reduce(
    (sum, entry) => sum + Math.max(entry.end - entry.start, entry.size),
    0,
  );
  const limit = timeoutSignal(zstdTimeoutMs(raw), options.signal);
  try {
    const decoder = startDecoder(reader, entries, output, { ...options, signal: limit.signal });
    const hashed = hashBehind(output, {
      writer: decoder.done,
      claimed,
      signal: limit.signal,
      stop: decoder.stop,
    });
    const [fed, status, digest] = await Promise.allSettled([decoder.fed, decoder.done, hashed]);
    if (digest.status === "fulfilled" && digest.value.overflow) {
      return {
        ok: false,
        overflow: true,
        error: `the chunks decompress to more than the ${claimed} bytes their ranges claim`,
        bytes: digest.value.bytes,
        sha256: "",
      };
    }
    if (fed.status === "rejected") throw fed.reason;
    if (limit.timedOut()) return { ok: false, error: "zstd timed out", bytes: 0, sha256: "" };
    if (limit.signal.aborted) throw new Error("stopped");
    if (status.status !== "fulfilled" || !status.value.success) {
      const error = status.status === "fulfilled" ? status.value.stderr.trim() : "";
      return { ok: false, error: error || "zstd failed", bytes: 0, sha256: "" };
    }
    if (digest.status === "rejected") throw digest.reason;
    await Deno.chmod(output, 0o600);
    return { ok: true, bytes: digest.value.bytes, sha256: digest.value.sha256 };
  } finally {
    limit.clear();
  }
}
