/**
 * Deterministic chunk names: `<seq 6 digits>_<start>-<end>.cast.zst`, where
 * `[start, end)` is the byte range of the `.cast` the chunk holds, and
 * `<seq>_<start>-<end>.cast.zst.age` for a chunk encrypted with age. Both
 * forms are read everywhere: a branch may hold plain chunks followed by
 * encrypted ones.
 *
 * @module
 */

/** A chunk's place in its recording. */
export interface ChunkRange {
  /** Sequence number, from 0. */
  seq: number;
  /** First byte (inclusive). */
  start: number;
  /** Last byte (exclusive). */
  end: number;
  /** Encrypted with age (`.cast.zst.age`); absent: plain zstd. */
  encrypted?: boolean;
}

const NAME = /^(\d{6,})_(\d+)-(\d+)\.cast\.zst(\.age)?$/;

/** Formats a chunk's file name. */
export function formatChunkName(range: ChunkRange): string {
  return `${String(range.seq).padStart(6, "0")}_${range.start}-${range.end}.cast.zst${
    range.encrypted ? ".age" : ""
  }`;
}

/** Parses a chunk's file name; `undefined` when it is not one. */
export function parseChunkName(name: string): ChunkRange | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const range: ChunkRange = {
    seq: Number(match[1]),
    start: Number(match[2]),
    end: Number(match[3]),
  };
  if (match[4]) range.encrypted = true;
  // Numbers past 2^53 are not exact: such a name is a hostile or broken branch's, not a chunk.
  const exact = [range.seq, range.start, range.end].every((n) => Number.isSafeInteger(n));
  return exact && range.end > range.start ? range : undefined;
}

/** The path of a chunk on the branch: `chunks/<id>/<name>`. */
export function chunkPathOnBranch(id: string, range: ChunkRange): string {
  return `chunks/${id}/${formatChunkName(range)}`;
}

/** The path of a recording's manifest on the branch (`manifest.json.age` when encrypted). */
export function manifestPathOnBranch(id: string, options: { encrypted?: boolean } = {}): string {
  return `recordings/${id}/manifest.json${options.encrypted ? ".age" : ""}`;
}
