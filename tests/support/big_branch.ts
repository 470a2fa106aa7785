/**
 * A big recording straight onto a recordings branch, for the viewer's
 * browser test (a few hundred MB) and its benchmark (1 GB): asciicast v3
 * made of the benchmark's terminal-like block repeated (bench/recordings.ts),
 * cut into chunks of whole lines like the daemon's (`max_chunk_bytes`,
 * 8 MiB by default), each compressed in-process (zstd level 1) and
 * committed with the daemon's layout and trailers through one streamed
 * `git fast-import`: memory holds one chunk at a time.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as zlib from "node:zlib";
import { chunkPathOnBranch, manifestPathOnBranch } from "../../lib/chunk/mod.ts";
import { chunkCommitMessage, git, quoteFastImportPath, spawnGit } from "../../lib/git/mod.ts";
import { concatBytes } from "../../lib/sys/mod.ts";
import { castHeader, eventBlock, EXIT_EVENT } from "../../bench/recordings.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode writeBigRecording}. */
export interface BigRecordingOptions {
  /** Recording id. */
  id: string;
  /** Size to reach (whole lines; a little more). */
  bytes: number;
  /** Chunk size (default 8 MiB, the daemon's `max_chunk_bytes`). */
  chunkBytes?: number;
  /** Seed of the repeated block. */
  seed?: number;
  /** End with the exit event and commit a manifest. */
  ended?: boolean;
  /** Branch (default `asciinema-recordings`). */
  branch?: string;
}

/** What was written. */
export interface BigRecording {
  /** Bytes of the `.cast`. */
  bytes: number;
  /** Chunks committed. */
  chunks: number;
  /** Compressed bytes committed. */
  compressed: number;
}

/** The recording's bytes as a stream of blocks: header, the block repeated, the exit event. */
function* recordingBlocks(options: BigRecordingOptions): Generator<Uint8Array> {
  const header = encoder.encode(castHeader());
  const block = eventBlock(Math.min(4 << 20, options.bytes), options.seed ?? 5);
  yield header;
  let size = header.length;
  while (size < options.bytes) {
    yield block;
    size += block.length;
  }
  if (options.ended) yield encoder.encode(EXIT_EVENT);
}

/** Cuts the stream (of whole-line blocks) into chunks of whole lines of about `chunkBytes`. */
function* chunksOf(blocks: Generator<Uint8Array>, chunkBytes: number): Generator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    const chunk = concatBytes(pending);
    pending = [];
    size = 0;
    return chunk;
  };
  for (const block of blocks) {
    let at = 0;
    while (block.length - at > chunkBytes - size) {
      const newline = block.indexOf(10, Math.max(at, at + chunkBytes - size - 1));
      if (newline < 0) break;
      pending.push(block.subarray(at, newline + 1));
      at = newline + 1;
      yield flush();
    }
    if (at < block.length) {
      pending.push(block.subarray(at));
      size += block.length - at;
    }
  }
  if (size) yield flush();
}

/** Writes the recording onto the branch of the bare repository `gitDir`. */
export async function writeBigRecording(
  gitDir: string,
  options: BigRecordingOptions,
): Promise<BigRecording> {
  const ref = `refs/heads/${options.branch ?? "asciinema-recordings"}`;
  const tip = await git(["rev-parse", "--verify", "--quiet", ref], { gitDir });
  let from = tip.success ? `from ${tip.stdout.trim()}\n` : "";
  const child = spawnGit(gitDir, { args: ["fast-import", "--quiet", "--done"] });
  const writer = child.stdin.getWriter();
  const stderr = new Response(child.stderr).text();
  const stdout = new Response(child.stdout).arrayBuffer();
  const total = createHash("sha256");
  let time = 1_700_000_000;
  let start = 0;
  let seq = 0;
  let compressed = 0;
  const commit = async (message: string, path: string, content: Uint8Array) => {
    const text = `commit ${ref}\ncommitter b <b@localhost> ${time++} +0000\n` +
      `data ${encoder.encode(message).length}\n${message}\n${from}` +
      `M 100644 inline ${quoteFastImportPath(path)}\ndata ${content.length}\n`;
    from = "";
    await writer.write(encoder.encode(text));
    await writer.write(content);
    await writer.write(encoder.encode("\n"));
  };
  for (const raw of chunksOf(recordingBlocks(options), options.chunkBytes ?? 8 << 20)) {
    total.update(raw);
    const end = start + raw.length;
    const zstd = zlib.zstdCompressSync(raw, {
      params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 },
    });
    compressed += zstd.length;
    const sha256 = createHash("sha256").update(raw).digest("hex");
    const range = { seq, start, end };
    await commit(
      chunkCommitMessage({ id: options.id, ...range, sha256, encrypted: false }),
      chunkPathOnBranch(options.id, range),
      zstd,
    );
    start = end;
    seq++;
  }
  if (options.ended) {
    const manifest = encoder.encode(JSON.stringify({
      id: options.id,
      total_bytes: start,
      chunks: seq,
      sha256: total.digest("hex"),
      started: "2024-03-01T10:00:00.000Z",
      ended: "2024-03-01T18:00:00.000Z",
      asciicast_version: 3,
      host: "bench-host",
    }));
    await commit(
      `manifest ${options.id}\n\nCast-Id: ${options.id}\n`,
      manifestPathOnBranch(options.id),
      manifest,
    );
  }
  await writer.write(encoder.encode("done\n"));
  await writer.close();
  const [status, errors] = await Promise.all([child.status, stderr, stdout]);
  if (!status.success) throw new Error(`fast-import failed: ${errors}`);
  return { bytes: start, chunks: seq, compressed };
}
