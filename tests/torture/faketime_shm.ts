/**
 * libfaketime (0.9.10) makes a shared-memory pair for every process it is
 * preloaded into, `/dev/shm/faketime_shm_<pid>` and
 * `/dev/shm/sem.faketime_sem_<pid>`, and leaves it behind when the process
 * is killed (and often when it exits). The torture's daemons and their
 * children run under it: this removes the pairs of processes that are gone,
 * made since a given time, so a run leaves nothing in `/dev/shm`.
 *
 * @module
 */
import { join } from "node:path";

const SHM_DIR = "/dev/shm";
const PAIR = /^(?:faketime_shm|sem\.faketime_sem)_(\d+)$/;
/** File times come from the kernel's coarse clock: a file made just after `since` may read earlier. */
const COARSE_MS = 1000;

/**
 * Removes libfaketime's pairs in `dir` (default `/dev/shm`) made at or
 * after `since` (ms since the epoch, give or take a second) whose process
 * is gone; returns how many files it removed. A live process's pair stays.
 */
export async function sweepFaketimeShm(
  since: number,
  options: { dir?: string; alive?: (pid: number) => boolean } = {},
): Promise<number> {
  const dir = options.dir ?? SHM_DIR;
  const alive = options.alive ?? processAlive;
  let removed = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return 0; // no /dev/shm here: nothing was made
  }
  for (const entry of entries) {
    const pid = Number(PAIR.exec(entry.name)?.[1]);
    if (!entry.isFile || !Number.isInteger(pid) || alive(pid)) continue;
    try {
      const path = join(dir, entry.name);
      const made = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      if (made < since - COARSE_MS) continue;
      await Deno.remove(path);
      removed++;
    } catch {
      // gone already (another run swept it)
    }
  }
  return removed;
}

/** True while `/proc/<pid>` exists. */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
