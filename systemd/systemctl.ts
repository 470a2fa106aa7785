/**
 * Drives `systemctl --user` for the daemon's unit: `daemon-reload`,
 * `enable --now`, `disable --now` (stays stopped until started again),
 * `restart`, and `show` parsed for the state. Also the `loginctl
 * enable-linger` hint. Every call has a timeout.
 *
 * @module
 */
import { CommandError, failureDetail, run, type RunResult } from "../lib/sys/mod.ts";
import { UNIT_NAME } from "./unit.ts";

/** Properties read by {@linkcode Systemctl.show}. */
export const SHOW_PROPERTIES = [
  "LoadState",
  "ActiveState",
  "SubState",
  "MainPID",
  "ExecMainStatus",
  "ExecMainCode",
  "UnitFileState",
  "Result",
  "NRestarts",
  "FragmentPath",
] as const;

/** What `systemctl --user show` says. */
export interface UnitState {
  /** `loaded`, `not-found`, ... */
  loadState: string;
  /** `active`, `inactive`, `failed`, `activating`, ... */
  activeState: string;
  /** `running`, `dead`, `auto-restart`, ... */
  subState: string;
  /** The main pid (undefined when 0). */
  mainPid?: number;
  /** Exit status of the last main process. */
  execMainStatus?: number;
  /** `enabled`, `disabled`, ... (empty when not installed). */
  unitFileState: string;
  /** `success`, `exit-code`, `signal`, ... */
  result: string;
  /** Restarts by systemd. */
  restarts?: number;
  /** The unit file systemd loaded. */
  fragmentPath: string;
  /** The unit file exists for systemd. */
  installed: boolean;
  /** Active and running with a pid. */
  running: boolean;
}

/** Parses `systemctl show` output (`Key=Value` lines). */
export function parseShow(text: string): UnitState {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const index = line.indexOf("=");
    if (index > 0) values.set(line.slice(0, index), line.slice(index + 1).trim());
  }
  const number = (key: string) => {
    const value = values.get(key);
    return value && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const pid = number("MainPID");
  const loadState = values.get("LoadState") ?? "";
  const activeState = values.get("ActiveState") ?? "";
  const subState = values.get("SubState") ?? "";
  return {
    loadState,
    activeState,
    subState,
    mainPid: pid ? pid : undefined,
    execMainStatus: number("ExecMainStatus"),
    unitFileState: values.get("UnitFileState") ?? "",
    result: values.get("Result") ?? "",
    restarts: number("NRestarts"),
    fragmentPath: values.get("FragmentPath") ?? "",
    installed: loadState !== "" && loadState !== "not-found",
    running: activeState === "active" && subState === "running" && Boolean(pid),
  };
}

/** A systemctl call that failed. */
export class SystemctlError extends CommandError {
  /** Creates it: `systemctl --user <what>` and how it failed. */
  constructor(what: string, result: RunResult) {
    super(`systemctl --user ${what}`, result, `systemctl --user ${what} ${failureDetail(result)}`);
    this.name = "SystemctlError";
  }
}

/** Options of {@linkcode Systemctl}. */
export interface SystemctlOptions {
  /** The unit (default {@linkcode UNIT_NAME}). */
  unit?: string;
  /** The systemctl command (default `systemctl`). */
  command?: string;
  /** The loginctl command (default `loginctl`). */
  loginctl?: string;
  /** Environment (tests put stand-ins first on PATH). */
  env?: Record<string, string>;
  /** Timeout per call (default 30 s). */
  timeoutMs?: number;
}

/** The `systemctl --user` driver for one unit. */
export class Systemctl {
  /** The unit. */
  readonly unit: string;
  #command: string;
  #loginctl: string;
  #env?: Record<string, string>;
  #timeoutMs: number;

  /** Creates the driver. */
  constructor(options: SystemctlOptions = {}) {
    this.unit = options.unit ?? UNIT_NAME;
    this.#command = options.command ?? "systemctl";
    this.#loginctl = options.loginctl ?? "loginctl";
    this.#env = options.env;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  #run(args: string[], timeoutMs = this.#timeoutMs): Promise<RunResult> {
    return run(this.#command, { args: ["--user", ...args], env: this.#env, timeoutMs });
  }

  async #checked(args: string[]): Promise<RunResult> {
    const result = await this.#run(args);
    if (!result.success) throw new SystemctlError(args.join(" "), result);
    return result;
  }

  /** True when a user manager answers (`systemctl --user show-environment`). */
  async available(): Promise<boolean> {
    const result = await this.#run(["show-environment"], Math.min(this.#timeoutMs, 10_000));
    return result.success;
  }

  /** Reloads unit files. */
  async daemonReload(): Promise<void> {
    await this.#checked(["daemon-reload"]);
  }

  /** Enables the unit and starts it. */
  async enableNow(): Promise<void> {
    await this.#checked(["enable", "--now", this.unit]);
  }

  /** Stops the unit and disables it (it does not come back at the next login). */
  async disableNow(): Promise<void> {
    await this.#checked(["disable", "--now", this.unit]);
  }

  /** Restarts the unit. */
  async restart(): Promise<void> {
    await this.#checked(["restart", this.unit]);
  }

  /** The unit's state. */
  async show(): Promise<UnitState> {
    const result = await this.#checked([
      "show",
      this.unit,
      `--property=${SHOW_PROPERTIES.join(",")}`,
    ]);
    return parseShow(result.stdout);
  }

  /**
   * The `loginctl enable-linger` hint when lingering is off (the daemon then
   * runs only while the user is logged in); undefined when it is on.
   */
  async lingerHint(user: string): Promise<string | undefined> {
    const result = await run(this.#loginctl, {
      args: ["show-user", user, "--property=Linger"],
      env: this.#env,
      timeoutMs: 10_000,
    });
    if (result.success && /^Linger=yes/m.test(result.stdout)) return undefined;
    return `The daemon runs only while you are logged in. To keep it running after logout and ` +
      `start it at boot, run: loginctl enable-linger ${user}`;
  }
}
