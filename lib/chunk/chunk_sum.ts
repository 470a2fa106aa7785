/**
 * A chunk's record beside the recording: `recordings/<id>/chunks/<seq>_<start>-<end>`,
 * added in the chunk's own commit. It holds what that commit's trailers say
 * (the sha256 of the chunk's raw bytes, and when it was committed), so a
 * reader finds it in the tip's tree instead of walking the branch's history.
 * An encrypted chunk's record has no hash (DESIGN.md invariant 14): only its
 * time. `chunks/<id>/` itself holds nothing but chunks, so
 * `git archive … chunks/<id> | tar -xO | zstd -d` still restores.
 *
 * The format is lines of `key: value`; unknown keys are ignored. Pure.
 *
 * @module
 */
import type { ChunkRange } from "./chunk_name.ts";

/** What the record of one chunk says. */
export interface ChunkSum {
  /** sha256 (hex) of the raw bytes; absent for an encrypted chunk. */
  sha256?: string;
  /** When the chunk was committed (Unix seconds). */
  committed?: number;
}

/** The folder of a recording's chunk records, under `recordings/<id>/`. */
export const CHUNK_SUMS_FOLDER = "chunks";

/** Records longer than this are not read (a hostile branch cannot make a reader hold more). */
export const CHUNK_SUM_MAX_BYTES = 1024;

const NAME = /^(\d{6,})_(\d+)-(\d+)$/;

/** The name of a chunk's record: `<seq 6 digits>_<start>-<end>`. */
export function chunkSumName(range: ChunkRange): string {
  return `${String(range.seq).padStart(6, "0")}_${range.start}-${range.end}`;
}

/** The path of a chunk's record on the branch: `recordings/<id>/chunks/<seq>_<start>-<end>`. */
export function chunkSumPathOnBranch(id: string, range: ChunkRange): string {
  return `recordings/${id}/${CHUNK_SUMS_FOLDER}/${chunkSumName(range)}`;
}

/** Parses a record's name; `undefined` when it is not one. */
export function parseChunkSumName(name: string): ChunkRange | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const range = { seq: Number(match[1]), start: Number(match[2]), end: Number(match[3]) };
  return range.end > range.start ? range : undefined;
}

/** The record's text (`Cast-Sha256` only when given). */
export function formatChunkSum(sum: ChunkSum): string {
  return [
    ...(sum.sha256 ? [`Cast-Sha256: ${sum.sha256}`] : []),
    ...(sum.committed !== undefined ? [`Cast-Committed: ${sum.committed}`] : []),
    "",
  ].join("\n");
}

/** Reads a record; `undefined` when it is not one (too long, or a malformed value). */
export function parseChunkSum(text: string): ChunkSum | undefined {
  if (text.length > CHUNK_SUM_MAX_BYTES) return undefined;
  const sum: ChunkSum = {};
  for (const line of text.split("\n")) {
    const match = /^Cast-(Sha256|Committed): ?(.*?)\r?$/.exec(line);
    if (!match) continue;
    const value = match[2].trim();
    if (match[1] === "Sha256") {
      if (!/^[0-9a-f]{64}$/.test(value)) return undefined;
      sum.sha256 = value;
    } else {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      sum.committed = Number(value);
    }
  }
  return sum;
}
