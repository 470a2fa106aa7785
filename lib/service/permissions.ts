/**
 * The daemon's Deno permissions: ONE definition, used by `deno task
 * compile` (baked into the binary), by the `deno run` fallback of the
 * service definitions and by `deno task daemon`. As narrow as the daemon
 * allows:
 *
 * - read/write: `$ASCIINEMA_HOME` only (clones, spool, state, logs and the
 *   embedded remote all live there); read `/proc` on Linux (is a pid alive)
 *   and the `secret-tool` file found on PATH (the credential store's `auto`
 *   looks for it with a stat).
 * - run: `git`, `zstd`, `ssh` (clearing GitHub ControlMasters), the
 *   credential tool of the platform (`security` on macOS, `secret-tool`
 *   elsewhere), `kill` where there is no `/proc` (liveness check) and
 *   `prlimit` on Linux (the daemon's own core limit to 0) — each
 *   as the absolute paths where it exists (every match on PATH and in the
 *   system directories the service's PATH adds), so Deno never has to
 *   resolve a missing one (its `Info Failed to resolve ... for allow-run`).
 * - net: the notification hosts (`api.pushover.net` or the configured
 *   `notify.pushover.api_url`, and the `notify.ntfy.url` host) and the GitHub
 *   API (`api.github.com`, or the `github_api` host) that says whether a
 *   repository is public, computed from config.json when the service is
 *   installed; `daemon.ts start` recomputes them (and recompiles when they
 *   changed). Git's own network traffic is git's (a child process), not Deno's.
 * - env: the variables the daemon reads ({@linkcode DAEMON_ENV_VARS}).
 * - sys: `hostname` (commit messages and notices).
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { isAbsolute } from "node:path";
import {
  errorMessage,
  findAllOnPath,
  findOnPath,
  homePaths,
  loadSettings,
  type Settings,
} from "../sys/mod.ts";
import { notifySettings } from "../notify/mod.ts";

/**
 * Environment variables the daemon reads (`ASCIINEMA_*` covers
 * `ASCIINEMA_HOME`, `ASCIINEMA_CREDENTIAL_STORE`, the `env` credential store's
 * `ASCIINEMA_GITHUB_PAT`, `ASCIINEMA_PUSHOVER_*`, `ASCIINEMA_NTFY_TOKEN` and
 * `ASCIINEMA_SERVICE_MANAGER`).
 */
export const DAEMON_ENV_VARS: readonly string[] = [
  "HOME",
  "USER",
  "LOGNAME",
  "PATH",
  "TMPDIR",
  "NO_COLOR",
  "IDLE_THRESHOLD",
  "ZSTD_LEVEL",
  "ASCIINEMA_*",
];

/** OS information the daemon asks for. */
const DAEMON_SYS_APIS: readonly string[] = ["hostname"];

/** Programs the daemon runs on `os`. */
export function daemonTools(os: string = Deno.build.os): string[] {
  const tools = ["git", "zstd", "ssh"];
  tools.push(os === "darwin" ? "security" : "secret-tool");
  // A timed-out command's process group is ended by `kill` (Deno.kill needs every program
  // allowed; lib/sys/session_spawn.ts); without /proc, liveness is `kill -0` (lib/sys/process.ts).
  tools.push("kill");
  // Its own core limit to 0 at start (lib/sys/process.ts disableCoreDumps); each command in
  // its own session without forking the daemon (lib/sys/session_spawn.ts).
  if (os === "linux") tools.push("prlimit", "setsid");
  return tools;
}

/** The system directories a service's PATH always has (lib/service/program.ts servicePath). */
export function systemBinDirs(os: string = Deno.build.os): string[] {
  return os === "darwin"
    ? ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
    : ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"];
}

/**
 * The daemon's programs ({@linkcode daemonTools}) as the absolute paths where
 * they exist: every match in the directories of `path` and in
 * {@linkcode systemBinDirs}, so the daemon may run them whichever of those
 * directories comes first on its PATH. A tool that exists nowhere is left out.
 */
export function daemonRunPaths(options: { os?: string; path?: string } = {}): string[] {
  const os = options.os ?? Deno.build.os;
  const dirs = [...(options.path ?? Deno.env.get("PATH") ?? "").split(":"), ...systemBinDirs(os)]
    .filter((dir) => dir.startsWith("/"));
  return daemonTools(os).flatMap((tool) => findAllOnPath(tool, dirs.join(":")));
}

/**
 * Files the daemon stats to find its tools: `secret-tool` (credential store
 * `auto`, lib/credentials/store.ts) where it exists, on Linux and other non-macOS
 * systems.
 */
export function toolLookupPaths(
  options: { os?: string; path?: string } = {},
): string[] {
  const os = options.os ?? Deno.build.os;
  if (os === "darwin") return [];
  const found = findOnPath("secret-tool", options.path ?? Deno.env.get("PATH") ?? "");
  return found ? [found] : [];
}

/** Host names the notifiers may contact, from the `notify` settings. */
export function notifyHosts(settings?: Settings): string[] {
  const notify = notifySettings(settings);
  if (!notify.enabled) return [];
  const hosts: string[] = [];
  const add = (url: string | undefined) => {
    if (!url) return;
    try {
      const host = new URL(url).hostname;
      if (host && !hosts.includes(host)) hosts.push(host);
    } catch {
      // An invalid URL is rejected by the settings schema already.
    }
  };
  if (notify.pushover.enabled) add(notify.pushover.api_url);
  add(notify.ntfy.url);
  return hosts;
}

/** Host names of the GitHub API the daemon asks about repositories' visibility. */
function githubApiHosts(settings?: Settings): string[] {
  const hosts = ["api.github.com"];
  try {
    const host = settings?.github_api ? new URL(settings.github_api).hostname : undefined;
    if (host && !hosts.includes(host)) hosts.push(host);
  } catch {
    // An invalid URL is rejected by the settings schema already.
  }
  return hosts;
}

/** Input of {@linkcode daemonPermissionFlags}. */
export interface PermissionInput {
  /** Absolute `$ASCIINEMA_HOME`. */
  home: string;
  /** Settings (for the notification hosts); absent: the defaults. */
  settings?: Settings;
  /** More directories the daemon reads and writes (configured clones). */
  extraDirs?: string[];
  /** Files the daemon only reads or stats ({@linkcode toolLookupPaths}). */
  readFiles?: string[];
  /** Programs it may run, absolute ({@linkcode daemonRunPaths}; default: found on `$PATH`). */
  run?: string[];
  /** Platform (default `Deno.build.os`). */
  os?: string;
}

function checkListItem(kind: string, value: string): string {
  if (value.includes(",")) {
    throw new Error(
      `${kind} ${JSON.stringify(value)} contains a comma, which Deno permission flags cannot ` +
        `express; use a path without commas (set ASCIINEMA_HOME)`,
    );
  }
  return value;
}

function withRealPath(dir: string): string[] {
  const dirs = [dir];
  try {
    const real = realpathSync(dir);
    if (real !== dir) dirs.push(real);
  } catch {
    // Not created yet: the daemon creates it under this very name.
  }
  return dirs;
}

/**
 * The daemon's permission flags (plus `--no-prompt`, so a missing
 * permission fails instead of waiting for an answer nobody can give).
 * Deterministic: the same input gives the same list, in the same order.
 */
export function daemonPermissionFlags(input: PermissionInput): string[] {
  if (!isAbsolute(input.home)) {
    throw new Error(`ASCIINEMA_HOME must be an absolute path, got ${JSON.stringify(input.home)}`);
  }
  const os = input.os ?? Deno.build.os;
  const dirs: string[] = [];
  for (const dir of [input.home, ...(input.extraDirs ?? [])]) {
    for (const path of withRealPath(dir)) {
      if (!dirs.includes(path)) dirs.push(checkListItem("path", path));
    }
  }
  const readable = os === "linux" ? [...dirs, "/proc"] : [...dirs];
  for (const file of input.readFiles ?? []) {
    if (!readable.includes(file)) readable.push(checkListItem("path", file));
  }
  const flags = [
    "--no-prompt",
    `--allow-read=${readable.join(",")}`,
    `--allow-write=${dirs.join(",")}`,
  ];
  const run = (input.run ?? daemonRunPaths({ os })).map((file) => checkListItem("path", file));
  // An empty --allow-run= would allow every program: no tool found means no run permission.
  if (run.length) flags.push(`--allow-run=${run.join(",")}`);
  const hosts = [...new Set([...notifyHosts(input.settings), ...githubApiHosts(input.settings)])]
    .map((host) => checkListItem("host", host));
  if (hosts.length) flags.push(`--allow-net=${hosts.join(",")}`);
  flags.push(`--allow-env=${DAEMON_ENV_VARS.join(",")}`);
  flags.push(`--allow-sys=${DAEMON_SYS_APIS.join(",")}`);
  return flags;
}

/** The flags plus what went into them. */
export interface ResolvedPermissions {
  /** The flags ({@linkcode daemonPermissionFlags}). */
  flags: string[];
  /** Notification hosts allowed. */
  hosts: string[];
  /** Problems met while reading config.json (the defaults were used). */
  warnings: string[];
}

/**
 * The flags for the home `home` (default: `$ASCIINEMA_HOME`), with the
 * notification hosts read from its config.json. A broken config.json gives
 * the default hosts and a warning (the daemon itself refuses to start on it
 * and says why).
 */
export async function permissionsForHome(
  home: string,
  options: {
    os?: string;
    /** Where PATH is read to find the tools (default `Deno.env`). */
    env?: { get(key: string): string | undefined };
  } = {},
): Promise<ResolvedPermissions> {
  const warnings: string[] = [];
  let settings: Settings | undefined;
  try {
    settings = await loadSettings(homePaths(home).config, { env: emptyEnv });
  } catch (error) {
    warnings.push(
      `config.json could not be read (${errorMessage(error)}); notification hosts are the defaults`,
    );
  }
  const env = options.env ?? Deno.env;
  const flags = daemonPermissionFlags({
    home,
    settings,
    os: options.os,
    readFiles: toolLookupPaths({ os: options.os, path: env.get("PATH") ?? "" }),
    run: daemonRunPaths({ os: options.os, path: env.get("PATH") ?? "" }),
  });
  return { flags, hosts: notifyHosts(settings), warnings };
}

const emptyEnv = { get: (_key: string) => undefined };

/**
 * Notification hosts the running process may not contact (for a warning at
 * daemon start: config.json names a host the service was installed
 * without; `daemon.ts start` again fixes it).
 */
export async function missingNetPermissions(settings?: Settings): Promise<string[]> {
  const missing: string[] = [];
  for (const host of notifyHosts(settings)) {
    const status = await Deno.permissions.query({ name: "net", host });
    if (status.state !== "granted") missing.push(host);
  }
  return missing;
}
