/**
 * Starts a child in its own session (and so its own process group), so a
 * timeout can end everything it started.
 *
 * Deno's `detached: true` does this with a `setsid()` between fork and exec,
 * which makes Rust give up `posix_spawn` for a full `fork()`: the kernel
 * copies the whole page table of the Deno process, then the child unmaps it
 * again. Measured here: 5 ms per spawn for a small Deno process, 23 ms with
 * 300 MB in use, against 1.1 ms for a plain spawn; the daemon and the test
 * suite spawn git thousands of times. On Linux, util-linux's `setsid`
 * program does the same from a plain spawn: it calls `setsid()` and execs
 * the command in place (same pid, which leads the new group). Elsewhere, or
 * when `setsid` is missing or not allowed, `detached: true` as before.
 *
 * A command the process may not run is never reached through `setsid`
 * (Deno's `--allow-run` list is asked first, so it keeps its meaning).
 *
 * Ending the group: `Deno.kill` needs the permission to run every program,
 * which the service's `--allow-run` list is not; there the `kill` program
 * (allowed by that list) signals the group, and the child's own handle its
 * leader, so a timeout still ends a hanging `git` and what it started.
 *
 * @module
 */

/** Where util-linux puts `setsid`, in the order tried. */
const SETSID_PATHS = ["/usr/bin/setsid", "/bin/setsid"] as const;

/** util-linux `setsid`'s exit status when the command is not found (EX_EXEC_ENOENT). */
const SETSID_NOT_FOUND = 127;

/** The `setsid` in use: a path, null when none works, undefined before the first spawn. */
let setsidPath: string | null | undefined = Deno.build.os === "linux" ? undefined : null;

/** Options for {@linkcode spawnInSession}: `Deno.CommandOptions` without `detached`. */
export type SessionSpawnOptions = Omit<Deno.CommandOptions, "detached" | "args"> & {
  args?: string[];
};

/** The program and arguments that run `command` in a new session through `setsid`. */
export function setsidCommand(
  setsid: string,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  // `--`: the command is never read as one of setsid's options. `-w`: should setsid ever have to
  // fork (it does when it leads a process group, which a fresh child never does), its exit
  // status is still the command's.
  return { command: setsid, args: ["-w", "--", command, ...args] };
}

/**
 * True when a child's stderr is `setsid`'s own "command not found" (the
 * command itself was missing, as a direct spawn's `NotFound` would say).
 */
export function setsidNotFound(code: number, stderr: string): boolean {
  return code === SETSID_NOT_FOUND &&
    /^setsid: failed to execute .*: No such file or directory\s*$/.test(stderr);
}

/** True when this process may run `command` (asked without a prompt). */
export function runGranted(command: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "run", command }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Spawns `command` as the leader of a new session. `viaSetsid` in the result
 * says whether a `setsid` program stands in front of it (then its exit 127
 * with {@linkcode setsidNotFound} means the command was not found).
 */
export function spawnInSession(
  command: string,
  options: SessionSpawnOptions,
): { child: Deno.ChildProcess; viaSetsid: boolean } {
  const args = options.args ?? [];
  if (setsidPath !== null && runGranted(command)) {
    // The permission is asked once: a `setsid` in use was allowed when it was found.
    const candidates = setsidPath === undefined ? SETSID_PATHS.filter(runGranted) : [setsidPath];
    for (const setsid of candidates) {
      const wrapped = setsidCommand(setsid, command, args);
      try {
        const child = new Deno.Command(wrapped.command, { ...options, args: wrapped.args })
          .spawn();
        setsidPath = setsid;
        return { child, viaSetsid: true };
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    if (setsidPath === undefined) setsidPath = null;
  }
  return {
    child: new Deno.Command(command, { ...options, args, detached: true }).spawn(),
    viaSetsid: false,
  };
}

/** How long the `kill` program may take (it signals and exits at once). */
const KILL_PROGRAM_TIMEOUT_MS = 5000;

/**
 * Sends `signal` to the session `child` leads: every process in its group.
 * Never throws (a process already gone is fine).
 */
export function killSession(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    Deno.kill(-child.pid, signal);
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) return; // gone already
  }
  // A --allow-run list: the `kill` program for the group, the handle for its leader.
  if (runGranted("kill")) {
    try {
      new Deno.Command("kill", {
        args: ["-s", signal.replace(/^SIG/, ""), "--", `-${child.pid}`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(KILL_PROGRAM_TIMEOUT_MS),
      }).output().catch(() => {});
    } catch {
      // not found: the leader alone, below
    }
  }
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}
