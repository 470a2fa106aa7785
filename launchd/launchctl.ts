/**
 * Drives `launchctl` for the LaunchAgent: `bootstrap gui/<uid> <plist>`,
 * `bootout gui/<uid>/<label>`, `kickstart -k`, `enable`/`disable` (so a
 * stopped agent stays stopped at the next login) and `print
 * gui/<uid>/<label>` parsed for state, pid and last exit status. The legacy
 * `load -w`/`unload -w` are used only where `bootstrap` is missing. Every
 * call has a timeout.
 *
 * @module
 */
import { CommandError, failureDetail, run, type RunResult } from "../lib/sys/mod.ts";
import { LAUNCHD_LABEL } from "./plist.ts";

/** launchctl's exit status for "Could not find service" (and "Could not find domain"). */
export const NOT_FOUND_EXIT = 113;
/** `5: Input/output error`: bootstrap of a job still leaving, a missing domain, a Login Item switched off. */
export const EIO_EXIT = 5;
/** `36: Operation now in progress`: bootout started, the job is still leaving. */
export const IN_PROGRESS_EXIT = 36;
/** `37: Operation already in progress`: bootstrap while the same job is being removed or added. */
export const ALREADY_EXIT = 37;

/** Where macOS 13+ lets people switch a LaunchAgent off (then it never runs). */
export const LOGIN_ITEMS_HINT =
  "if asciinema-chunker (or deno) is switched off under System Settings > General > " +
  "Login Items & Extensions > Allow in the Background, switch it on there and run " +
  "`deno task daemon-start` again";

/** Options of {@linkcode Launchctl}. */
export interface LaunchctlOptions {
  /** The user id (default `Deno.uid()`). */
  uid?: number;
  /** The label (default {@linkcode LAUNCHD_LABEL}). */
  label?: string;
  /** The launchctl command (default `launchctl`, found on PATH). */
  command?: string;
  /** Environment for launchctl (tests put a stand-in first on PATH). */
  env?: Record<string, string>;
  /** Timeout per call (default 15 s). */
  timeoutMs?: number;
  /** How long bootout waits for the job to leave (default 10 s). */
  leaveTimeoutMs?: number;
  /** Poll interval while waiting for the job to leave (default 250 ms). */
  pollMs?: number;
  /** bootstrap attempts on 5/37 (default 5). */
  bootstrapAttempts?: number;
  /** Pause before the n-th bootstrap retry is n times this (default 1 s). */
  retryDelayMs?: number;
}

/** What `launchctl print` says about the job. */
export interface LaunchdJobState {
  /** The job is loaded in the gui domain. */
  loaded: boolean;
  /** `running`, `not running`, `spawn scheduled`, ... (undefined when not loaded). */
  state?: string;
  /** state is `running` and there is a pid. */
  running: boolean;
  /** The job's pid while running. */
  pid?: number;
  /** Last exit code, when it has exited with one. */
  lastExitCode?: number;
  /** The last exit as launchd words it (`1`, `(never exited)`, a signal). */
  lastExit?: string;
  /** How many times launchd started it. */
  runs?: number;
  /** The plist launchd loaded it from. */
  path?: string;
}

/**
 * Parses `launchctl print gui/<uid>/<label>`: the top-level `key = value`
 * lines of the job's block (nested blocks such as `arguments = {...}` are
 * skipped).
 */
export function parseLaunchctlPrint(text: string): LaunchdJobState {
  const top = new Map<string, string>();
  let depth = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    if (line === "}" || line === "};") {
      depth = Math.max(0, depth - 1);
      continue;
    }
    const opens = line.endsWith("{");
    if (depth === 1 && !opens) {
      const match = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
      if (match && !top.has(match[1])) top.set(match[1], match[2]);
    }
    if (opens) depth++;
  }
  const state = top.get("state");
  const pidText = top.get("pid");
  const pid = pidText && /^\d+$/.test(pidText) ? Number(pidText) : undefined;
  const lastExit = top.get("last exit code") ?? top.get("last exit status");
  const signal = top.get("last terminating signal");
  // Older macOS: `last exit code = 78`; current: `last exit code = 78: EX_CONFIG`.
  const codeMatch = lastExit ? /^(-?\d+)(?::\s*\S.*)?$/.exec(lastExit) : null;
  const code = codeMatch ? Number(codeMatch[1]) : undefined;
  const runs = top.get("runs");
  return {
    loaded: true,
    state,
    running: state === "running" && pid !== undefined,
    pid,
    lastExitCode: code,
    lastExit: signal ? `${lastExit ?? ""} (${signal})`.trim() : lastExit,
    runs: runs && /^\d+$/.test(runs) ? Number(runs) : undefined,
    path: top.get("path"),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A launchctl call that failed. */
export class LaunchctlError extends CommandError {
  /** Creates it: `launchctl <what>` and how it failed. */
  constructor(what: string, result: RunResult) {
    super(`launchctl ${what}`, result, `launchctl ${what} ${failureDetail(result)}`);
    this.name = "LaunchctlError";
  }
}

/** The launchctl driver for one job. */
export class Launchctl {
  /** The label. */
  readonly label: string;
  /** The user id. */
  readonly uid: number;
  #command: string;
  #env?: Record<string, string>;
  #timeoutMs: number;
  #modern?: boolean;
  #leaveTimeoutMs: number;
  #pollMs: number;
  #attempts: number;
  #retryDelayMs: number;

  /** Creates the driver. */
  constructor(options: LaunchctlOptions = {}) {
    this.label = options.label ?? LAUNCHD_LABEL;
    this.uid = options.uid ?? Deno.uid() ?? 0;
    this.#command = options.command ?? "launchctl";
    this.#env = options.env;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#leaveTimeoutMs = options.leaveTimeoutMs ?? 10_000;
    this.#pollMs = options.pollMs ?? 250;
    this.#attempts = Math.max(1, options.bootstrapAttempts ?? 5);
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** `gui/<uid>`. */
  get domain(): string {
    return `gui/${this.uid}`;
  }

  /** `gui/<uid>/<label>`. */
  get target(): string {
    return `${this.domain}/${this.label}`;
  }

  #run(args: string[]): Promise<RunResult> {
    return run(this.#command, { args, env: this.#env, timeoutMs: this.#timeoutMs });
  }

  /** True when launchctl has `bootstrap` (macOS 10.10+); else load/unload are used. */
  async supportsBootstrap(): Promise<boolean> {
    if (this.#modern !== undefined) return this.#modern;
    const result = await this.#run(["help"]);
    this.#modern = /\bbootstrap\b/.test(result.stdout + result.stderr);
    return this.#modern;
  }

  /** The job's state (`loaded: false` when launchd does not know it). */
  async print(options: { label?: string } = {}): Promise<LaunchdJobState> {
    if (!(await this.supportsBootstrap())) return await this.#legacyList(options.label);
    const result = await this.#run(["print", `${this.domain}/${options.label ?? this.label}`]);
    if (result.success) return parseLaunchctlPrint(result.stdout);
    if (
      result.code === NOT_FOUND_EXIT ||
      /could not find service/i.test(result.stderr + result.stdout)
    ) {
      return { loaded: false, running: false };
    }
    throw new LaunchctlError("print", result);
  }

  /**
   * True when the `gui/<uid>` domain exists, i.e. the user is logged in at
   * the Mac's desktop. Over SSH to a Mac nobody is logged in to, `print
   * gui/<uid>` answers "Could not find domain" and no LaunchAgent can load.
   * Old launchctl (no `print`): assumed true.
   */
  async guiSessionExists(): Promise<boolean> {
    if (!(await this.supportsBootstrap())) return true;
    const result = await this.#run(["print", this.domain]);
    if (result.success) return true;
    return !(result.code === NOT_FOUND_EXIT ||
      /could not find domain|domain does not support/i.test(result.stderr + result.stdout));
  }

  async #legacyList(label: string = this.label): Promise<LaunchdJobState> {
    const result = await this.#run(["list", label]);
    if (!result.success) return { loaded: false, running: false };
    const pid = /"PID"\s*=\s*(\d+)/.exec(result.stdout)?.[1];
    const status = /"LastExitStatus"\s*=\s*(-?\d+)/.exec(result.stdout)?.[1];
    return {
      loaded: true,
      state: pid ? "running" : "not running",
      running: pid !== undefined,
      pid: pid ? Number(pid) : undefined,
      lastExitCode: status !== undefined ? Number(status) : undefined,
      lastExit: status,
    };
  }

  /** Allows the job to load (clears a `disable`). */
  async enable(): Promise<void> {
    if (!(await this.supportsBootstrap())) return;
    const result = await this.#run(["enable", this.target]);
    if (!result.success) throw new LaunchctlError("enable", result);
  }

  /** Keeps the job from loading at the next login until {@linkcode enable}. */
  async disable(): Promise<void> {
    if (!(await this.supportsBootstrap())) return;
    const result = await this.#run(["disable", this.target]);
    if (!result.success) throw new LaunchctlError("disable", result);
  }

  /**
   * Loads the plist into the gui domain (it starts: RunAtLoad). Right after
   * a bootout launchd may still be removing the old job and answers `5:
   * Input/output error` or `37: Operation already in progress`: then it
   * waits for the job to leave and tries again (up to `bootstrapAttempts`).
   */
  async bootstrap(plistPath: string): Promise<void> {
    if (!(await this.supportsBootstrap())) {
      const result = await this.#run(["load", "-w", plistPath]);
      if (!result.success) throw new LaunchctlError("load", result);
      return;
    }
    let result: RunResult | undefined;
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      result = await this.#run(["bootstrap", this.domain, plistPath]);
      if (result.success) return;
      if (result.timedOut || (result.code !== EIO_EXIT && result.code !== ALREADY_EXIT)) break;
      if (attempt === this.#attempts) break;
      await this.waitUntilGone();
      await sleep(this.#retryDelayMs * attempt);
    }
    throw new LaunchctlError("bootstrap", result!);
  }

  /**
   * Polls `print` until launchd no longer knows the job (113) or
   * `leaveTimeoutMs` passed; true when it is gone.
   */
  async waitUntilGone(options: { label?: string; timeoutMs?: number } = {}): Promise<boolean> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#leaveTimeoutMs);
    while (true) {
      const state = await this.print({ label: options.label });
      if (!state.loaded) return true;
      if (Date.now() >= deadline) return false;
      await sleep(this.#pollMs);
    }
  }

  /**
   * Unloads the job (stops it) and waits until launchd has removed it (like
   * Homebrew: poll `print` until 113); true when it was loaded. `36:
   * Operation now in progress` means the removal has begun: it is waited
   * for too. Throws when the job is still there after `leaveTimeoutMs`.
   * `plistPath` is needed only by legacy `unload`.
   */
  async bootout(options: { plistPath?: string; label?: string } = {}): Promise<boolean> {
    const label = options.label ?? this.label;
    if (await this.supportsBootstrap()) {
      const result = await this.#run(["bootout", `${this.domain}/${label}`]);
      if (
        !result.success && !result.timedOut &&
        (result.code === NOT_FOUND_EXIT || result.code === 3 ||
          /could not find|no such process/i.test(result.stderr + result.stdout))
      ) {
        return false;
      }
      if (!result.success && result.code !== IN_PROGRESS_EXIT) {
        throw new LaunchctlError("bootout", result);
      }
      if (!(await this.waitUntilGone({ label }))) {
        throw new Error(
          `launchctl bootout ${this.domain}/${label}: the job is still loaded after ${
            Math.round(this.#leaveTimeoutMs / 1000)
          } s (its process does not exit?); see \`launchctl print ${this.domain}/${label}\``,
        );
      }
      return true;
    }
    if (!options.plistPath) {
      const removed = await this.#run(["remove", label]);
      return removed.success;
    }
    const result = await this.#run(["unload", "-w", options.plistPath]);
    if (!result.success && !/could not find|not loaded/i.test(result.stderr)) {
      throw new LaunchctlError("unload", result);
    }
    return result.success;
  }

  /** Restarts the job now (`kickstart -k`: kills a running instance first). */
  async kickstart(): Promise<void> {
    const args = (await this.supportsBootstrap())
      ? ["kickstart", "-k", this.target]
      : ["start", this.label];
    const result = await this.#run(args);
    if (!result.success) throw new LaunchctlError(args[0], result);
  }
}
