/**
 * Detached mode, for machines without a user service manager (containers,
 * CI): `daemon.ts start --detach` starts the daemon in its own session
 * (Deno `detached`: setsid), stdin from /dev/null, stdout and stderr
 * appended to `logs/detached-stdout.log` and `logs/detached-stderr.log`. It
 * survives the terminal closing but nothing restarts it after a crash.
 *
 * The child claims the locked pidfile (lib/service/pidfile.ts) itself; the parent
 * waits until the pidfile names the child. `daemon.ts stop` sends SIGTERM to
 * the pid in the locked pidfile and waits for the lock to go.
 *
 * @module
 */
import { inspectPidfile, type PidfileState } from "./pidfile.ts";
import {
  delay,
  ensureHome,
  errorMessage,
  type HomePaths,
  pidAlive,
  withTimeout,
} from "../sys/mod.ts";
import type { ServiceSpec } from "./program.ts";

/** Arguments that replace `run` for the detached child (claims the pidfile, then runs). */
export const DETACHED_RUN_ARGS: readonly string[] = ["service", "run-detached"];

/** What the detached child is told, for people. */
export const NO_RESTART_NOTE =
  "Detached mode: the daemon survives closing the terminal, but nothing restarts it if it " +
  "crashes or the machine reboots (run `deno task daemon-start` again then).";

/** The argv of the detached child: the service program with `run` replaced. */
export function detachedArgv(spec: ServiceSpec): string[] {
  const argv = [...spec.program.argv];
  if (argv[argv.length - 1] === "run") argv.pop();
  return [...argv, ...DETACHED_RUN_ARGS];
}

/**
 * The shell line that turns core dumps off (a crash must not write the token
 * to disk), redirects the child's output and replaces itself with it.
 */
export const REDIRECT_SCRIPT = "ulimit -c 0 2>/dev/null; " +
  'out=$1; err=$2; shift 2; exec "$@" </dev/null >>"$out" 2>>"$err"';

/** Result of {@linkcode startDetached}. */
export type DetachResult =
  | { status: "started"; pid: number }
  | { status: "already-running"; pid: number; mode?: string }
  | { status: "failed"; message: string; code?: number };

/** Options of {@linkcode startDetached}. */
export interface StartDetachedOptions {
  /** How long to wait for the child to claim the pidfile (default 60 s). */
  timeoutMs?: number;
  /** Base environment (default this process's); the spec's variables override it. */
  baseEnv?: Record<string, string>;
}

async function touchPrivate(path: string): Promise<number> {
  const file = await Deno.open(path, { create: true, append: true, mode: 0o600 });
  try {
    return (await file.stat()).size;
  } finally {
    file.close();
  }
}

async function tail(path: string, from: number, lines = 15): Promise<string> {
  try {
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder().decode(bytes.subarray(from));
    // deno-lint-ignore no-control-regex
    return text.replace(/\u001b\[[0-9;]*m/g, "").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Starts the daemon detached and waits until it holds the pidfile. The
 * child inherits this environment (so an `env` credential store keeps
 * working) with the service variables on top.
 */
export async function startDetached(
  paths: HomePaths,
  spec: ServiceSpec,
  options: StartDetachedOptions = {},
): Promise<DetachResult> {
  const before = await inspectPidfile(paths);
  if (before.state === "running") {
    return { status: "already-running", pid: before.pid, mode: before.mode };
  }
  await ensureHome(paths);
  await touchPrivate(spec.stdoutPath);
  const stderrStart = await touchPrivate(spec.stderrPath);
  const env = { ...(options.baseEnv ?? Deno.env.toObject()), ...spec.env };
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", REDIRECT_SCRIPT, "sh", spec.stdoutPath, spec.stderrPath, ...detachedArgv(spec)],
    cwd: spec.workingDirectory,
    env,
    clearEnv: true,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((value) => exited = value);
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  let state: PidfileState = { state: "absent" };
  while (performance.now() < deadline) {
    state = await inspectPidfile(paths);
    if (state.state === "running" && state.pid === child.pid) {
      child.unref();
      return { status: "started", pid: child.pid };
    }
    if (exited) break;
    await withTimeout(status, 100);
  }
  const output = await tail(spec.stderrPath, stderrStart);
  if (exited) {
    if (state.state === "running") {
      return { status: "already-running", pid: state.pid, mode: state.mode };
    }
    return {
      status: "failed",
      code: exited.code,
      message: `the daemon exited at once (status ${exited.code})` +
        (output ? `:\n${output}` : `; see ${spec.stderrPath}`),
    };
  }
  child.unref();
  return {
    status: "failed",
    message:
      `the daemon (pid ${child.pid}) did not take the pidfile within ${
        Math.round((options.timeoutMs ?? 60_000) / 1000)
      } s; see ${spec.stderrPath}` + (output ? `:\n${output}` : ""),
  };
}

/** Result of {@linkcode stopPidfileDaemon}. */
export type StopResult =
  | { status: "stopped"; pid: number }
  | { status: "not-running" }
  | { status: "stale"; pid: number }
  | { status: "timeout"; pid: number }
  | { status: "failed"; pid: number; message: string };

/**
 * Stops the daemon named by the locked pidfile: SIGTERM, then waits up to
 * `timeoutMs` (default 3 s) for it to let go of the pidfile. A stale
 * pidfile (nobody holds it) is reported as such; nothing is killed then.
 */
export async function stopPidfileDaemon(
  paths: HomePaths,
  options: { timeoutMs?: number } = {},
): Promise<StopResult> {
  const state = await inspectPidfile(paths);
  if (state.state === "absent") return { status: "not-running" };
  if (state.state === "stale") return { status: "stale", pid: state.pid };
  if (state.pid <= 0) return { status: "failed", pid: 0, message: "the pidfile has no pid yet" };
  try {
    Deno.kill(state.pid, "SIGTERM");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      return {
        status: "failed",
        pid: state.pid,
        message: errorMessage(error),
      };
    }
  }
  const deadline = performance.now() + (options.timeoutMs ?? 3_000);
  while (performance.now() < deadline) {
    const now = await inspectPidfile(paths);
    // It lets go of the pidfile just before it exits: wait for both.
    if ((now.state !== "running" || now.pid !== state.pid) && !(await pidAlive(state.pid))) {
      return { status: "stopped", pid: state.pid };
    }
    await delay(50);
  }
  return { status: "timeout", pid: state.pid };
}
