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
import { errorMessage } from "../sys/mod.ts";
import {
  type Backend,
  buildSpec,
  chooseBackend,
  type ServiceOptions,
  type StartOptions,
  type StartOutcome,
  type StopOutcome,
} from "./base.ts";
import { detachedArgv, NO_RESTART_NOTE, startDetached, stopPidfileDaemon } from "./detach.ts";
import { launchdState, startLaunchd, stopLaunchd } from "./launchd_backend.ts";
import { clearStalePidfile, inspectPidfile } from "./pidfile.ts";
import { startSystemd, stopSystemd, systemdState } from "./systemd_backend.ts";
import type { ServiceState } from "../status/mod.ts";

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
  if (os === "darwin") await stopLaunchd(options, outcome);
  else if (os === "linux") await stopSystemd(options, outcome);
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

/**
 * The service manager's view for `daemon.ts status`: launchd on macOS when
 * the agent is installed or loaded, systemd when the unit is installed,
 * else the pidfile (detached or foreground daemon); `undefined` when none
 * applies (status then judges by health.json alone). Never throws.
 */
export async function serviceState(options: ServiceOptions): Promise<ServiceState | undefined> {
  const os = options.os ?? Deno.build.os;
  try {
    const managed = os === "darwin"
      ? await launchdState(options)
      : os === "linux"
      ? await systemdState(options)
      : undefined;
    if (managed) return managed;
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
