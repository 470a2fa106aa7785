/**
 * Child processes for the torture harness, every one with a hard timeout:
 * one-shot commands (git plumbing, zstd, `daemon.ts run --once`) and the
 * long-running daemon, which is SIGKILLed if it outlives its deadline.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** Absolute path of daemon.ts. */
export const DAEMON_TS = fileURLToPath(new URL("../../daemon.ts", import.meta.url));

/** What a finished command returned. */
export interface Output {
  /** Exit code (-1 when killed by a signal). */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** Raw stdout. */
  stdout: Uint8Array;
  /** Stderr as text. */
  stderr: string;
  /** True when the timeout killed it. */
  timedOut: boolean;
}

/** Options for {@linkcode command}. */
export interface CommandOptions {
  /** Arguments. */
  args: string[];
  /** The complete environment (nothing is inherited). */
  env: Record<string, string>;
  /** Bytes written to stdin, which is then closed. */
  stdin?: Uint8Array;
  /** Kill after this many milliseconds. */
  timeoutMs: number;
}

/** Runs `program` to completion (SIGKILL at the timeout). */
export async function command(program: string, options: CommandOptions): Promise<Output> {
  const child = new Deno.Command(program, {
    args: options.args,
    env: options.env,
    clearEnv: true,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, options.timeoutMs);
  try {
    if (options.stdin) {
      const writer = child.stdin.getWriter();
      await writer.write(options.stdin).catch(() => {});
      await writer.close().catch(() => {});
    }
    const out = await child.output();
    return {
      code: out.code,
      signal: out.signal,
      stdout: out.stdout,
      stderr: new TextDecoder().decode(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A running `daemon.ts run`. */
export interface Daemon {
  /** Process id. */
  pid: number;
  /** Resolves when it exited (never rejects). */
  exited: Promise<Deno.CommandStatus>;
  /** True once it exited. */
  done(): boolean;
  /** Sends `signal` if it is still running. */
  signal(signal: Deno.Signal): void;
  /** The last part of its stderr. */
  stderr(): string;
  /** True when the hard timeout killed it. */
  timedOut(): boolean;
}

const STDERR_KEEP = 16_000;

/** Starts `daemon.ts run` with exactly `env`; SIGKILLed after `hardTimeoutMs` whatever happens. */
export function spawnDaemon(
  env: Record<string, string>,
  options: { hardTimeoutMs: number; args?: string[] },
): Daemon {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, "run", ...(options.args ?? [])],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  let finished = false;
  let killedByTimeout = false;
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const block of child.stderr) {
      text = (text + decoder.decode(block, { stream: true })).slice(-STDERR_KEEP);
    }
  })().catch(() => {});
  const send = (signal: Deno.Signal) => {
    if (finished) return;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    killedByTimeout = true;
    send("SIGKILL");
  }, options.hardTimeoutMs);
  const exited = child.status.then(async (status) => {
    finished = true;
    clearTimeout(timer);
    await reading;
    return status;
  });
  return {
    pid: child.pid,
    exited,
    done: () => finished,
    signal: send,
    stderr: () => text,
    timedOut: () => killedByTimeout,
  };
}

/** Sends SIGTERM and waits; SIGKILL if it has not exited after `graceMs` (`killed` says so). */
export async function stopDaemon(
  daemon: Daemon,
  graceMs: number,
): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
  daemon.signal("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), graceMs));
  const first = await Promise.race([daemon.exited, late]);
  clearTimeout(timer);
  if (first !== "late") return { status: first, killed: false };
  daemon.signal("SIGKILL");
  return { status: await daemon.exited, killed: true };
}
