/**
 * The systemd `--user` backend (Linux): start (enable --now, restart on a
 * changed definition or program), stop (disable --now) and the state
 * `status` shows.
 *
 * @module
 */
import {
  definitionPath,
  describeProgram,
  envOf,
  readText,
  serviceDefinition,
  type ServiceOptions,
  type StartOptions,
  type StartOutcome,
  type StopOutcome,
  systemctlOf,
} from "./base.ts";
import { dirname } from "node:path";
import { ensureHome, errorMessage, exists, waitUntil, writeFileAtomic } from "../sys/mod.ts";
import { programStamp, readServiceStamp, writeServiceStamp } from "./stamp.ts";
import type { ServiceState } from "../status/mod.ts";
import { type UnitState } from "../../systemd/systemctl.ts";
import { UNIT_NAME } from "../../systemd/unit.ts";

export async function startSystemd(options: StartOptions): Promise<StartOutcome> {
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
      { timeoutMs: options.timeoutMs ?? 15_000 },
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
    { timeoutMs: options.timeoutMs ?? 15_000 },
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

function describeUnit(state: UnitState): string {
  const parts = [`${state.activeState}/${state.subState}`];
  if (state.execMainStatus !== undefined) parts.push(`last exit status ${state.execMainStatus}`);
  if (state.result && state.result !== "success") parts.push(`result ${state.result}`);
  return parts.join(", ");
}

/** Stops the unit for good (`disable --now`) when it is installed. */
export async function stopSystemd(options: ServiceOptions, outcome: StopOutcome): Promise<void> {
  const say = options.say ?? (() => {});
  const systemctl = systemctlOf(options);
  if (!(await systemctl.available())) return;
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

/** systemd's view for `status` when the unit is installed; undefined otherwise. Throws when systemctl cannot be asked. */
export async function systemdState(options: ServiceOptions): Promise<ServiceState | undefined> {
  const systemctl = systemctlOf(options);
  const unitFile = definitionPath("systemd", options);
  if (!(await exists(unitFile)) || !(await systemctl.available())) return undefined;
  const state = await systemctl.show();
  return {
    manager: "systemd",
    installed: state.installed,
    running: state.running,
    pid: state.mainPid,
    detail: describeUnit(state),
  };
}
