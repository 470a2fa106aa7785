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
import { run, type RunResult } from "../lib/exec.ts";
import { LAUNCHD_LABEL } from "./plist.ts";

/** launchctl's exit status for "Could not find service". */
export const NOT_FOUND_EXIT = 113;

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
  const code = lastExit && /^-?\d+$/.test(lastExit) ? Number(lastExit) : undefined;
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

/** A launchctl call that failed. */
export class LaunchctlError extends Error {
  /** The result. */
  readonly result: RunResult;
  /** Creates it. */
  constructor(what: string, result: RunResult) {
    const detail = result.timedOut
      ? "timed out"
      : `exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 500)}`;
    super(`launchctl ${what} ${detail}`);
    this.name = "LaunchctlError";
    this.result = result;
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

  /** Creates the driver. */
  constructor(options: LaunchctlOptions = {}) {
    this.label = options.label ?? LAUNCHD_LABEL;
    this.uid = options.uid ?? Deno.uid() ?? 0;
    this.#command = options.command ?? "launchctl";
    this.#env = options.env;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
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
  async print(): Promise<LaunchdJobState> {
    if (!(await this.supportsBootstrap())) return await this.#legacyList();
    const result = await this.#run(["print", this.target]);
    if (result.success) return parseLaunchctlPrint(result.stdout);
    if (
      result.code === NOT_FOUND_EXIT ||
      /could not find service/i.test(result.stderr + result.stdout)
    ) {
      return { loaded: false, running: false };
    }
    throw new LaunchctlError("print", result);
  }

  async #legacyList(): Promise<LaunchdJobState> {
    const result = await this.#run(["list", this.label]);
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

  /** Loads the plist into the gui domain (it starts: RunAtLoad). */
  async bootstrap(plistPath: string): Promise<void> {
    const args = (await this.supportsBootstrap())
      ? ["bootstrap", this.domain, plistPath]
      : ["load", "-w", plistPath];
    const result = await this.#run(args);
    if (!result.success) throw new LaunchctlError(args[0], result);
  }

  /**
   * Unloads the job (stops it); true when it was loaded. `plistPath` is
   * needed only by legacy `unload`.
   */
  async bootout(options: { plistPath?: string; label?: string } = {}): Promise<boolean> {
    const label = options.label ?? this.label;
    if (await this.supportsBootstrap()) {
      const result = await this.#run(["bootout", `${this.domain}/${label}`]);
      if (result.success) return true;
      if (
        result.code === NOT_FOUND_EXIT || result.code === 3 ||
        /could not find|no such process/i.test(result.stderr + result.stdout)
      ) {
        return false;
      }
      throw new LaunchctlError("bootout", result);
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
