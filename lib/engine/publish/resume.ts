/**
 * Where a recording without a checkpoint starts: from the branch, when the
 * branch already holds its bytes (the checkpoint was lost, `state/` deleted
 * or restored) — under its id, or under a folder it moved to (`<id>~…`).
 * Runs in the remote's queue, never in the engine's tick.
 *
 * Unknown is not empty (DESIGN.md invariant 16): {@linkcode lookUp} throws
 * when the branch could not be read (a clone that never reached the remote
 * and cannot now), and the caller keeps the recording provisional instead of
 * taking "nothing there" for an answer.
 *
 * @module
 */
import {
  BlobReader,
  type RepoClone,
  type ResumeCandidate,
  resumeCandidates,
  type ResumePoint,
  resumePointFor,
} from "../../git/mod.ts";
import {
  CHUNK_SUM_MAX_BYTES,
  decompressDigest,
  parseChunkSum,
  sha256Range,
} from "../../chunk/mod.ts";
import { log } from "../../sys/mod.ts";

/** What the branch says about where a recording starts. */
export type LookupAnswer =
  | { kind: "fresh" }
  | {
    kind: "resume";
    /** The folder holding its bytes. */
    folder: string;
    /** Bytes already on the branch. */
    end: number;
    /** Next sequence number. */
    nextSeq: number;
    /** The folder's claim (the blob of its first chunk): taken over. */
    token?: string;
  };

/** A recording to look up. */
export interface LookupRecording {
  /** Its id (file name without `.cast`). */
  id: string;
  /** Its `.cast`. */
  castPath: string;
}

/**
 * Looks recordings up on the clone's branch in one pass (a backlog of new
 * recordings costs one listing of the branch's folders, not one each).
 * Throws when the branch cannot be read.
 */
export async function lookUp(
  clone: RepoClone,
  recordings: readonly LookupRecording[],
  options: { globalConfig?: string; signal?: AbortSignal } = {},
): Promise<Map<string, LookupAnswer>> {
  const answers = new Map<string, LookupAnswer>();
  const tip = await clone.lookupTip();
  const candidates = tip
    ? await resumeCandidates(clone.gitDir, tip, recordings.map((rec) => rec.id), options)
    : new Map<string, ResumeCandidate[]>();
  for (const { id, castPath } of recordings) {
    let best: (LookupAnswer & { kind: "resume" }) | undefined;
    for (const candidate of candidates.get(id) ?? []) {
      const point = resumePointFor(candidate.entries);
      if (point.next_seq === 0 || (best && best.end >= point.end)) continue;
      if (point.beyond.length) {
        log("daemon").warn("Branch chunks of {id} after byte {end} do not follow on; ignored", {
          id: candidate.folder,
          end: point.end,
        });
      }
      if (!(await holdsPrefix(clone, castPath, point, candidate, options))) continue;
      best = {
        kind: "resume",
        folder: candidate.folder,
        end: point.end,
        nextSeq: point.next_seq,
        token: candidate.entries.find((entry) => entry.seq === 0)?.blob,
      };
    }
    answers.set(id, best ?? { kind: "fresh" });
  }
  return answers;
}

/**
 * True when the file at `castPath` starts with the bytes `point` covers, as
 * far as its last chunk tells: the sha256 in the chunk's record against the
 * file's range, or (no record: a branch written before records) the chunk
 * itself, decompressed. What a filtered clone lacks is fetched first. An
 * encrypted chunk's record holds no sha256: its size must fit.
 */
async function holdsPrefix(
  clone: RepoClone,
  castPath: string,
  point: ResumePoint,
  candidate: ResumeCandidate,
  options: { globalConfig?: string; signal?: AbortSignal },
): Promise<boolean> {
  const size = await Deno.stat(castPath).then((info) => info.size, () => -1);
  if (size < point.end) return false;
  const last = point.chunks.at(-1)!;
  const entry = candidate.entries.find((one) => one.seq === last.seq && one.start === last.start)!;
  if (entry.encrypted) return true;
  const actual = await sha256Range(castPath, last.start, last.end);
  if (entry.record) {
    await clone.fetchBlob(entry.record);
    const reader = BlobReader.open(clone.gitDir, options);
    try {
      const [body] = await reader.readSmall([entry.record], CHUNK_SUM_MAX_BYTES);
      const sum = body ? parseChunkSum(new TextDecoder().decode(body)) : undefined;
      if (sum?.sha256) return sum.sha256 === actual;
    } finally {
      await reader.close();
    }
  }
  await clone.fetchBlob(entry.blob);
  const reader = BlobReader.open(clone.gitDir, options);
  try {
    const digest = await decompressDigest(ReadableStream.from(reader.stream(entry.blob)), options);
    return digest.ok && digest.length === last.end - last.start && digest.sha256 === actual;
  } finally {
    await reader.close();
  }
}
