/**
 * `deno task compile`: compiles daemon.ts with exactly the daemon's
 * permission flags ({@linkcode daemonPermissionFlags}) into
 * `$ASCIINEMA_HOME/bin/asciinema-chunker`, and records next to it what it was
 * built from (`asciinema-chunker.json`: flags, source fingerprint, deno
 * version), so `daemon.ts start` knows when to rebuild.
 *
 * `deno compile` needs the `denort` runtime of this deno version: it is
 * downloaded from dl.deno.land once, or taken from `DENORT_BIN` (offline
 * machines). When neither works, the service runs `deno run` with the same
 * flags ({@linkcode resolveProgram}) and says so.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import {
  ensurePrivateDir,
  type HomePaths,
  homePaths,
  readJsonIfExists,
  resolveHome,
  run,
  termSafe,
  walkFiles,
  writeJsonAtomic,
} from "../sys/mod.ts";
import { permissionsForHome } from "./permissions.ts";
import {
  binaryPath,
  compiledProgram,
  DAEMON_ENTRY,
  DENO_CONFIG,
  denoExecutable,
  denoRunProgram,
  type ServiceProgram,
  SOURCE_DIR,
} from "./program.ts";

/** How long `deno compile` may take. */
export const COMPILE_TIMEOUT_MS = 300_000;

/** A command line: program and arguments. */
export interface CommandLine {
  /** The program. */
  command: string;
  /** Its arguments. */
  args: string[];
}

/** Options for {@linkcode compileCommand}. */
export interface CompileCommandOptions {
  /** The deno executable (default: this deno). */
  deno?: string;
  /** Entry point (default daemon.ts). */
  entry?: string;
  /** deno.json (default the checkout's). */
  config?: string;
}

/**
 * The exact `deno compile` command line: the permission flags, no type check
 * (like `deno run`), the checkout's deno.json, `--output <binary>`, daemon.ts.
 */
export function compileCommand(
  flags: string[],
  output: string,
  options: CompileCommandOptions = {},
): CommandLine {
  return {
    command: options.deno ?? denoExecutable(),
    args: [
      "compile",
      ...flags,
      "--no-check",
      "--config",
      options.config ?? DENO_CONFIG,
      "--output",
      output,
      options.entry ?? DAEMON_ENTRY,
    ],
  };
}

/** What a compiled binary was built from (`bin/asciinema-chunker.json`). */
export interface BuildInfo {
  /** The permission flags baked in. */
  flags: string[];
  /** {@linkcode sourceFingerprint} of the checkout. */
  fingerprint: string;
  /** `Deno.version.deno` of the compiler. */
  deno_version: string;
  /** When (ISO). */
  compiled_at: string;
}

/** Path of the build info beside the binary. */
export function buildInfoPath(paths: HomePaths): string {
  return `${binaryPath(paths)}.json`;
}

async function listSources(dir: string, base: string, out: string[]): Promise<void> {
  for (const path of await walkFiles(join(base, dir))) {
    if (path.endsWith(".ts")) out.push(relative(base, path));
  }
}

/** sha256 over the daemon's sources (daemon.ts, deno.json, deno.lock, lib/, launchd/, systemd/). */
export async function sourceFingerprint(sourceDir: string = SOURCE_DIR): Promise<string> {
  const files = ["daemon.ts", "deno.json", "deno.lock"];
  for (const dir of ["lib", "launchd", "systemd"]) await listSources(dir, sourceDir, files);
  files.sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file + "\0");
    try {
      hash.update(await Deno.readFile(join(sourceDir, file)));
    } catch {
      hash.update("(missing)");
    }
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** True when the binary exists and was built from these flags, sources and deno. */
export async function binaryIsCurrent(
  paths: HomePaths,
  flags: string[],
  options: { fingerprint?: string } = {},
): Promise<boolean> {
  try {
    const info = await Deno.stat(binaryPath(paths));
    if (!info.isFile) return false;
  } catch {
    return false;
  }
  let build: BuildInfo | undefined;
  try {
    build = await readJsonIfExists(buildInfoPath(paths)) as BuildInfo | undefined;
  } catch {
    return false;
  }
  if (!build || !Array.isArray(build.flags)) return false;
  const fingerprint = options.fingerprint ?? await sourceFingerprint();
  return build.fingerprint === fingerprint && build.deno_version === Deno.version.deno &&
    JSON.stringify(build.flags) === JSON.stringify(flags);
}

/** Result of {@linkcode compileDaemon}. */
export type CompileResult =
  | { ok: true; binary: string }
  | { ok: false; reason: string; offline: boolean };

/** Options for {@linkcode compileDaemon}. */
export interface CompileOptions extends CompileCommandOptions {
  /** Timeout (default {@linkcode COMPILE_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Environment for deno compile (default inherited; `DENORT_BIN` is honoured). */
  env?: Record<string, string>;
}

function compileFailure(stderr: string): { reason: string; offline: boolean } {
  // deno prints ANSI colours even into a pipe.
  // deno-lint-ignore no-control-regex
  const text = stderr.replace(/\u001b\[[0-9;]*m/g, "");
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  const causes = lines.filter((line) => /^\d+: /.test(line) && !/^\d+: <unknown>/.test(line))
    .map((line) => line.replace(/^\d+: /, ""))
    .filter((line) =>
      !/^(Setting up base binary\.?|client error \(Connect\)|dns error)$/.test(line)
    );
  const error = lines.find((line) => line.startsWith("error:"))?.replace(/^error:\s*/, "");
  const reason = causes.length ? causes.join(": ") : error ?? "deno compile failed";
  const offline = /denort|dl\.deno\.land|error sending request|dns error/i.test(text);
  return { reason: reason.slice(0, 600), offline };
}

/**
 * Compiles the daemon into `$ASCIINEMA_HOME/bin/asciinema-chunker` (deno
 * compile writes a temporary file and renames it) and records its build info.
 */
export async function compileDaemon(
  paths: HomePaths,
  flags: string[],
  options: CompileOptions = {},
): Promise<CompileResult> {
  await ensurePrivateDir(paths.bin);
  const binary = binaryPath(paths);
  const fingerprint = await sourceFingerprint();
  const line = compileCommand(flags, binary, options);
  const result = await run(line.command, {
    args: line.args,
    env: options.env,
    timeoutMs: options.timeoutMs ?? COMPILE_TIMEOUT_MS,
  });
  if (!result.success) {
    if (result.timedOut) {
      return {
        ok: false,
        reason: "deno compile timed out (downloading denort?)",
        offline: true,
      };
    }
    return { ok: false, ...compileFailure(result.stderr) };
  }
  const info: BuildInfo = {
    flags,
    fingerprint,
    deno_version: Deno.version.deno,
    compiled_at: new Date().toISOString(),
  };
  await writeJsonAtomic(buildInfoPath(paths), info);
  return { ok: true, binary };
}

/** Hint printed when compile fails for want of its runtime. */
export const DENORT_HINT =
  "deno compile needs the denort runtime (downloaded from dl.deno.land once); on an offline " +
  `machine copy denort-${Deno.build.target}.zip of deno ${Deno.version.deno} from ` +
  "https://dl.deno.land/release/v" + Deno.version.deno + "/, unzip it and set DENORT_BIN to " +
  "the denort file (see README, Offline machines)";

/** Options for {@linkcode resolveProgram}. */
export interface ResolveProgramOptions extends CompileOptions {
  /**
   * `auto`: use the compiled binary when it is current, else compile, else
   * fall back to `deno run`; `never`: current binary or `deno run`, never
   * compile; `deno-run`: always `deno run`; `compiled`: the binary's form
   * whether or not it exists (for `service print --compiled`).
   */
  compile?: "auto" | "never" | "deno-run" | "compiled";
  /** Called with progress lines. */
  say?: (line: string) => void;
}

/** Picks (and if needed builds) the program the service runs. */
export async function resolveProgram(
  paths: HomePaths,
  flags: string[],
  options: ResolveProgramOptions = {},
): Promise<ServiceProgram> {
  const mode = options.compile ?? "auto";
  const fallback = (reason: string) => denoRunProgram(flags, { ...options, reason });
  if (mode === "compiled") return compiledProgram(binaryPath(paths));
  if (mode === "deno-run") return fallback("deno run was asked for");
  if (await binaryIsCurrent(paths, flags)) return compiledProgram(binaryPath(paths));
  if (mode === "never") return fallback("no up-to-date compiled binary");
  options.say?.(`Compiling the daemon into ${binaryPath(paths)} ...`);
  const result = await compileDaemon(paths, flags, options);
  if (result.ok) return compiledProgram(result.binary);
  const reason = `deno compile failed: ${result.reason}`;
  options.say?.(
    `${reason}\nFalling back to \`deno run\` with the same permissions (the service runs ` +
      `daemon.ts from ${SOURCE_DIR}).` + (result.offline ? `\n${DENORT_HINT}.` : ""),
  );
  return fallback(reason);
}

/** `deno task compile`: compile now (whatever the build info says). */
export async function main(): Promise<number> {
  const paths = homePaths(resolveHome());
  const { flags, warnings } = await permissionsForHome(paths.home);
  for (const warning of warnings) console.error(termSafe(`warning: ${warning}`));
  console.error(
    `Compiling ${DAEMON_ENTRY} into ${binaryPath(paths)} with:\n  ${flags.join("\n  ")}`,
  );
  const result = await compileDaemon(paths, flags);
  if (result.ok) {
    console.log(`Compiled ${result.binary}. \`deno task daemon-start\` runs it as the service.`);
    return 0;
  }
  console.error(termSafe(`deno compile failed: ${result.reason}`));
  if (result.offline) console.error(`${DENORT_HINT}.`);
  console.error(
    "Without a binary, `deno task daemon-start` runs the daemon with `deno run` and the same " +
      "permissions.",
  );
  return 1;
}

// Run as a script (`deno task compile`): its one exit.
if (import.meta.main) Deno.exit(await main());
