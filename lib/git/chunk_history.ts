/**
 * Chunk details from the branch's history, for chunks committed before
 * their records were kept beside them (lib/chunk/chunk_sum.ts): the
 * `Cast-*` trailers of the commits that added them, read with one
 * `git log` limited to those recordings' folders. This is the only reader
 * that walks history; lib/git/branch_index.ts calls it only for chunks
 * without a record.
 *
 * @module
 */
import { git, GitError, type GitOptions } from "./hermetic.ts";

/** Trailers of one chunk commit. */
export interface ChunkTrailers {
  /** `Cast-Id`. */
  id: string;
  /** `Cast-Seq`. */
  seq: number;
  /** `Cast-Range` start. */
  start: number;
  /** `Cast-Range` end. */
  end: number;
  /** `Cast-Sha256`, when present. */
  sha256?: string;
}

/** Reads the `Cast-*` trailers of a commit message; `undefined` unless it is a chunk commit. */
export function parseChunkTrailers(message: string): ChunkTrailers | undefined {
  const values = new Map<string, string>();
  for (const line of message.split("\n")) {
    const match = /^Cast-(Id|Seq|Range|Sha256): ?(.*)$/.exec(line);
    if (match) values.set(match[1], match[2].replace(/\r$/, ""));
  }
  const id = values.get("Id");
  const seq = values.get("Seq");
  const range = /^(\d+)-(\d+)$/.exec(values.get("Range") ?? "");
  if (!id || !seq || !/^\d+$/.test(seq) || !range) return undefined;
  const sha = values.get("Sha256")?.trim().toLowerCase();
  return {
    id,
    seq: Number(seq),
    start: Number(range[1]),
    end: Number(range[2]),
    sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined,
  };
}

/** The key of a chunk in {@linkcode chunkTrailersFromHistory}'s answer. */
export function trailerKey(chunk: { id: string; seq: number; start: number; end: number }): string {
  return `${chunk.id}\0${chunk.seq}\0${chunk.start}\0${chunk.end}`;
}

/** What the commit that added a chunk says about it. */
export interface HistoryDetails {
  /** `Cast-Sha256`, when present. */
  sha256?: string;
  commit: string;
  /** Its committer time (Unix seconds). */
  committedAt: number;
}

/** Recordings whose folders are named to `git log` one by one; more read the whole folder. */
export const MAX_PATHSPECS = 32;

/**
 * The trailers of every chunk commit of the recordings `ids` reachable from
 * `tip`, by {@linkcode trailerKey}; when several commits name a chunk, the
 * oldest (the one that added it) wins.
 */
export async function chunkTrailersFromHistory(
  tip: string,
  ids: readonly string[],
  options: GitOptions & { gitDir: string },
): Promise<Map<string, HistoryDetails>> {
  const found = new Map<string, HistoryDetails>();
  if (ids.length === 0) return found;
  // git matches every path a commit changed against every pathspec: with a folder per
  // recording, listing 1,000 old recordings took 5 s of git's CPU for 1,000 commits. Past a
  // few, the whole chunks folder is one pathspec and the others' trailers are dropped here.
  const wanted = ids.length > MAX_PATHSPECS ? new Set(ids) : undefined;
  const args = [
    "--literal-pathspecs",
    "log",
    "-z",
    "--format=%H%n%ct%n%B",
    tip,
    "--",
    ...(wanted ? ["chunks/"] : ids.map((id) => `chunks/${id}/`)),
  ];
  const log = await git(args, options);
  if (!log.success) throw new GitError(args.slice(1), log);
  for (const record of log.stdout.split("\0")) {
    const first = record.indexOf("\n");
    if (first < 0) continue;
    const second = record.indexOf("\n", first + 1);
    const commit = record.slice(0, first).trim();
    const committedAt = Number(record.slice(first + 1, second < 0 ? undefined : second));
    const parsed = parseChunkTrailers(second < 0 ? "" : record.slice(second + 1));
    if (!parsed || (wanted && !wanted.has(parsed.id))) continue;
    // Newest first: a later (older) commit overwrites.
    found.set(trailerKey(parsed), { sha256: parsed.sha256, commit, committedAt });
  }
  return found;
}
