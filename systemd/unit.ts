/**
 * The Linux systemd user unit of the daemon:
 * `~/.config/systemd/user/asciinema-chunker.service` (`Restart=always`,
 * `RestartSec=10`, `WantedBy=default.target`, `LimitCORE=0`: no core dumps). Arguments and values are
 * quoted for systemd (spaces, quotes, backslashes, `%` specifiers and `$`
 * expansion), so any path works.
 *
 * @module
 */
import { join } from "node:path";
import type { ServiceSpec } from "../lib/service/program.ts";

/** The unit name. */
export const UNIT_NAME = "asciinema-chunker.service";

/** Seconds systemd waits before restarting the daemon. */
export const RESTART_SEC = 10;

/** `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`). */
export function userUnitDir(home: string, xdgConfigHome?: string): string {
  return join(xdgConfigHome || join(home, ".config"), "systemd", "user");
}

/** Where the unit file goes. */
export function userUnitPath(home: string, xdgConfigHome?: string): string {
  return join(userUnitDir(home, xdgConfigHome), UNIT_NAME);
}

function checkValue(value: string): void {
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new Error(`${JSON.stringify(value)} contains a control character (newline?)`);
  }
}

/** Escapes `%` (specifiers) for any unit setting. */
function escapeSpecifiers(value: string): string {
  return value.replaceAll("%", "%%");
}

/**
 * One ExecStart word: double-quoted with C-style escapes, `%` as `%%`, and
 * in arguments `$` as `$$` (systemd expands variables there, not in the
 * executable's name). systemd refuses quotes and backslashes in the
 * executable's name, so those throw.
 */
export function quoteExecArg(arg: string, options: { executable?: boolean } = {}): string {
  checkValue(arg);
  if (options.executable && /["'\\]/.test(arg)) {
    throw new Error(
      `systemd cannot run ${JSON.stringify(arg)}: quotes and backslashes are not allowed in an ` +
        "executable's path; move it (or ASCIINEMA_HOME) to a plain path",
    );
  }
  let escaped = escapeSpecifiers(arg).replaceAll("\\", "\\\\").replaceAll('"', '\\"');
  if (!options.executable) escaped = escaped.replaceAll("$", "$$$$");
  return `"${escaped}"`;
}

/** One `Environment=` assignment, quoted. */
export function quoteEnvironment(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad variable name ${name}`);
  checkValue(value);
  const escaped = escapeSpecifiers(`${name}=${value}`)
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"');
  return `"${escaped}"`;
}

/** A path setting (WorkingDirectory): specifiers escaped, no quoting. */
function pathValue(path: string): string {
  checkValue(path);
  if (!path.startsWith("/")) throw new Error(`${path} is not absolute`);
  return escapeSpecifiers(path);
}

/** The unit file's text. */
export function buildUnit(spec: ServiceSpec): string {
  const lines = [
    "# asciinema-chunker: backs up live asciinema recordings to git.",
    "# Written by `daemon.ts start`; `daemon.ts service print systemd` shows it.",
    "[Unit]",
    "Description=asciinema-chunker (backs up live terminal recordings to git)",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${
      spec.program.argv.map((arg, index) => quoteExecArg(arg, { executable: index === 0 })).join(
        " ",
      )
    }`,
    `WorkingDirectory=${pathValue(spec.workingDirectory)}`,
    ...Object.entries(spec.env).map(([name, value]) =>
      `Environment=${quoteEnvironment(name, value)}`
    ),
    "UMask=0077",
    // No core dumps: a crash must not write the token and recordings to disk.
    "LimitCORE=0",
    "Restart=always",
    `RestartSec=${RESTART_SEC}`,
    "KillMode=mixed",
    "TimeoutStopSec=20",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ];
  return lines.join("\n");
}
