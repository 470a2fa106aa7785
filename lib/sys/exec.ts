/**
 * Runs external commands with a timeout, optional stdin and a controlled
 * environment. Secrets go to children through stdin or `env`, never argv.
 *
 * Every command runs in its own process group (unless it is `alone`: one
 * that starts no program): a timeout or an abort ends
 * the whole group (git and the ssh or hook it started), and once the command
 * itself has exited its output pipes are read for at most
 * {@linkcode PIPE_GRACE_MS} more, so something it left behind holding them
 * never keeps the caller waiting.
 *
 * @module
 */
import { withTimeout } from "./async.ts";
import { concatBytes } from "./bytes.ts";
import { KindedError } from "./errors.ts";
import { killSession, setsidNotFound, spawnInSession } from "./session_spawn.ts";

/** Options for {@linkcode run}. */
export interface RunOptions {
  /** Arguments (never secrets). */
  args?: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Start from an empty environment (plus `env`) instead of inheriting. */
  clearEnv?: boolean;
  /** Bytes or text written to the child's stdin (then closed). */
  stdin?: string | Uint8Array;
  /** Kill the child after this many milliseconds (default 60 s). */
  timeoutMs?: number;
  /**
   * Kill the child when it writes nothing (stdout or stderr) for this many
   * milliseconds: a limit that grows with progress (for example `git fetch
   * --progress`), within `timeoutMs`.
   */
  stallMs?: number;
  /** Abort the child early (for example on shutdown). */
  signal?: AbortSignal;
  /**
   * The command starts no program of its own (git plumbing such as
   * `rev-parse`): it is spawned plainly, without a session of its own (no
   * `setsid` in front of it), and a timeout or an abort ends it alone.
   */
  alone?: boolean;
}

/** What a finished command returned. */
export interface RunResult {
  /** Exit code (-1 when killed by a signal). */
  code: number;
  /** True when the exit code is 0 and it did not time out. */
  success: boolean;
  /** Captured stdout, decoded as UTF-8. */
  stdout: string;
  /** Captured stderr, decoded as UTF-8. */
  stderr: string;
  /** True when the timeout (or the stall limit) killed it. */
  timedOut: boolean;
  /** True when `signal` aborted it. */
  aborted: boolean;
}

/** How a command failed: it ran out of time, it was stopped, or it exited non-zero. */
export type CommandErrorKind = "timeout" | "aborted" | "exit";

/** How `result` failed. */
export function commandFailureKind(result: RunResult): CommandErrorKind {
  return result.timedOut ? "timeout" : result.aborted ? "aborted" : "exit";
}

/** A command that failed: what ran and its result. */
export class CommandError extends KindedError<CommandErrorKind> {
  /** The command that failed. */
  readonly command: string;
  readonly result: RunResult;
  /** Creates the error (`message` should say what failed and why). */
  constructor(command: string, result: RunResult, message?: string) {
    super(
      commandFailureKind(result),
      message ??
        `${command} ${
          result.timedOut ? "timed out" : result.aborted ? "was stopped" : `exited ${result.code}`
        }: ${result.stderr.trim().slice(0, 2000)}`,
    );
    this.command = command;
    this.result = result;
  }
}

/**
 * How a command failed, for a message: `timed out`, or `exited <code>:` and
 * the start of its stderr (its stdout when stderr is empty).
 */
export function failureDetail(result: RunResult, limit = 500): string {
  return result.timedOut
    ? "timed out"
    : `exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, limit)}`;
}

/** Default timeout for external commands. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a timer can take it: not negative, not NaN, at most {@linkcode MAX_TIMER_MS}. */
function clampTimer(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_TIMER_MS) : MAX_TIMER_MS;
}

/** Combines a timeout with an optional caller signal. */
export function timeoutSignal(
  timeoutMs: number,
  signal?: AbortSignal,
): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new Error("timeout"));
  }, clampTimer(timeoutMs));
  const onAbort = () => controller.abort(signal?.reason);
  if (signal) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  return {
    signal: controller.signal,
    timedOut: () => fired,
    clear: () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** After the command exited, how long its output pipes are still read (ms). */
const PIPE_GRACE_MS = 1000;

/** Most stderr kept (its end): progress output of a long command stays bounded. */
const STDERR_KEEP_BYTES = 256 * 1024;

/** Collects a stream, calling `onData` for each piece; `keep` bounds it (its end is kept). */
function collect(
  stream: ReadableStream<Uint8Array>,
  options: { onData: () => void; keep?: number },
): { done: Promise<Uint8Array>; cancel: () => void } {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  const done = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        options.onData();
        parts.push(value);
        size += value.length;
        // Bounded: drop the oldest pieces beyond `keep`.
        while (options.keep !== undefined && size - parts[0].length >= options.keep) {
          size -= parts.shift()!.length;
        }
      }
    } catch {
      // cancelled after the grace period, or the pipe broke
    }
    return concatBytes(parts);
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}

/** Runs `command` to completion and captures its output; never throws for a non-zero exit. */
export async function run(command: string, options: RunOptions = {}): Promise<RunResult> {
  let child: Deno.ChildProcess;
  let viaSetsid: boolean;
  const notFound: RunResult = {
    code: 127,
    success: false,
    stdout: "",
    stderr: `${command}: command not found`,
    timedOut: false,
    aborted: false,
  };
  try {
    // Its own session and process group: a timeout ends everything it started.
    const spawnOptions = {
      args: options.args ?? [],
      cwd: options.cwd,
      env: options.env,
      clearEnv: options.clearEnv,
      stdin: options.stdin === undefined ? "null" as const : "piped" as const,
      stdout: "piped" as const,
      stderr: "piped" as const,
    };
    ({ child, viaSetsid } = options.alone
      ? { child: new Deno.Command(command, spawnOptions).spawn(), viaSetsid: false }
      : spawnInSession(command, spawnOptions));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return notFound;
    throw error;
  }
  let ended: "timeout" | "abort" | null = null;
  let exited = false;
  let escalate: ReturnType<typeof setTimeout> | undefined;
  const kill = (signal: Deno.Signal) => {
    if (!options.alone) return killSession(child, signal);
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const end = (why: "timeout" | "abort") => {
    if (ended || exited) return;
    ended = why;
    // A shutdown asks politely first; a timeout does not wait.
    kill(why === "abort" ? "SIGTERM" : "SIGKILL");
    if (why === "abort") escalate = setTimeout(() => kill("SIGKILL"), 2000);
  };
  const timer = setTimeout(
    () => end("timeout"),
    clampTimer(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
  );
  let stall: ReturnType<typeof setTimeout> | undefined;
  const activity = () => {
    if (options.stallMs === undefined) return;
    clearTimeout(stall);
    stall = setTimeout(() => end("timeout"), clampTimer(options.stallMs));
  };
  activity();
  const onAbort = () => end("abort");
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  const stdout = collect(child.stdout, { onData: activity });
  const stderr = collect(child.stderr, { onData: activity, keep: STDERR_KEEP_BYTES });
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      const data = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin;
      try {
        await writer.write(data);
        await writer.close();
      } catch {
        // The child may exit without reading its input; its status tells.
      }
    }
    const status = await child.status;
    exited = true;
    // Whatever it started may still hold the pipes: read them a little longer, then let go.
    const outputs = Promise.all([stdout.done, stderr.done]);
    if ((await withTimeout(outputs.then(() => "read"), PIPE_GRACE_MS)) !== "read") {
      if (ended) kill("SIGKILL");
      stdout.cancel();
      stderr.cancel();
    }
    const [out, err] = await outputs;
    const timedOut = ended === "timeout";
    const aborted = ended === "abort";
    const decoder = new TextDecoder();
    const errText = decoder.decode(err);
    if (viaSetsid && !ended && setsidNotFound(status.code, errText)) return notFound;
    return {
      code: status.signal ? -1 : status.code,
      success: status.success && !timedOut && !aborted,
      stdout: decoder.decode(out),
      stderr: errText,
      timedOut,
      aborted,
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(stall);
    clearTimeout(escalate);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** Every executable `name` in the directories of `path` (a PATH string), in PATH order. */
export function findAllOnPath(name: string, path: string): string[] {
  const found: string[] = [];
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const candidate = `${dir}/${name}`;
    if (found.includes(candidate)) continue;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111)) found.push(candidate);
    } catch {
      // not here
    }
  }
  return found;
}

/** The first executable `name` on `path` (a PATH string, default `$PATH`), or undefined. */
export function findOnPath(
  name: string,
  path: string = Deno.env.get("PATH") ?? "",
): string | undefined {
  return findAllOnPath(name, path)[0];
}

/** True when `command` can be found on PATH. */
export function commandExists(command: string): Promise<boolean> {
  return Promise.resolve(findOnPath(command) !== undefined);
}
