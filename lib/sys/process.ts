/**
 * Process liveness, without signalling the process and without needing
 * `--allow-all`: `/proc/<pid>/stat` where it can be read, else `kill -0`.
 *
 * @module
 */
import { run } from "./exec.ts";

/**
 * True when process `pid` exists (a zombie counts as gone). When neither
 * `/proc` nor `kill` can answer, it says alive: never declare a live
 * recorder or daemon dead on a guess.
 */
export async function pidAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (Deno.build.os === "linux") {
    try {
      const status = await Deno.readTextFile(`/proc/${pid}/stat`);
      return !/^\d+ \(.*\) Z /s.test(status);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      // NotCapable / PermissionDenied (narrow permissions): ask kill(1).
    }
  }
  let result;
  try {
    result = await run("kill", { args: ["-0", String(pid)], timeoutMs: 5_000 });
  } catch {
    return true; // kill cannot be run (narrow permissions): no answer, so alive
  }
  if (result.code === 127 || result.timedOut) return true;
  if (result.success) return true;
  // kill -0 fails with EPERM for another user's live process.
  return /not permitted/i.test(result.stderr);
}
