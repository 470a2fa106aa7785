/**
 * `daemon.ts status [--json]`: health at a glance. Exit code 0 healthy,
 * 1 degraded (running but failing or behind), 2 not running or never set up.
 *
 * @module
 */
import { exitWith } from "./output.ts";
import { Command } from "@commander-js/extra-typings";
import { useColor, writeStdout } from "./logs.ts";
import { type HomePaths, homePaths, resolveHome } from "../sys/mod.ts";
import { parseRemoteUrl } from "../git/mod.ts";
import {
  collectStatus,
  renderStatus,
  type SecretsHook,
  type ServiceStateHook,
  type StatusReport,
} from "../status/mod.ts";

/** Hooks that other modules provide (service backends, credential store). */
export interface StatusHooks {
  /** Service manager state (launchd, systemd, detached pidfile). */
  serviceState?: ServiceStateHook;
  /** Which secrets are stored, and where. */
  secrets?: SecretsHook;
}

/** Options of {@linkcode runStatus}. */
export interface RunStatusOptions extends StatusHooks {
  /** Print the JSON document instead of text. */
  json?: boolean;
  /** Home layout (default from `ASCIINEMA_HOME`). */
  paths?: HomePaths;
  /** Output (default stdout). */
  write?: (text: string) => void | Promise<void>;
  /** ANSI colours (default: stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
}

/** Prints the status; returns the report (its `exit_code` is the command's). */
export async function runStatus(options: RunStatusOptions = {}): Promise<StatusReport> {
  const paths = options.paths ?? homePaths(resolveHome());
  const report = await collectStatus({
    paths,
    serviceState: options.serviceState,
    secrets: options.secrets,
    remoteNeedsToken: (url) => parseRemoteUrl(url).needsToken,
  });
  const write = options.write ?? writeStdout;
  if (options.json) await write(JSON.stringify(report, null, 2) + "\n");
  else await write(renderStatus(report, { color: options.color ?? useColor() }));
  return report;
}

/** The `status` subcommand; `hooks` connect the service manager and the credential store. */
export function statusCommand(hooks: StatusHooks = {}) {
  return new Command("status")
    .description(
      "show whether the daemon runs and recordings are safe " +
        "(exit 0 healthy, 1 degraded, 2 not running)",
    )
    .option("--json", "print one JSON document (schema: README, Status JSON)")
    .action(async (options) => {
      const report = await runStatus({ ...hooks, json: options.json ?? false });
      return exitWith(report.exit_code);
    });
}
