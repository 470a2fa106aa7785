/**
 * zstd through the `zstd` CLI, streamed: a byte range of a file goes through
 * `zstd -<level>` into a file without ever being held whole in memory.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { BlockWriter, timeoutSignal } from "../sys/mod.ts";

/** Read size for streaming. */
const BLOCK = 1 << 20;

/** Timeout for a zstd call on `bytes` bytes: 60 s plus 1 s per MiB. */
export function zstdTimeoutMs(bytes: number): number {
  return 60_000 + Math.ceil(bytes / (1 << 20)) * 1000;
}

/**
 * Spare read buffers. Every block read reuses one of these: a fresh buffer per
 * read is garbage outside V8's heap, which V8 collects only after some 64 MB
 * of it piled up, and that is what the daemon's peak RSS grew by while it
 * backed up a 1 GB recording (and what 60 calls of sha256Range on 8 MiB
 * ranges added to a process).
 */
const spareBlocks: Uint8Array[] = [];

/** A 1 MiB buffer from the pool (give it back with {@linkcode returnBlock}). */
export function takeBlock(): Uint8Array {
  return spareBlocks.pop() ?? new Uint8Array(BLOCK);
}

/** Gives a buffer of {@linkcode takeBlock} back to the pool (it must no longer be used). */
export function returnBlock(buffer: ArrayBufferLike): void {
  // Two cuts at once hold three each (read, zstd's output, the file's writes).
  if (buffer.byteLength === BLOCK && spareBlocks.length < 8) {
    spareBlocks.push(new Uint8Array(buffer));
  }
}

/**
 * Yields `[start, end)` of an open file in blocks. Every block is a view of
 * one pooled buffer, valid only until the loop asks for the next block (copy
 * it to keep it).
 */
export async function* readRange(
  file: Deno.FsFile,
  start: number,
  end: number,
): AsyncGenerator<Uint8Array> {
  await file.seek(start, Deno.SeekMode.Start);
  let remaining = end - start;
  const buffer = takeBlock();
  try {
    while (remaining > 0) {
      const want = Math.min(buffer.length, remaining);
      const n = await file.read(buffer.subarray(0, want));
      if (n === null) throw new Error(`file ended ${remaining} bytes before offset ${end}`);
      remaining -= n;
      yield buffer.subarray(0, n);
    }
  } finally {
    returnBlock(buffer.buffer);
  }
}

/**
 * Yields what a byte stream (a child's stdout) delivers, read into one pooled
 * buffer through a BYOB reader: each block is valid only until the loop asks
 * for the next one.
 */
async function* readStreamReusing(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader({ mode: "byob" });
  // A BYOB read transfers the buffer; `current` is the live one.
  let current: ArrayBufferLike = takeBlock().buffer;
  let finished = false;
  try {
    while (true) {
      const { value, done } = await reader.read(new Uint8Array(current));
      if (value) current = value.buffer;
      if (done || !value) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
    returnBlock(current);
  }
}

/** sha256 (hex) of `[start, end)` of the file at `path` (or of an open handle, left open). */
export async function sha256Range(
  source: string | Deno.FsFile,
  start: number,
  end: number,
): Promise<string> {
  const hash = createHash("sha256");
  const file = typeof source === "string" ? await Deno.open(source, { read: true }) : source;
  try {
    for await (const block of readRange(file, start, end)) hash.update(block);
  } finally {
    if (typeof source === "string") file.close();
  }
  return hash.digest("hex");
}

/** Result of {@linkcode compressRange}. */
export interface CompressResult {
  /** sha256 (hex) of the raw bytes compressed. */
  sha256: string;
  /** Size of the output file. */
  bytes: number;
  /** sha256 (hex) of the output file (the ciphertext): only when `wrap` encrypted it. */
  outputSha256?: string;
}

/** Options for {@linkcode compressRange}. */
export interface CompressOptions {
  /** zstd level 1..19. */
  level: number;
  /** Abort (shutdown). */
  signal?: AbortSignal;
  /** Wraps zstd's output before it is written (encryption); default: written as it is. */
  wrap?: (zstd: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>;
  /** Also fed every raw byte, in order (a hash of more than this range: the whole file's). */
  also?: Hash;
  /** fsync the output before returning (default true; false: the caller does it later). */
  sync?: boolean;
  /**
   * Called once every byte of the range was read (and hashed): from then on
   * the source handle is free for the next range while zstd finishes this one.
   */
  onRead?: () => void;
}

/**
 * Compresses `[start, end)` of `source` (a path, or an open handle the caller
 * keeps and closes) into a new file `output` (created exclusively, 0600,
 * fsynced). Removes `output` on failure.
 */
export async function compressRange(
  source: string | Deno.FsFile,
  range: { start: number; end: number; output: string },
  options: CompressOptions,
): Promise<CompressResult> {
  const input = typeof source === "string" ? await Deno.open(source, { read: true }) : source;
  const limit = timeoutSignal(zstdTimeoutMs(range.end - range.start), options.signal);
  let output: Deno.FsFile | undefined;
  // zstd's output arrives in pipe-sized pieces: written in blocks of a megabyte.
  const writeBlock = takeBlock();
  try {
    output = await Deno.open(range.output, { write: true, createNew: true, mode: 0o600 });
    // zstd's own threads, in jobs of 1 MiB: a chunk of a backlog compresses on every free core
    // (one frame all the same; a small chunk is one job).
    const child = spawnZstd(
      [`-${options.level}`, "-T0", "-B1048576", "-q", "-c", "--no-progress"],
      {
        signal: limit.signal,
      },
    );
    const hash = createHash("sha256");
    const feed = (async () => {
      const writer = child.stdin.getWriter();
      try {
        for await (const block of readRange(input, range.start, range.end)) {
          hash.update(block);
          options.also?.update(block);
          await writer.write(block);
        }
        options.onRead?.();
        await writer.close();
      } catch (error) {
        await writer.abort(error).catch(() => {});
        throw error;
      }
    })();
    const outHash = options.wrap ? createHash("sha256") : undefined;
    const out = new BlockWriter(output, writeBlock);
    const drain = (async () => {
      try {
        const blocks = options.wrap
          ? await options.wrap(child.stdout)
          : readStreamReusing(child.stdout);
        for await (const block of blocks) {
          await out.write(block);
          outHash?.update(block);
        }
        await out.flush();
      } catch (error) {
        // zstd would wait forever for a reader of its output.
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        throw error;
      }
    })();
    const stderr = new Response(child.stderr).text();
    const [feedResult, drainResult, status, errText] = await Promise.allSettled([
      feed,
      drain,
      child.status,
      stderr,
    ]);
    if (limit.timedOut()) throw new Error("zstd timed out");
    if (limit.signal.aborted) throw new Error("zstd was stopped (shutdown)");
    if (feedResult.status === "rejected") throw feedResult.reason;
    if (drainResult.status === "rejected") throw drainResult.reason;
    if (status.status === "rejected" || !status.value.success) {
      const text = errText.status === "fulfilled" ? errText.value.trim() : "";
      throw new Error(`zstd failed: ${text || "exit status non-zero"}`);
    }
    if (options.sync !== false) await output.sync();
    return {
      sha256: hash.digest("hex"),
      bytes: out.bytes,
      ...(outHash ? { outputSha256: outHash.digest("hex") } : {}),
    };
  } catch (error) {
    output?.close();
    output = undefined;
    await Deno.remove(range.output).catch(() => {});
    throw error;
  } finally {
    output?.close();
    if (typeof source === "string") input.close();
    limit.clear();
    returnBlock(writeBlock.buffer);
  }
}

/** Result of {@linkcode decompressDigest}. */
export interface DigestResult {
  /** True when zstd decoded the whole input. */
  ok: boolean;
  /** sha256 (hex) of the decompressed bytes. */
  sha256: string;
  /** Decompressed length. */
  length: number;
  /** zstd's complaint when not ok. */
  error?: string;
}

/**
 * Decompresses a stream of zstd frames and hashes the output without keeping
 * it. `input` is a file path or a byte stream.
 */
export async function decompressDigest(
  input: string | ReadableStream<Uint8Array>,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<DigestResult> {
  const limit = timeoutSignal(options.timeoutMs ?? 600_000, options.signal);
  try {
    const child = spawnZstd(
      typeof input === "string" ? ["-d", "-q", "-c", "--", input] : ["-d", "-q", "-c"],
      { signal: limit.signal, stdin: typeof input === "string" ? "null" : "piped" },
    );
    const feed = typeof input === "string"
      ? Promise.resolve()
      : input.pipeTo(child.stdin).catch(() => {});
    const hash = createHash("sha256");
    let length = 0;
    for await (const block of readStreamReusing(child.stdout)) {
      hash.update(block);
      length += block.length;
    }
    const [, status, errText] = await Promise.all([
      feed,
      child.status,
      new Response(child.stderr).text(),
    ]);
    const ok = status.success && !limit.timedOut();
    return {
      ok,
      sha256: hash.digest("hex"),
      length,
      error: ok ? undefined : (limit.timedOut() ? "zstd timed out" : errText.trim()),
    };
  } finally {
    limit.clear();
  }
}

/**
 * A `zstd` process with `args`: standard input and output piped unless
 * given, standard error piped (its message is the error), bounded by
 * `signal` (every call passes a timeout).
 */
export function spawnZstd(
  args: string[],
  options: { signal: AbortSignal; stdin?: "piped" | "null"; stdout?: "piped" | "null" },
): Deno.ChildProcess {
  return new Deno.Command("zstd", {
    args,
    stdin: options.stdin ?? "piped",
    stdout: options.stdout ?? "piped",
    stderr: "piped",
    signal: options.signal,
  }).spawn();
}
