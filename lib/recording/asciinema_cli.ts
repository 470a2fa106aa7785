/**
 * The asciinema command line, for asciinema 2.x (Python; Debian's) and 3.x
 * (Rust): version detection and the `rec` argument list for each.
 *
 * | what | 2.x | 3.x |
 * | --- | --- | --- |
 * | keystrokes | `--stdin` | `--capture-input` (`-I` in the 3.0 release candidates, where it was `--input`) |
 * | title | `--title=T` | `--title=T` |
 * | command | `--command=C` | `--command=C` |
 * | idle limit | `--idle-time-limit=S` | `--idle-time-limit=S` |
 *
 * Values are passed as `--option=value`, which both argparse (2.x) and
 * clap (3.x) read as one argument, so a title or command that starts with
 * `-` is never taken for an option.
 *
 * @module
 */
import { delay, run } from "../sys/mod.ts";

/** A parsed `asciinema --version`. */
export interface AsciinemaVersion {
  /** Major version (2 or 3 are supported). */
  major: number;
  /** Minor version. */
  minor: number;
  /** Patch version. */
  patch: number;
  /** Pre-release tag such as `rc.3`, or null. */
  prerelease: string | null;
  /** The version as printed, e.g. `2.2.0` or `3.0.0-rc.3`. */
  text: string;
}

/**
 * Parses the output of `asciinema --version` (`asciinema 2.2.0`,
 * `asciinema 3.0.0-rc.3`); `undefined` when no version is in it.
 */
export function parseAsciinemaVersion(output: string): AsciinemaVersion | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?(?:[-+]?((?:rc|alpha|beta|dev|pre)[0-9A-Za-z.]*))?/.exec(
    output,
  );
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const patch = Number(match[3] ?? 0);
  const prerelease = match[4] ?? null;
  return {
    major,
    minor,
    patch,
    prerelease,
    text: `${major}.${minor}.${patch}${prerelease ? `-${prerelease}` : ""}`,
  };
}

/** Options for {@linkcode detectAsciinema}. */
export interface DetectAsciinemaOptions {
  /** The executable (default `asciinema`). */
  command?: string;
  /** Timeout (default 15 s: asciinema 2 is a Python program and may start slowly). */
  timeoutMs?: number;
}

/** What {@linkcode detectAsciinema} found. */
export type DetectAsciinemaResult =
  | { ok: true; version: AsciinemaVersion }
  | { ok: false; error: string };

/** Runs `asciinema --version` and parses it; a clear error when it is missing, fails or is too old. */
export async function detectAsciinema(
  options: DetectAsciinemaOptions = {},
): Promise<DetectAsciinemaResult> {
  const command = options.command ?? "asciinema";
  const version = () =>
    run(command, { args: ["--version"], timeoutMs: options.timeoutMs ?? 15_000 });
  let result = await version();
  if (!result.success && result.code !== 127 && !result.timedOut) {
    // asciinema 2 creates ~/.config/asciinema/install-id on first use, and two
    // first runs at once race on it (one fails with FileExistsError): try again.
    await delay(300);
    result = await version();
  }
  if (result.code === 127) {
    return {
      ok: false,
      error:
        `${command} is not installed (or not on PATH): install it (macOS: brew install asciinema; Debian/Ubuntu: sudo apt install asciinema) and run bootstrap again`,
    };
  }
  if (!result.success) {
    return {
      ok: false,
      error: `${command} --version ${
        result.timedOut ? "timed out" : `failed (exit ${result.code})`
      }: ${(result.stderr || result.stdout).trim().slice(0, 500)}`,
    };
  }
  const parsed = parseAsciinemaVersion(result.stdout + "\n" + result.stderr);
  if (!parsed) {
    return {
      ok: false,
      error: `could not read a version from \`${command} --version\`: ${
        JSON.stringify(result.stdout.trim().slice(0, 200))
      }`,
    };
  }
  if (parsed.major < 2) {
    return {
      ok: false,
      error:
        `asciinema ${parsed.text} is too old: version 2.x or 3.x is needed (it writes asciicast v2/v3)`,
    };
  }
  return { ok: true, version: parsed };
}

/** What to record. */
export interface RecOptions {
  /** Output file (absolute path: never taken for an option). */
  file: string;
  /** Title stored in the recording's header. */
  title?: string;
  /** Command to record instead of `$SHELL`. */
  command?: string;
  /** Cap on recorded idle time, in seconds. */
  idleTimeLimit?: number;
  /** Record keystrokes too (passwords typed included). */
  captureInput?: boolean;
  /** Replace an existing file (bootstrap never needs this: ids are unique). */
  overwrite?: boolean;
  /** Suppress asciinema's own notices. */
  quiet?: boolean;
}

/** The flag that turns on keystroke capture for `version`. */
export function captureInputFlag(version: AsciinemaVersion): string {
  if (version.major < 3) return "--stdin";
  // 3.0.0 release candidates named it --input; -I means the same in every 3.x.
  if (version.major === 3 && version.minor === 0 && version.prerelease) return "-I";
  return "--capture-input";
}

/** The arguments after `asciinema` that record `options.file` with `version`. */
export function buildRecArgs(version: AsciinemaVersion, options: RecOptions): string[] {
  if (!options.file) throw new Error("buildRecArgs: no output file");
  if (options.file.startsWith("-")) {
    throw new Error(
      `buildRecArgs: output file ${JSON.stringify(options.file)} looks like an option`,
    );
  }
  const args = ["rec"];
  if (options.captureInput) args.push(captureInputFlag(version));
  if (options.title !== undefined && options.title !== "") args.push(`--title=${options.title}`);
  if (options.command !== undefined && options.command !== "") {
    args.push(`--command=${options.command}`);
  }
  if (options.idleTimeLimit !== undefined) {
    if (!Number.isFinite(options.idleTimeLimit) || options.idleTimeLimit <= 0) {
      throw new Error(
        `idle time limit must be a positive number of seconds, got ${options.idleTimeLimit}`,
      );
    }
    args.push(`--idle-time-limit=${options.idleTimeLimit}`);
  }
  if (options.overwrite) args.push("--overwrite");
  if (options.quiet) args.push("--quiet");
  args.push(options.file);
  return args;
}
