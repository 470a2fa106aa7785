/**
 * Generates a recordings branch in the daemon's own layout, fast, through
 * one streamed `git fast-import`: `recordings` recordings of
 * `chunksPerRecording` chunks each (one zstd frame of whole asciicast v2
 * lines, compressed in-process), with the daemon's commit messages and
 * trailers, each chunk's record beside it (`records`, the format since
 * issue 25) or not (the format before), and a manifest for every finished
 * recording. `history: "long"` makes one commit per chunk and per manifest
 * (a year of use: about 100,000 commits), `"short"` puts the same tree in one
 * commit. The bytes of a recording are a function of its number
 * ({@linkcode recordingCast}), so a test can compare a restore with them.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { zstdCompressSync } from "node:zlib";
import {
  chunkCommitMessage,
  chunkSumCommand,
  gitChecked,
  quoteFastImportPath,
  spawnGit,
} from "../../lib/git/mod.ts";
import { chunkPathOnBranch, manifestPathOnBranch } from "../../lib/chunk/mod.ts";
import { concatBytes } from "../../lib/sys/mod.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode generateBranch}. */
export interface GenerateBranchOptions {
  /** Branch (default `asciinema-recordings`). */
  branch?: string;
  /** How many recordings. */
  recordings: number;
  /** Chunks of each. */
  chunksPerRecording: number;
  /** Output lines in each chunk (about 90 bytes each). */
  linesPerChunk: number;
  /** Write each chunk's record beside it (lib/chunk/chunk_sum.ts). */
  records: boolean;
  /** One commit per chunk and manifest (`long`), or all in one commit (`short`). */
  history: "long" | "short";
  /** The last this many recordings are still in progress (no manifest). */
  inProgress?: number;
  /** Time of the first commit (Unix seconds; default 1,700,000,000); 20 s between commits. */
  startTime?: number;
  /** Called every 10,000 commits (progress for people). */
  onProgress?: (commits: number) => void;
}

/** What {@linkcode generateBranch} made. */
export interface GeneratedBranch {
  /** The recordings' ids, oldest first. */
  ids: string[];
  /** Commits on the branch. */
  commits: number;
  /** Raw bytes of all recordings. */
  bytes: number;
}

/** The id of recording number `n`. */
export function recordingId(n: number): string {
  return `year_2024-01-01_${String(n).padStart(5, "0")}_ab${n % 10}`;
}

/** A word that appears in recording `n` only: `needle-<n>`, in its last chunk. */
export function needleOf(n: number): string {
  return `needle-${n}-found`;
}

/** The chunks of recording `n`, as raw bytes (whole lines each; the first holds the header). */
export function recordingChunks(
  n: number,
  options: { chunks: number; linesPerChunk: number },
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let line = 0;
  for (let c = 0; c < options.chunks; c++) {
    const lines: string[] = [];
    if (c === 0) {
      lines.push(JSON.stringify({ version: 2, width: 100, height: 30, timestamp: 1_700_000_000 }));
    }
    for (let i = 0; i < options.linesPerChunk; i++, line++) {
      const last = c === options.chunks - 1 && i === options.linesPerChunk - 1;
      const text = last
        ? `echo ${needleOf(n)}\r\n`
        : `rec ${n} line ${line}: build step ${
          (line * 7919) % 1000
        } ok \u001b[32mpass\u001b[0m\r\n`;
      lines.push(JSON.stringify([line * 0.5, "o", text]));
    }
    out.push(encoder.encode(lines.join("\n") + "\n"));
  }
  return out;
}

/** The whole `.cast` of recording `n`. */
export function recordingCast(
  n: number,
  options: { chunks: number; linesPerChunk: number },
): Uint8Array {
  return concatBytes(recordingChunks(n, options));
}

/** Generates the branch in the bare repository `gitDir` (made when missing). */
export async function generateBranch(
  gitDir: string,
  options: GenerateBranchOptions,
): Promise<GeneratedBranch> {
  await Deno.mkdir(gitDir, { recursive: true });
  await gitChecked(["init", "--bare", "--quiet", gitDir]);
  const ref = `refs/heads/${options.branch ?? "asciinema-recordings"}`;
  const child = spawnGit(gitDir, {
    args: ["-c", "core.compression=0", "fast-import", "--quiet", "--done"],
  });
  const writer = child.stdin.getWriter();
  const stderr = new Response(child.stderr).text();
  const stdout = new Response(child.stdout).text();
  const long = options.history === "long";
  let time = options.startTime ?? 1_700_000_000;
  let commits = 0;
  let bytes = 0;
  const parts: Uint8Array[] = [];
  let pending = 0;
  const put = async (part: Uint8Array | string) => {
    const data = typeof part === "string" ? encoder.encode(part) : part;
    parts.push(data);
    pending += data.length;
    if (pending < 1 << 20) return;
    for (const queued of parts.splice(0)) await writer.write(queued);
    pending = 0;
  };
  const commit = async (message: string) => {
    const body = encoder.encode(message);
    await put(
      `commit ${ref}\ncommitter asciinema-chunker <asciinema-chunker@localhost> ${time} +0000\n` +
        `data ${body.length}\n`,
    );
    await put(body);
    await put("\n");
    commits++;
    if (commits % 10_000 === 0) options.onProgress?.(commits);
  };
  const file = async (path: string, data: Uint8Array) => {
    await put(`M 100644 inline ${quoteFastImportPath(path)}\ndata ${data.length}\n`);
    await put(data);
    await put("\n");
  };
  if (!long) await commit("all recordings at once\n");
  const ids: string[] = [];
  const finished = options.recordings - (options.inProgress ?? 0);
  for (let n = 0; n < options.recordings; n++) {
    const id = recordingId(n);
    ids.push(id);
    const chunks = recordingChunks(n, {
      chunks: options.chunksPerRecording,
      linesPerChunk: options.linesPerChunk,
    });
    const whole = createHash("sha256");
    const started = time;
    let start = 0;
    for (const [seq, raw] of chunks.entries()) {
      const end = start + raw.length;
      whole.update(raw);
      const item = { id, seq, start, end, sha256: createHash("sha256").update(raw).digest("hex") };
      if (long) await commit(chunkCommitMessage(item));
      await file(chunkPathOnBranch(id, item), zstdCompressSync(raw));
      if (options.records) await put(chunkSumCommand(item, time));
      if (long) time += 20;
      start = end;
      bytes += raw.length;
    }
    if (n < finished) {
      const manifest = {
        id,
        source: id,
        generation: 1,
        total_bytes: start,
        chunks: chunks.length,
        sha256: whole.digest("hex"),
        started: new Date(started * 1000).toISOString(),
        ended: new Date(time * 1000).toISOString(),
        asciicast_version: 2,
      };
      if (long) await commit(`manifest ${id}\n\nCast-Id: ${id}\n`);
      await file(
        manifestPathOnBranch(id),
        encoder.encode(JSON.stringify(manifest, null, 2) + "\n"),
      );
      if (long) time += 20;
    }
  }
  await put("done\n");
  for (const queued of parts.splice(0)) await writer.write(queued);
  await writer.close();
  const [status, err] = await Promise.all([child.status, stderr, stdout]);
  if (!status.success) throw new Error(`fast-import failed: ${err}`);
  return { ids, commits, bytes };
}
