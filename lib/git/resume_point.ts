/**
 * Where a recording without a checkpoint resumes, from what the branch holds
 * ({@linkcode resumePointFor}), and the check that the local file still
 * starts with those bytes ({@linkcode checkResumePoint}).
 *
 * @module
 */
import { errorMessage } from "../sys/mod.ts";
import { CHUNK_SUMS_FOLDER, chunkSumName, parseChunkName, sha256Range } from "../chunk/mod.ts";
import type { ChunkEntry } from "./branch_index.ts";
import { foldersByPrefix, readFolders } from "./claim.ts";

/** Where the daemon can continue a recording whose checkpoint is lost. */
export interface ResumePoint {
  /** Sequence number of the next chunk to cut (= chunks in the contiguous prefix). */
  next_seq: number;
  /** Byte offset where the next chunk starts (= end of the contiguous prefix). */
  end: number;
  /** The contiguous prefix: seq 0..next_seq-1 tiling [0, end), with their checksums. */
  chunks: { seq: number; start: number; end: number; sha256?: string }[];
  /** `Cast-Sha256` of each prefix chunk, indexed by seq (`undefined` when unknown). */
  sha256s: (string | undefined)[];
  /** Chunks on the branch that are not part of the prefix (after a gap, or duplicates). */
  beyond: ChunkEntry[];
}

/**
 * The resume point of one recording from its branch entries: the longest
 * prefix with seq 0, 1, 2, ... whose ranges tile [0, end) exactly. Entries
 * after a gap or overlap are returned in `beyond` (the daemon should log
 * them; they cannot be continued safely).
 */
export function resumePointFor(entries: readonly ChunkEntry[]): ResumePoint {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq || a.start - b.start);
  const point: ResumePoint = { next_seq: 0, end: 0, chunks: [], sha256s: [], beyond: [] };
  for (const entry of sorted) {
    if (point.beyond.length === 0 && entry.seq === point.next_seq && entry.start === point.end) {
      point.chunks.push({
        seq: entry.seq,
        start: entry.start,
        end: entry.end,
        sha256: entry.sha256,
      });
      point.sha256s.push(entry.sha256);
      point.next_seq++;
      point.end = entry.end;
    } else {
      point.beyond.push(entry);
    }
  }
  return point;
}

/** Result of {@linkcode checkResumePoint}. */
export type ResumeCheck =
  | { ok: true; checked: number }
  | { ok: false; seq?: number; start: number; end: number; reason: string };

/**
 * Checks that the local `.cast` at `castPath` really is the recording the
 * branch holds up to `point.end`: it is at least that long and each prefix
 * chunk's bytes match its `Cast-Sha256`. Use before continuing from `point`;
 * when not ok, the file is a different recording (cut it as a new generation).
 * `lastOnly` checks just the last chunk with a checksum (cheap, O(chunk)).
 */
export async function checkResumePoint(
  castPath: string,
  point: ResumePoint,
  options: { lastOnly?: boolean } = {},
): Promise<ResumeCheck> {
  let size: number;
  try {
    size = (await Deno.stat(castPath)).size;
  } catch (error) {
    return {
      ok: false,
      start: 0,
      end: point.end,
      reason: `cannot read: ${errorMessage(error)}`,
    };
  }
  if (size < point.end) {
    return {
      ok: false,
      start: size,
      end: point.end,
      reason: `the file has ${size} bytes, the branch already holds ${point.end}`,
    };
  }
  let chunks = point.chunks.filter((chunk) => chunk.sha256);
  if (options.lastOnly) chunks = chunks.slice(-1);
  for (const chunk of chunks) {
    const actual = await sha256Range(castPath, chunk.start, chunk.end);
    if (actual !== chunk.sha256) {
      return {
        ok: false,
        seq: chunk.seq,
        start: chunk.start,
        end: chunk.end,
        reason: `bytes ${chunk.start}-${chunk.end} differ from chunk #${chunk.seq} on the branch`,
      };
    }
  }
  return { ok: true, checked: chunks.length };
}

/** A folder on the branch that may hold a recording whose checkpoint is lost. */
export interface ResumeCandidate {
  /** The folder (`<id>`, or `<id>~…`: a later generation, or one moved away from another's). */
  folder: string;
  /** Its chunks, sorted by sequence, with `record`: the blob of the chunk's record, when it has one. */
  entries: ChunkEntry[];
}

/**
 * The folders of `commit` that may hold each of `ids`: the id itself and
 * every `<id>~…`, with their chunks and the blobs of their records, from the
 * tip's trees alone (no blob is read, no history walked: a filtered clone
 * has the trees, not every blob; the caller reads what it needs).
 */
export async function resumeCandidates(
  gitDir: string,
  commit: string,
  ids: readonly string[],
  options: { globalConfig?: string; signal?: AbortSignal } = {},
): Promise<Map<string, ResumeCandidate[]>> {
  const found = new Map<string, ResumeCandidate[]>();
  const byPrefix = await foldersByPrefix(gitDir, commit, options);
  const folders = new Map<string, ResumeCandidate>();
  for (const id of ids) {
    const list = [...byPrefix.get(id) ?? []].map((folder) => ({ folder, entries: [] }));
    if (list.length) found.set(id, list);
    for (const candidate of list) folders.set(candidate.folder, candidate);
  }
  if (folders.size === 0) return found;
  const views = await readFolders(gitDir, commit, folders.keys(), options);
  for (const candidate of folders.values()) {
    const view = views.get(candidate.folder);
    for (const name of view?.chunks.values() ?? []) {
      const range = parseChunkName(name)!;
      const record = view!.blobs.get(`recordings/${CHUNK_SUMS_FOLDER}/${chunkSumName(range)}`);
      candidate.entries.push({
        id: candidate.folder,
        ...range,
        path: `chunks/${candidate.folder}/${name}`,
        blob: view!.blobs.get(`chunks/${name}`)!,
        size: 0,
        ...(record ? { record } : {}),
      });
    }
    candidate.entries.sort((a, b) => a.seq - b.seq || a.start - b.start);
  }
  return found;
}
