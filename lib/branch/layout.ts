/**
 * The structural checks of a recording on a branch, without reading any
 * content: sequence numbers 0, 1, 2, ..., byte ranges tiling `[0, end)`, and
 * agreement with the manifest. Pure.
 *
 * @module
 */
import type { ChunkEntry, Manifest } from "../git/mod.ts";

/** What kind of problem a chunk or recording has. */
export type ProblemKind =
  | "missing"
  | "overlap"
  | "duplicate"
  | "checksum"
  | "corrupt"
  | "truncated"
  | "length"
  | "unreadable"
  | "manifest"
  | "stray"
  | "undecryptable";

/** One problem, with the chunk and byte range concerned. */
export interface Problem {
  kind: ProblemKind;
  /** Recording id. */
  id: string;
  /** Chunk sequence number (first one, for a run of missing chunks). */
  seq?: number;
  /** Last sequence number of a run of missing chunks. */
  seqEnd?: number;
  /** Byte range start. */
  start?: number;
  /** Byte range end (exclusive). */
  end?: number;
  /** Path on the branch. */
  path?: string;
  /** A sentence for people. */
  message: string;
}

/**
 * Problems in one line, for an error message: the first one, how many more,
 * and where the full report is (`daemon.ts verify`).
 */
export function problemSummary(problems: readonly Problem[]): string {
  const more = problems.length - 1;
  return `${problems[0]?.message ?? "damaged"}${
    more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"})` : ""
  }; run \`daemon.ts verify\` for a full report`;
}

/** `chunk #N (bytes A-B)`. */
export function chunkLabel(entry: { seq: number; start: number; end: number }): string {
  return `chunk #${entry.seq} (bytes ${entry.start}-${entry.end})`;
}

/** A `missing` problem: bytes `[start, end)` (and sequence numbers `seqs`, inclusive) absent. */
function missing(
  id: string,
  gap: { seqs?: [number, number]; start: number; end: number; message: string },
): Problem {
  return {
    kind: "missing",
    id,
    seq: gap.seqs?.[0],
    seqEnd: gap.seqs?.[1],
    start: gap.start,
    end: gap.end,
    message: gap.message,
  };
}

function seqLabel(first: number, last: number): string {
  return first === last ? `chunk #${first}` : `chunks #${first}-#${last}`;
}

/**
 * The structural checks (no content read): sequence numbers 0, 1, 2, ...,
 * ranges tiling `[0, end)`, and agreement with the manifest.
 */
export function checkLayout(
  id: string,
  entries: readonly ChunkEntry[],
  manifest?: Manifest,
): Problem[] {
  const problems: Problem[] = [];
  const sorted = [...entries].sort((a, b) => a.seq - b.seq || a.start - b.start);
  let nextSeq = 0;
  let end = 0;
  for (const entry of sorted) {
    if (entry.seq < nextSeq) {
      problems.push({
        kind: "duplicate",
        id,
        seq: entry.seq,
        start: entry.start,
        end: entry.end,
        path: entry.path,
        message: `${chunkLabel(entry)}: a second chunk with sequence number ${entry.seq}`,
      });
      end = Math.max(end, entry.end);
      continue;
    }
    if (entry.start > end || entry.seq > nextSeq) {
      const seqs = entry.seq > nextSeq ? seqLabel(nextSeq, entry.seq - 1) : undefined;
      const bytes = entry.start > end ? `bytes ${end}-${entry.start}` : undefined;
      problems.push(missing(id, {
        seqs: entry.seq > nextSeq ? [nextSeq, entry.seq - 1] : undefined,
        start: end,
        end: Math.max(end, entry.start),
        message: seqs && bytes
          ? `${seqs} missing: ${bytes} are not on the branch`
          : seqs
          ? `${seqs} missing (sequence numbers skip to #${entry.seq}, bytes are contiguous at ${end})`
          : `gap before ${chunkLabel(entry)}: ${bytes} are not on the branch`,
      }));
    } else if (entry.start < end) {
      problems.push({
        kind: "overlap",
        id,
        seq: entry.seq,
        start: entry.start,
        end: Math.min(end, entry.end),
        path: entry.path,
        message: `${chunkLabel(entry)} overlaps the previous chunk on bytes ${entry.start}-${
          Math.min(end, entry.end)
        }`,
      });
    }
    nextSeq = entry.seq + 1;
    end = Math.max(end, entry.end);
  }
  if (manifest) {
    if (manifest.total_bytes > end) {
      const seqs = manifest.chunks > nextSeq ? `${seqLabel(nextSeq, manifest.chunks - 1)} ` : "";
      problems.push(missing(id, {
        seqs: manifest.chunks > nextSeq ? [nextSeq, manifest.chunks - 1] : undefined,
        start: end,
        end: manifest.total_bytes,
        message: `${seqs}missing at the end: the manifest says ${manifest.total_bytes} bytes, ` +
          `the chunks end at ${end} (bytes ${end}-${manifest.total_bytes} are not on the branch)`,
      }));
    } else if (manifest.total_bytes < end) {
      problems.push({
        kind: "manifest",
        id,
        start: manifest.total_bytes,
        end,
        message: `the manifest says ${manifest.total_bytes} bytes but the chunks reach ${end}`,
      });
    }
    if (manifest.chunks !== sorted.length && problems.length === 0) {
      problems.push({
        kind: "manifest",
        id,
        message: `the manifest says ${manifest.chunks} chunks, the branch has ${sorted.length}`,
      });
    }
    if (manifest.id !== id) {
      problems.push({
        kind: "manifest",
        id,
        message: `the manifest names recording ${JSON.stringify(manifest.id)}`,
      });
    }
  }
  return problems;
}
