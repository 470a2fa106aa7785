/**
 * Runs external commands with a timeout, optional stdin and a controlled
 * environment. Secrets go to children through stdin or `env`, never argv.
 *
 * @module
 */

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
  /** Abort the child early (for example on shutdown). */
  signal?: AbortSignal;
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
  /** True when the timeout killed it. */
  timedOut: boolean;
  /** True when `signal` aborted it. */
  aborted: boolean;
}

/** Thrown by {@linkcode runChecked} when a command fails. */
export class CommandError extends Error {
  /** The command that failed. */
  readonly command: string;
  /** Its result. */
  readonly result: RunResult;
  /** Creates the error (`message` should say what failed and why). */
  constructor(command: string, result: RunResult, message?: string) {
    super(
      message ??
        `${command} ${
          result.timedOut ? "timed out" : result.aborted ? "was stopped" : `exited ${result.code}`
        }: ${result.stderr.trim().slice(0, 2000)}`,
    );
    this.name = "CommandError";
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
export const DEFAULT_TIMEOUT_MS = 60_000;

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a timer can take it: not negative, not NaN, at most {@linkcode MAX_TIMER_MS}. */
export function clampTimer(ms: number): number {
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

/** Runs `command` to completion and captures its output; never throws for a non-zero exit. */
export async function run(command: string, options: RunOptions = {}): Promise<RunResult> {
  const limit = timeoutSignal(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.signal);
  try {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, {
        args: options.args ?? [],
        cwd: options.cwd,
        env: options.env,
        clearEnv: options.clearEnv,
        stdin: options.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: limit.signal,
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return {
          code: 127,
          success: false,
          stdout: "",
          stderr: `${command}: command not found`,
          timedOut: false,
          aborted: false,
        };
      }
      throw error;
    }
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
    const output = await child.output();
    const timedOut = limit.timedOut();
    const aborted = !timedOut && limit.signal.aborted;
    const decoder = new TextDecoder();
    return {
      code: output.signal ? -1 : output.code,
      success: output.success && !timedOut && !aborted,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      timedOut,
      aborted,
    };
  } finally {
    limit.clear();
  }
}

/** Like {@linkcode run}, but throws a {@linkcode CommandError} unless it succeeded. */
export async function runChecked(command: string, options: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, options);
  if (!result.success) throw new CommandError(command, result);
  return result;
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
