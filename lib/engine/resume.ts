/**
 * Where a recording without a checkpoint starts: from the branch, when the
 * branch already holds chunks of its id (the checkpoint was lost, `state/`
 * deleted) and the file still matches them. Runs in the remote's queue with
 * the clone's own short fetch timeout, never in the engine's tick.
 *
 * @module
 */
import { checkResumePoint, listBranchChunks, type RepoClone, resumePointFor } from "../git/mod.ts";
import { log } from "../sys/mod.ts";

/** Where to continue `id`, from the branch. */
export interface ResumeFromBranch {
  /** Bytes already on the branch. */
  end: number;
  /** Next sequence number. */
  nextSeq: number;
  /** The file's bytes match the branch's last chunk. */
  matches: boolean;
}

/** Looks `id` up on the clone's branch; undefined when the branch has none of it. */
export async function resumeFromBranch(
  clone: RepoClone,
  options: { id: string; castPath: string; signal?: AbortSignal },
): Promise<ResumeFromBranch | undefined> {
  await clone.ensure();
  const entries = (await listBranchChunks(clone.gitDir, `refs/heads/${clone.target.branch}`, {
    ids: [options.id],
    signal: options.signal,
  })).get(options.id) ?? [];
  const point = resumePointFor(entries);
  if (point.next_seq === 0) return undefined;
  if (point.beyond.length) {
    log("daemon").warn("Branch chunks of {id} after byte {end} do not follow on; ignored", {
      id: options.id,
      end: point.end,
    });
  }
  const check = await checkResumePoint(options.castPath, point, { lastOnly: true });
  return { end: point.end, nextSeq: point.next_seq, matches: check.ok };
}
