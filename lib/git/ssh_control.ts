/**
 * Clears stale SSH ControlMaster connections to GitHub only: `ssh -O exit
 * git@github.com` and `ssh -O exit -p 443 git@ssh.github.com`, each with a
 * timeout. ssh finds the socket through the person's own `ControlPath`;
 * nothing here deletes a socket file (the bash version's `rm
 * ~/.ssh/control-*` killed every multiplexed connection of the user).
 * Used by the daemon at start and by bootstrap.ts.
 *
 * @module
 */
import { run } from "../sys/mod.ts";

/** The GitHub masters that are cleared: ssh arguments after `-O exit`. */
const GITHUB_CONTROL_TARGETS: readonly (readonly string[])[] = [
  ["git@github.com"],
  ["-p", "443", "git@ssh.github.com"],
];

/** What happened to one target. */
export interface ControlExitResult {
  /** The target (`git@github.com`, `-p 443 git@ssh.github.com`). */
  target: string;
  /**
   * `closed`: a master was running and was asked to exit; `none`: no
   * ControlPath configured or no (live) master; `error`: anything else
   * (timeout, ssh missing), never fatal.
   */
  status: "closed" | "none" | "error";
  /** ssh's message (one line). */
  detail: string;
}

/** Options for {@linkcode clearGitHubControlMasters}. */
export interface ClearControlOptions {
  /** Timeout per ssh call (default 5 s). */
  timeoutMs?: number;
  /** Abort (shutdown). */
  signal?: AbortSignal;
  /** Environment for ssh (default inherited; tests put a stand-in ssh on PATH). */
  env?: Record<string, string>;
  /** The ssh command (default `ssh`). */
  ssh?: string;
}

const NO_MASTER = [
  /no controlpath specified/i,
  /control socket connect/i,
  /no such file or directory/i,
  /connection refused/i,
  /no ControlPath/i,
];

/** Asks ssh to stop the GitHub ControlMasters; never throws, never deletes a file. */
export function clearGitHubControlMasters(
  options: ClearControlOptions = {},
): Promise<ControlExitResult[]> {
  return Promise.all(GITHUB_CONTROL_TARGETS.map(async (target) => {
    const name = target.join(" ");
    const result = await run(options.ssh ?? "ssh", {
      args: ["-O", "exit", ...target],
      env: options.env,
      stdin: "",
      timeoutMs: options.timeoutMs ?? 5_000,
      signal: options.signal,
    });
    const detail = result.stderr.trim().split("\n").filter(Boolean).pop() ??
      (result.timedOut ? "timed out" : "");
    if (result.success) return { target: name, status: "closed" as const, detail };
    if (!result.timedOut && !result.aborted && NO_MASTER.some((re) => re.test(result.stderr))) {
      return { target: name, status: "none" as const, detail };
    }
    return {
      target: name,
      status: "error" as const,
      detail: result.timedOut ? "ssh -O exit timed out" : detail || `exit ${result.code}`,
    };
  }));
}
