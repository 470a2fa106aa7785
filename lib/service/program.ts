/**
 * What a service definition runs: the compiled binary
 * (`$ASCIINEMA_HOME/bin/asciinema-chunker run`) or, where compile is not
 * possible, `deno run` with the same permission flags, the absolute
 * `daemon.ts` and `run`; plus the environment, working directory and log
 * files every backend (launchd, systemd, detached) shares.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findOnPath, type HomePaths } from "../sys/mod.ts";
import type { RunMode } from "./pidfile.ts";
import { daemonTools, systemBinDirs } from "./permissions.ts";

/** The source checkout (the directory holding daemon.ts and deno.json). */
export const SOURCE_DIR: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** Absolute path of daemon.ts. */
export const DAEMON_ENTRY: string = join(SOURCE_DIR, "daemon.ts");
/** Absolute path of deno.json (imports map and lockfile for `deno run`). */
export const DENO_CONFIG: string = join(SOURCE_DIR, "deno.json");
/** File name of the compiled daemon. */
const BINARY_NAME = "asciinema-chunker";

/** Where `deno task compile` puts the binary. */
export function binaryPath(paths: HomePaths): string {
  return join(paths.bin, BINARY_NAME);
}

/** How the service runs the daemon. */
export interface ServiceProgram {
  /** `compiled` (the binary) or `deno-run` (the fallback). */
  kind: "compiled" | "deno-run";
  /** Program and arguments, all absolute; ends with `run`. */
  argv: string[];
  /** Why it is not the compiled binary (for `deno-run`). */
  reason?: string;
}

/** Everything a service definition needs besides the program. */
export interface ServiceSpec {
  program: ServiceProgram;
  /** Environment of the daemon. */
  env: Record<string, string>;
  /** Working directory (`$ASCIINEMA_HOME`). */
  workingDirectory: string;
  /** stdout log (launchd / detached). */
  stdoutPath: string;
  /** stderr log (launchd / detached). */
  stderrPath: string;
}

/** Arguments of `deno run` for the daemon (after the deno executable). */
function denoRunArgs(
  flags: string[],
  options: { entry?: string; config?: string } = {},
): string[] {
  return [
    "run",
    ...flags,
    "--config",
    options.config ?? DENO_CONFIG,
    options.entry ?? DAEMON_ENTRY,
  ];
}

/** The `deno run` form of the program. */
export function denoRunProgram(
  flags: string[],
  options: { deno?: string; entry?: string; config?: string; reason?: string } = {},
): ServiceProgram {
  return {
    kind: "deno-run",
    argv: [options.deno ?? denoExecutable(), ...denoRunArgs(flags, options), "run"],
    reason: options.reason,
  };
}

/** The compiled form of the program. */
export function compiledProgram(binary: string): ServiceProgram {
  return { kind: "compiled", argv: [binary, "run"] };
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The deno executable for service definitions: the `deno` found on PATH when
 * it is this very deno (a stable name such as `/opt/homebrew/bin/deno` that
 * survives upgrades, unlike a versioned Cellar path), else `Deno.execPath()`.
 * Inside the compiled binary: the `deno` on PATH.
 */
export function denoExecutable(path: string = Deno.env.get("PATH") ?? ""): string {
  const onPath = findOnPath("deno", path);
  if (Deno.build.standalone) {
    if (onPath) return onPath;
    throw new Error("deno is not on PATH: install Deno or run this from the source checkout");
  }
  const self = Deno.execPath();
  if (onPath && realpath(onPath) === realpath(self)) return onPath;
  return self;
}

/**
 * PATH for the daemon: the directories where this shell finds the daemon's
 * tools (and deno), then the usual system ones; on macOS Homebrew's
 * (`/opt/homebrew/bin`, `/usr/local/bin`) are always there.
 */
export function servicePath(
  options: { currentPath?: string; os?: string; extraDirs?: string[] } = {},
): string {
  const os = options.os ?? Deno.build.os;
  const current = options.currentPath ?? Deno.env.get("PATH") ?? "";
  const dirs: string[] = [];
  const add = (dir: string | undefined) => {
    if (dir && !dir.includes(":") && !dirs.includes(dir)) dirs.push(dir);
  };
  for (const dir of options.extraDirs ?? []) add(dir);
  for (const tool of daemonTools(os)) {
    const found = findOnPath(tool, current);
    if (found) add(dirname(found));
  }
  for (const dir of systemBinDirs(os)) add(dir);
  return dirs.join(":");
}

/** Options for {@linkcode serviceEnvironment}. */
export interface ServiceEnvOptions {
  /** The home layout. */
  paths: HomePaths;
  /** Which manager runs it (recorded in the pidfile). */
  manager: RunMode;
  /** The program (its directory joins PATH for the deno-run form). */
  program?: ServiceProgram;
  /** Where HOME, USER, PATH, DENO_DIR are read (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** Platform (default `Deno.build.os`). */
  os?: string;
}

/** The daemon's environment: HOME, USER, PATH, ASCIINEMA_HOME (+ DENO_DIR when set). */
function serviceEnvironment(options: ServiceEnvOptions): Record<string, string> {
  const env = options.env ?? Deno.env;
  const home = env.get("HOME");
  if (!home) throw new Error("HOME is not set; the service needs it");
  const user = env.get("USER") || env.get("LOGNAME");
  const result: Record<string, string> = { HOME: home };
  if (user) result.USER = user;
  result.PATH = servicePath({
    currentPath: env.get("PATH") ?? "",
    os: options.os,
    extraDirs: options.program?.kind === "deno-run" ? [dirname(options.program.argv[0])] : [],
  });
  result.ASCIINEMA_HOME = options.paths.home;
  result.ASCIINEMA_SERVICE_MANAGER = options.manager;
  const denoDir = env.get("DENO_DIR");
  if (denoDir) result.DENO_DIR = denoDir;
  result.DENO_NO_UPDATE_CHECK = "1";
  return result;
}

/** Assembles a {@linkcode ServiceSpec}; log file names depend on the manager. */
export function serviceSpec(
  program: ServiceProgram,
  options: ServiceEnvOptions,
): ServiceSpec {
  const prefix = options.manager === "detached" ? "detached" : "launchd";
  return {
    program,
    env: serviceEnvironment({ ...options, program }),
    workingDirectory: options.paths.home,
    stdoutPath: join(options.paths.logs, `${prefix}-stdout.log`),
    stderrPath: join(options.paths.logs, `${prefix}-stderr.log`),
  };
}
