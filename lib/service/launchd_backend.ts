/**
 * The launchd backend (macOS): start (bootstrap, kickstart, waiting for the
 * old job to leave), stop (bootout + disable) and the state `status` shows.
 *
 * @module
 */
import {
  describeProgram,
  envOf,
  homeDir,
  launchctlOf,
  readText,
  serviceDefinition,
  type ServiceOptions,
  type StartOptions,
  type StartOutcome,
  type StopOutcome,
} from "./base.ts";
import { dirname } from "node:path";
import { ensureHome, errorMessage, exists, waitUntil, writeFileAtomic } from "../sys/mod.ts";
import { type NeededPath, noGuiLoginMessage, protectedFolderProblem } from "./macos_preflight.ts";
import { DAEMON_ENTRY, type ServiceSpec } from "./program.ts";
import { programStamp, readServiceStamp, writeServiceStamp } from "./stamp.ts";
import type { ServiceState } from "../status/mod.ts";
import { type LaunchdJobState, LOGIN_ITEMS_HINT } from "../../launchd/launchctl.ts";
import {
  findLegacyAgents,
  launchAgentPath,
  launchAgentsDir,
  LAUNCHD_LABEL,
} from "../../launchd/plist.ts";

export async function startLaunchd(options: StartOptions): Promise<StartOutcome> {
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
      { timeoutMs: options.timeoutMs ?? 15_000 },
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
    { timeoutMs: options.timeoutMs ?? 15_000 },
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

function describeLaunchd(state: LaunchdJobState): string {
  if (!state.loaded) return "not loaded";
  const parts = [`state ${state.state ?? "unknown"}`];
  if (state.lastExit) parts.push(`last exit ${state.lastExit}`);
  return parts.join(", ");
}

/** Stops the LaunchAgent for good: `bootout` (waiting until the job is gone), then `disable` even when bootout failed. */
export async function stopLaunchd(options: ServiceOptions, outcome: StopOutcome): Promise<void> {
  const say = options.say ?? (() => {});
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
}

/** launchd's view for `status` when the agent is installed or loaded; undefined otherwise. Throws when launchctl cannot be asked. */
export async function launchdState(options: ServiceOptions): Promise<ServiceState | undefined> {
  const installed = await exists(launchAgentPath(homeDir(options)));
  const state = await launchctlOf(options).print();
  if (!installed && !state.loaded) return undefined;
  return {
    manager: "launchd",
    installed,
    running: state.running,
    pid: state.pid,
    detail: describeLaunchd(state),
  };
}
