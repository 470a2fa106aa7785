/**
 * The fast path of `restore` for a recording with a manifest: every chunk's
 * blob, in sequence order, is fed to ONE `zstd -d` (the chunks are
 * concatenated zstd frames) whose output is written to the file and hashed
 * on the way, against the manifest's sha256 and total size. Nothing is hashed per
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
  /** The chunks gave more than their ranges claim: stopped there. */
  overflow?: boolean;
}

/**
 * Decompresses the chunks `entries` (in the order given) into `output`
 * (created, mode 0600), hashing the bytes as they are written: one pass. It
 * stops as soon as the chunks give more than their ranges claim (a hostile
 * branch's zstd bomb never fills the disk): `ok` false, `overflow` true.
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
  const file = await Deno.open(output, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    const child = spawnZstd(["-d", "-q", "-c"], { signal: limit.signal });
    const feed = feedChunks(reader, entries, child.stdin, options);
    const hash = createHash("sha256");
    let bytes = 0;
    let overflow = false;
    const drain = (async () => {
      for await (const block of child.stdout) {
        if (bytes + block.length > claimed) {
          overflow = true;
          try {
            child.kill("SIGKILL");
          } catch {
            // ended already
          }
          break;
        }
        hash.update(block);
        bytes += block.length;
        for (let at = 0; at < block.length;) at += await file.write(block.subarray(at));
      }
    })();
    const [fed, drained, status, errText] = await Promise.allSettled([
      feed,
      drain,
      child.status,
      new Response(child.stderr).text(),
    ]);
    if (fed.status === "rejected") throw fed.reason;
    if (drained.status === "rejected") throw drained.reason;
    if (overflow) {
      return {
        ok: false,
        overflow,
        error: `the chunks decompress to more than the ${claimed} bytes their ranges claim`,
        bytes,
        sha256: "",
      };
    }
    if (limit.timedOut()) return { ok: false, error: "zstd timed out", bytes: 0, sha256: "" };
    if (limit.signal.aborted) throw new Error("stopped");
    if (status.status !== "fulfilled" || !status.value.success) {
      const error = errText.status === "fulfilled" ? errText.value.trim() : "";
      return { ok: false, error: error || "zstd failed", bytes: 0, sha256: "" };
    }
    return { ok: true, bytes, sha256: hash.digest("hex") };
  } finally {
    file.close();
    limit.clear();
  }
}
