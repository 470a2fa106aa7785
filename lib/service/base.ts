/**
 * What every service backend shares: the options, the choice of backend,
 * the definition (plist or unit) that start installs, and the outcome types.
 *
 * @module
 */
import { type HomePaths } from "../sys/mod.ts";
import { resolveProgram, type ResolveProgramOptions } from "./compile.ts";
import { type StartDetachedOptions } from "./detach.ts";
import { permissionsForHome } from "./permissions.ts";
import { type ServiceSpec, serviceSpec } from "./program.ts";
import { Launchctl } from "../../launchd/launchctl.ts";
import { buildPlist, launchAgentPath } from "../../launchd/plist.ts";
import { Systemctl } from "../../systemd/systemctl.ts";
import { buildUnit, userUnitPath } from "../../systemd/unit.ts";

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

/** The environment of the service functions. */
export function envOf(options: ServiceOptions) {
  return options.env ?? Deno.env;
}

/** HOME (throws when unset). */
export function homeDir(options: ServiceOptions): string {
  const home = envOf(options).get("HOME");
  if (!home) throw new Error("HOME is not set");
  return home;
}

/** The launchctl driver. */
export function launchctlOf(options: ServiceOptions): Launchctl {
  return options.launchctl ?? new Launchctl();
}

/** The systemctl driver. */
export function systemctlOf(options: ServiceOptions): Systemctl {
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

/** The platform a backend's definition is built for. */
export function backendOs(backend: Backend, options: ServiceOptions): string {
  if (backend === "launchd") return "darwin";
  if (backend === "systemd") return "linux";
  return options.os ?? Deno.build.os;
}

/** A file's text, or undefined. */
export async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
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

/** How the service runs the daemon, for people. */
export function describeProgram(spec: ServiceSpec): string {
  return spec.program.kind === "compiled"
    ? `the compiled binary ${spec.program.argv[0]}`
    : "`deno run` with the daemon's permissions (no compiled binary)";
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
