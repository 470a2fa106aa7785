/**
 * Runs the daemon as a real service and stops it for real. The backend is
 * picked by platform and availability: launchd on macOS, systemd `--user` on
 * Linux when `systemctl --user show-environment` answers, else detached.
 *
 * - {@linkcode startService}: install or update the definition (compiling
 *   the binary when possible, else `deno run` with the same permissions) and
 *   start it; when it already runs with the same definition, say so — unless
 *   the program was rebuilt since, then restart it (`kickstart -k`,
 *   `systemctl --user restart`). On macOS it first refuses, with the fix, a
 *   home or checkout in a privacy-protected folder and a session without a
 *   desktop login; `$ASCIINEMA_HOME` and `logs/` exist before the service
 *   is installed.
 * - {@linkcode stopService}: stop it and keep it stopped until the next
 *   start (launchd `bootout`, waiting until the job is gone, and `disable`
 *   even when bootout failed; systemd `disable --now`; detached: SIGTERM
 *   through the pidfile).
 * - {@linkcode serviceState}: the `status` command's view of the manager.
 * - {@linkcode serviceDefinition}: what start would install (`service print`).
 *
 * @module
 */
import { dirname } from "node:path";
import { ensureHome, errorMessage, exists, type HomePaths, writeFileAtomic } from "../sys/mod.ts";
import { resolveProgram, type ResolveProgramOptions } from "./compile.ts";
import {
  detachedArgv,
  NO_RESTART_NOTE,
  startDetached,
  type StartDetachedOptions,
  stopPidfileDaemon,
} from "./detach.ts";
import { type NeededPath, noGuiLoginMessage, protectedFolderProblem } from "./macos_preflight.ts";
import { permissionsForHome } from "./permissions.ts";
import { clearStalePidfile, inspectPidfile } from "./pidfile.ts";
import { DAEMON_ENTRY, type ServiceSpec, serviceSpec } from "./program.ts";
import { programStamp, readServiceStamp, writeServiceStamp } from "./stamp.ts";
import type { ServiceState } from "../status/mod.ts";
import { Launchctl, type LaunchdJobState, LOGIN_ITEMS_HINT } from "../../launchd/launchctl.ts";
import {
  buildPlist,
  findLegacyAgents,
  launchAgentPath,
  launchAgentsDir,
  LAUNCHD_LABEL,
} from "../../launchd/plist.ts";
import { Systemctl, type UnitState } from "../../systemd/systemctl.ts";
import { buildUnit, UNIT_NAME, userUnitPath } from "../../systemd/unit.ts";

/** A service backend. */
export type Backend = "launchd" | "systemd" | "detached";

/** Shared options of the service functions. */
export interface ServiceOptions {
  /** The home layout. */
  paths: HomePaths;
  /** Environment (HOME, USER, PATH, XDG_CONFIG_HOME; default `Deno.env`). */
  env?: { get(key: string): string | undefined; toObject?(): Record<string, string> };
  /** Platform (default `Deno.build.os`). */
  os?: string;
  /** launchctl driver (default: the real one). */
  launchctl?: Launchctl;
  /** systemctl driver (default: the real one). */
  systemctl?: Systemctl;
  /** Progress and result lines for people (default: none). */
  say?: (line: string) => void;
}

function envOf(options: ServiceOptions) {
  return options.env ?? Deno.env;
}

function homeDir(options: ServiceOptions): string {
  const home = envOf(options).get("HOME");
  if (!home) throw new Error("HOME is not set");
  return home;
}

function launchctlOf(options: ServiceOptions): Launchctl {
  return options.launchctl ?? new Launchctl();
}

function systemctlOf(options: ServiceOptions): Systemctl {
  return options.systemctl ?? new Systemctl();
}

/** The backend for this machine: launchd (macOS), systemd (a user manager answers), detached. */
export async function chooseBackend(options: ServiceOptions): Promise<Backend> {
  const os = options.os ?? Deno.build.os;
  if (os === "darwin") return "launchd";
  if (os === "linux" && await systemctlOf(options).available()) return "systemd";
  return "detached";
}

/** Where the definition of `backend` is installed. */
export function definitionPath(backend: "launchd" | "systemd", options: ServiceOptions): string {
  const home = homeDir(options);
  return backend === "launchd"
    ? launchAgentPath(home)
    : userUnitPath(home, envOf(options).get("XDG_CONFIG_HOME"));
}

/** Options for {@linkcode serviceDefinition}. */
export interface DefinitionOptions extends ServiceOptions {
  /** Program choice (see {@linkcode resolveProgram}); default `auto`. */
  compile?: ResolveProgramOptions["compile"];
  /** Environment for deno compile. */
  compileEnv?: Record<string, string>;
}

/** A service definition ready to install. */
export interface ServiceDefinition {
  /** Backend. */
  backend: "launchd" | "systemd";
  /** Where it goes. */
  path: string;
  /** The file's text. */
  text: string;
  /** What it runs. */
  spec: ServiceSpec;
}

/** Builds the spec (permissions from config.json, program, environment). */
export async function buildSpec(
  backend: Backend,
  options: DefinitionOptions,
): Promise<ServiceSpec> {
  const { flags, warnings } = await permissionsForHome(options.paths.home, {
    os: options.os,
    env: envOf(options),
  });
  for (const warning of warnings) options.say?.(`warning: ${warning}`);
  const program = await resolveProgram(options.paths, flags, {
    compile: options.compile,
    env: options.compileEnv,
    say: options.say,
  });
  return serviceSpec(program, {
    paths: options.paths,
    manager: backend,
    env: envOf(options),
    os: options.os,
  });
}

/** The launchd or systemd definition that start would install. */
export async function serviceDefinition(
  backend: "launchd" | "systemd",
  options: DefinitionOptions,
): Promise<ServiceDefinition> {
  const spec = await buildSpec(backend, { ...options, os: backendOs(backend, options) });
  return {
    backend,
    path: definitionPath(backend, options),
    text: backend === "launchd" ? buildPlist(spec) : buildUnit(spec),
    spec,
  };
}

function backendOs(backend: Backend, options: ServiceOptions): string {
  if (backend === "launchd") return "darwin";
  if (backend === "systemd") return "linux";
  return options.os ?? Deno.build.os;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

async function waitUntil<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await probe();
  }
  return value;
}

/** Result of {@linkcode startService}. */
export interface StartOutcome {
  /** The backend used. */
  backend: Backend;
  /**
   * `started`, `updated` (definition changed, restarted), `restarted` (same
   * definition, rebuilt program: restarted), `already-running`, `failed`.
   */
  status: "started" | "updated" | "restarted" | "already-running" | "failed";
  /** The daemon's pid when known. */
  pid?: number;
  /** The program form. */
  program?: ServiceSpec["program"];
  /** What went wrong (failed). */
  message?: string;
}

/** Options for {@linkcode startService}. */
export interface StartOptions extends DefinitionOptions {
  /** Use detached mode whatever the platform. */
  detach?: boolean;
  /** How long to wait for the daemon to run (default 15 s; detached 60 s). */
  timeoutMs?: number;
  /** Detached: base environment of the child. */
  baseEnv?: StartDetachedOptions["baseEnv"];
}

/** Installs (or updates) the service and starts it. */
export async function startService(options: StartOptions): Promise<StartOutcome> {
  const backend: Backend = options.detach ? "detached" : await chooseBackend(options);
  const say = options.say ?? (() => {});
  const running = await inspectPidfile(options.paths);
  if (running.state === "running" && running.mode && running.mode !== backend) {
    return {
      backend,
      status: "failed",
      pid: running.pid,
      message: `a daemon started ${
        running.mode === "foreground" ? "in a terminal" : `by ${running.mode}`
      } is running (pid ${running.pid}); stop it first with \`deno task daemon-stop\``,
    };
  }
  if (backend === "detached") {
    if (running.state === "running") {
      return { backend, status: "already-running", pid: running.pid };
    }
    if (running.state === "stale") {
      say(`The last daemon (pid ${running.pid}) ended without stopping cleanly.`);
      await clearStalePidfile(options.paths);
    }
    const spec = await buildSpec(backend, options);
    const result = await startDetached(options.paths, spec, {
      timeoutMs: options.timeoutMs ?? 60_000,
      baseEnv: options.baseEnv,
    });
    if (result.status === "failed") {
      return { backend, status: "failed", program: spec.program, message: result.message };
    }
    if (result.status === "already-running") {
      return { backend, status: "already-running", pid: result.pid, program: spec.program };
    }
    say(`Started the daemon detached (pid ${result.pid}): ${detachedArgv(spec).join(" ")}`);
    say(`Output goes to ${spec.stdoutPath} and ${spec.stderrPath}.`);
    say(NO_RESTART_NOTE);
    return { backend, status: "started", pid: result.pid, program: spec.program };
  }
  if (backend === "launchd") return await startLaunchd(options);
  return await startSystemd(options);
}

function describeProgram(spec: ServiceSpec): string {
  return spec.program.kind === "compiled"
    ? `the compiled binary ${spec.program.argv[0]}`
    : "`deno run` with the daemon's permissions (no compiled binary)";
}

async function startLaunchd(options: StartOptions): Promise<StartOutcome> {
  const say = options.say ?? (() => {});
  const launchctl = launchctlOf(options);
  const home = homeDir(options);
  const plistPath = launchAgentPath(home);
  const failed = (message: string, spec?: ServiceSpec): StartOutcome => ({
    backend: "launchd",
    status: "failed",
    program: spec?.program,
    message,
  });
  const refusal = protectedFolderProblem(
    [{ what: "ASCIINEMA_HOME", path: options.paths.home }],
    { home, env: envOf(options), os: "darwin" },
  );
  if (refusal) return failed(refusal);
  if (!(await launchctl.guiSessionExists())) {
    const env = envOf(options);
    return failed(
      noGuiLoginMessage({ uid: launchctl.uid, user: env.get("USER") || env.get("LOGNAME") }),
    );
  }
  for (const legacy of await findLegacyAgents(launchAgentsDir(home))) {
    await launchctl.bootout({ label: legacy.label, plistPath: legacy.path });
    if (legacy.path !== plistPath) {
      await Deno.rename(legacy.path, `${legacy.path}.replaced-by-asciinema-chunker`);
    }
    say(`Replaced the bash LaunchAgent ${legacy.path} (idle-chunker-daemon.sh).`);
  }
  const definition = await serviceDefinition("launchd", options);
  const program = definition.spec.program;
  const needed: NeededPath[] = [{ what: "the daemon's program", path: program.argv[0] }];
  if (program.kind === "deno-run") needed.push({ what: "the checkout", path: DAEMON_ENTRY });
  const programRefusal = protectedFolderProblem(needed, {
    home,
    env: envOf(options),
    os: "darwin",
    program: program.argv[0],
  });
  if (programRefusal) return failed(programRefusal, definition.spec);
  // launchd needs WorkingDirectory and the log folder before it spawns the job (else EX_CONFIG).
  await ensureHome(options.paths);
  const stamp = await programStamp(options.paths, program);
  const current = await readText(plistPath);
  const before = await launchctl.print();
  if (before.running && current === definition.text) {
    if (stamp === await readServiceStamp(options.paths)) {
      return { backend: "launchd", status: "already-running", pid: before.pid, program };
    }
    say(
      `The daemon's program was rebuilt since the agent started; restarting it ` +
        `(launchctl kickstart -k ${launchctl.target}).`,
    );
    await launchctl.kickstart();
    const restarted = await waitUntil(
      () => launchctl.print(),
      (state) => state.running && state.pid !== before.pid,
      options.timeoutMs ?? 15_000,
    );
    if (!restarted.running) {
      return failed(launchdNotRunning(restarted, definition.spec), definition.spec);
    }
    await writeServiceStamp(options.paths, stamp);
    return { backend: "launchd", status: "restarted", pid: restarted.pid, program };
  }
  await Deno.mkdir(dirname(plistPath), { recursive: true });
  await writeFileAtomic(plistPath, definition.text, { mode: 0o644 });
  // bootout waits until launchd has removed the old job; bootstrap retries 5/37.
  if (before.loaded) await launchctl.bootout({ plistPath });
  await launchctl.enable();
  try {
    await launchctl.bootstrap(plistPath);
  } catch (error) {
    const text = errorMessage(error);
    if (!(await launchctl.guiSessionExists())) {
      const env = envOf(options);
      return failed(
        `${text}: ${
          noGuiLoginMessage({ uid: launchctl.uid, user: env.get("USER") || env.get("LOGNAME") })
        }`,
        definition.spec,
      );
    }
    return failed(
      `${text}. ${LOGIN_ITEMS_HINT}; if it is on, see \`launchctl print ${launchctl.target}\` ` +
        `and ${definition.spec.stderrPath}`,
      definition.spec,
    );
  }
  const after = await waitUntil(
    () => launchctl.print(),
    (state) => state.running,
    options.timeoutMs ?? 15_000,
  );
  say(
    `LaunchAgent ${LAUNCHD_LABEL} installed at ${plistPath}; it runs ${
      describeProgram(definition.spec)
    }, starts at login and is restarted if it stops (ThrottleInterval 10 s).`,
  );
  if (!after.running) return failed(launchdNotRunning(after, definition.spec), definition.spec);
  await writeServiceStamp(options.paths, stamp);
  return {
    backend: "launchd",
    status: before.loaded ? "updated" : "started",
    pid: after.pid,
    program,
  };
}

/** Why a loaded agent is not running, with what to look at. */
function launchdNotRunning(state: LaunchdJobState, spec: ServiceSpec): string {
  const base = `launchd loaded the agent but it is not running (${describeLaunchd(state)})`;
  if (state.lastExitCode === 78) {
    return `${base}: launchd could not set the job up (EX_CONFIG: its WorkingDirectory ` +
      `${spec.workingDirectory} or log folder is missing or not writable); see ${spec.stderrPath}`;
  }
  if (state.lastExitCode === undefined) {
    return `${base}: it never ran; ${LOGIN_ITEMS_HINT}`;
  }
  return `${base}; see ${spec.stderrPath} and \`deno task daemon-logs\``;
}

async function startSystemd(options: StartOptions): Promise<StartOutcome> {
  const say = options.say ?? (() => {});
  const systemctl = systemctlOf(options);
  const definition = await serviceDefinition("systemd", options);
  // The unit's WorkingDirectory must exist before systemd starts it.
  await ensureHome(options.paths);
  const stamp = await programStamp(options.paths, definition.spec.program);
  const current = await readText(definition.path);
  const before = await systemctl.show();
  if (before.running && current === definition.text && before.unitFileState === "enabled") {
    if (stamp === await readServiceStamp(options.paths)) {
      return {
        backend: "systemd",
        status: "already-running",
        pid: before.mainPid,
        program: definition.spec.program,
      };
    }
    say(`The daemon's program was rebuilt since the unit started; restarting ${UNIT_NAME}.`);
    await systemctl.restart();
    const restarted = await waitUntil(
      () => systemctl.show(),
      (state) => state.running,
      options.timeoutMs ?? 15_000,
    );
    if (restarted.running) {
      await writeServiceStamp(options.paths, stamp);
      return {
        backend: "systemd",
        status: "restarted",
        pid: restarted.mainPid,
        program: definition.spec.program,
      };
    }
    return {
      backend: "systemd",
      status: "failed",
      program: definition.spec.program,
      message: `systemd did not get it running after the restart (${
        describeUnit(restarted)
      }); see \`journalctl --user -u ${UNIT_NAME}\``,
    };
  }
  await Deno.mkdir(dirname(definition.path), { recursive: true });
  await writeFileAtomic(definition.path, definition.text, { mode: 0o644 });
  await systemctl.daemonReload();
  await systemctl.enableNow();
  if (before.running && current !== definition.text) await systemctl.restart();
  const after = await waitUntil(
    () => systemctl.show(),
    (state) => state.running,
    options.timeoutMs ?? 15_000,
  );
  say(
    `systemd user unit ${UNIT_NAME} installed at ${definition.path}; it runs ${
      describeProgram(definition.spec)
    }, starts at login and is restarted if it stops (RestartSec=10).`,
  );
  const user = envOf(options).get("USER") || envOf(options).get("LOGNAME");
  if (user) {
    const hint = await systemctl.lingerHint(user);
    if (hint) say(hint);
  }
  if (!after.running) {
    return {
      backend: "systemd",
      status: "failed",
      program: definition.spec.program,
      message: `systemd did not get it running (${describeUnit(after)}); see ` +
        `\`journalctl --user -u ${UNIT_NAME}\``,
    };
  }
  await writeServiceStamp(options.paths, stamp);
  return {
    backend: "systemd",
    status: before.running ? "updated" : "started",
    pid: after.mainPid,
    program: definition.spec.program,
  };
}

/** Result of {@linkcode stopService}. */
export interface StopOutcome {
  /** What was stopped, per manager. */
  stopped: { manager: string; pid?: number }[];
  /** True when nothing was running. */
  wasRunning: boolean;
  /** Problems (a daemon that did not stop in time, a failing manager). */
  problems: string[];
}

/**
 * Stops the daemon and keeps it stopped until the next start: launchd
 * `bootout` + `disable`, systemd `disable --now`, and any daemon holding the
 * pidfile (detached or in a terminal) gets SIGTERM and `timeoutMs` (default
 * 3 s) to finish.
 */
export async function stopService(
  options: ServiceOptions & { timeoutMs?: number },
): Promise<StopOutcome> {
  const os = options.os ?? Deno.build.os;
  const say = options.say ?? (() => {});
  const outcome: StopOutcome = { stopped: [], wasRunning: false, problems: [] };
  if (os === "darwin") {
    const launchctl = launchctlOf(options);
    let loaded = false;
    try {
      const state = await launchctl.print();
      loaded = state.loaded;
      if (state.loaded) {
        // Waits until launchd has removed the job.
        await launchctl.bootout({ plistPath: launchAgentPath(homeDir(options)) });
        outcome.stopped.push({ manager: "launchd", pid: state.pid });
        if (state.running) outcome.wasRunning = true;
      }
    } catch (error) {
      outcome.problems.push(errorMessage(error));
    } finally {
      // Even when bootout failed: a stopped agent must not come back at the next login.
      try {
        await launchctl.disable();
        if (loaded && outcome.problems.length === 0) {
          say(
            `Stopped the LaunchAgent (booted out and disabled: it stays stopped, even after ` +
              `the next login, until \`deno task daemon-start\`).`,
          );
        }
      } catch (error) {
        outcome.problems.push(errorMessage(error));
      }
    }
  } else if (os === "linux") {
    const systemctl = systemctlOf(options);
    if (await systemctl.available()) {
      try {
        const state = await systemctl.show();
        if (state.installed && state.unitFileState !== "") {
          await systemctl.disableNow();
          outcome.stopped.push({ manager: "systemd", pid: state.mainPid });
          if (state.running) outcome.wasRunning = true;
          say(
            `Stopped ${UNIT_NAME} (disable --now: it stays stopped, even after the next ` +
              `login, until \`deno task daemon-start\`).`,
          );
        }
      } catch (error) {
        outcome.problems.push(errorMessage(error));
      }
    }
  }
  const pidState = await inspectPidfile(options.paths);
  const result = await stopPidfileDaemon(options.paths, { timeoutMs: options.timeoutMs });
  switch (result.status) {
    case "stopped":
      outcome.wasRunning = true;
      outcome.stopped.push({
        manager: pidState.state === "running" ? pidState.mode ?? "detached" : "detached",
        pid: result.pid,
      });
      say(`Stopped the daemon (pid ${result.pid}).`);
      break;
    case "stale":
      await clearStalePidfile(options.paths);
      say(
        `The daemon (pid ${result.pid}) was not running any more (it crashed or was killed); ` +
          `cleared its stale pidfile.`,
      );
      break;
    case "timeout":
      outcome.wasRunning = true;
      outcome.problems.push(
        `the daemon (pid ${result.pid}) got SIGTERM but still runs after ${
          (options.timeoutMs ?? 3000) / 1000
        } s (finishing a push?); check again with \`deno task daemon-status\`, or end it with ` +
          `\`kill -9 ${result.pid}\` (nothing is lost: the spool and checkpoints survive)`,
      );
      break;
    case "failed":
      outcome.problems.push(`could not stop pid ${result.pid}: ${result.message}`);
      break;
    case "not-running":
      break;
  }
  if (!outcome.wasRunning && outcome.problems.length === 0 && outcome.stopped.length === 0) {
    say("The daemon was not running.");
  }
  return outcome;
}

function describeLaunchd(state: LaunchdJobState): string {
  if (!state.loaded) return "not loaded";
  const parts = [`state ${state.state ?? "unknown"}`];
  if (state.lastExit) parts.push(`last exit ${state.lastExit}`);
  return parts.join(", ");
}

function describeUnit(state: UnitState): string {
  const parts = [`${state.activeState}/${state.subState}`];
  if (state.execMainStatus !== undefined) parts.push(`last exit status ${state.execMainStatus}`);
  if (state.result && state.result !== "success") parts.push(`result ${state.result}`);
  return parts.join(", ");
}

/**
 * The service manager's view for `daemon.ts status`: launchd on macOS when
 * the agent is installed or loaded, systemd when the unit is installed,
 * else the pidfile (detached or foreground daemon); `undefined` when none
 * applies (status then judges by health.json alone). Never throws.
 */
export async function serviceState(options: ServiceOptions): Promise<ServiceState | undefined> {
  const os = options.os ?? Deno.build.os;
  try {
    if (os === "darwin") {
      const installed = await exists(launchAgentPath(homeDir(options)));
      const state = await launchctlOf(options).print();
      if (installed || state.loaded) {
        return {
          manager: "launchd",
          installed,
          running: state.running,
          pid: state.pid,
          detail: describeLaunchd(state),
        };
      }
    } else if (os === "linux") {
      const systemctl = systemctlOf(options);
      const unitFile = definitionPath("systemd", options);
      if ((await exists(unitFile)) && await systemctl.available()) {
        const state = await systemctl.show();
        return {
          manager: "systemd",
          installed: state.installed,
          running: state.running,
          pid: state.mainPid,
          detail: describeUnit(state),
        };
      }
    }
  } catch (error) {
    return {
      manager: os === "darwin" ? "launchd" : "systemd",
      installed: true,
      running: false,
      detail: `the service manager could not be asked: ${errorMessage(error)}`,
    };
  }
  const pid = await inspectPidfile(options.paths).catch(() => ({ state: "absent" as const }));
  if (pid.state === "running") {
    return {
      manager: pid.mode ?? "detached",
      installed: pid.mode !== "foreground",
      running: true,
      pid: pid.pid,
      detail: pid.mode === "detached" ? "detached: not restarted after a crash" : undefined,
    };
  }
  if (pid.state === "stale") {
    return {
      manager: pid.mode ?? "detached",
      installed: pid.mode === "detached",
      running: false,
      pid: pid.pid,
      detail: `pid ${pid.pid} is gone (crashed or killed); a detached daemon is not restarted: ` +
        "run `deno task daemon-start`",
    };
  }
  return undefined;
}
