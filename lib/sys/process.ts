/**
 * Process liveness, without signalling the process and without needing
 * `--allow-all`: `/proc/<pid>/stat` where it can be read, else `kill -0`;
 * and this process's core dumps turned off.
 *
 * @module
 */
import { errorMessage } from "./errors.ts";
import { failureDetail, run } from "./exec.ts";

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

/**
 * What {@linkcode disableCoreDumps} did: `lowered` (soft and hard limit 0),
 * `unavailable` (not Linux, or no `prlimit`: the service definition's limit
 * is what holds), or `failed` with the reason.
 */
export type CoreLimitResult =
  | { status: "lowered" }
  | { status: "unavailable"; reason: string }
  | { status: "failed"; reason: string };

/**
 * Sets this process's core file size limit to 0, soft and hard, so that a
 * crash never writes its memory (the token, recordings) to disk. Deno has no
 * setrlimit: on Linux this is `prlimit --pid <own pid> --core=0`
 * (util-linux) when it is installed, with a timeout. On macOS the
 * LaunchAgent's `Core` limits do it (and detached mode's `ulimit -c 0`).
 */
export async function disableCoreDumps(
  options: { os?: string; prlimit?: string } = {},
): Promise<CoreLimitResult> {
  const os = options.os ?? Deno.build.os;
  if (os !== "linux") return { status: "unavailable", reason: `no prlimit on ${os}` };
  try {
    const result = await run(options.prlimit ?? "prlimit", {
      args: ["--pid", String(Deno.pid), "--core=0"],
      timeoutMs: 5_000,
    });
    if (result.success) return { status: "lowered" };
    if (result.code === 127 && !result.timedOut) {
      return { status: "unavailable", reason: "prlimit (util-linux) is not installed" };
    }
    return { status: "failed", reason: `prlimit ${failureDetail(result, 200)}` };
  } catch (error) {
    return { status: "failed", reason: errorMessage(error) };
  }
}
