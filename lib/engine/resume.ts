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

/**
 * Looks recordings up on the clone's branch in one pass (a backlog of new
 * recordings costs one branch listing, not one each). The answer for an id
 * is undefined when the branch has none of it.
 */
export async function resumeFromBranch(
  clone: RepoClone,
  options: { recordings: { id: string; castPath: string }[]; signal?: AbortSignal },
): Promise<Map<string, ResumeFromBranch | undefined>> {
  await clone.ensure();
  const answers = new Map<string, ResumeFromBranch | undefined>();
  const listed = await listBranchChunks(clone.gitDir, `refs/heads/${clone.target.branch}`, {
    ids: options.recordings.map((rec) => rec.id),
    signal: options.signal,
  });
  for (const { id, castPath } of options.recordings) {
    const point = resumePointFor(listed.get(id) ?? []);
    if (point.next_seq === 0) {
      answers.set(id, undefined);
      continue;
    }
    if (point.beyond.length) {
      log("daemon").warn("Branch chunks of {id} after byte {end} do not follow on; ignored", {
        id,
        end: point.end,
      });
    }
    const check = await checkResumePoint(castPath, point, { lastOnly: true });
    answers.set(id, { end: point.end, nextSeq: point.next_seq, matches: check.ok });
  }
  return answers;
}
