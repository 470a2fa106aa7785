/**
 * Setup step 1, preflight: are the tools the daemon and the recorder need
 * installed? deno, git, zstd, asciinema (2.x or 3.x) and the platform's
 * secret tool (`security` on macOS, `secret-tool` on Linux). Each missing
 * one is named with the command that installs it. Changes nothing on disk:
 * asciinema 2 writes an install id into its config folder on first use, so
 * its version is asked with `ASCIINEMA_CONFIG_HOME` pointing at a scratch
 * folder that is removed afterwards.
 *
 * @module
 */
import { parseAsciinemaVersion } from "../recording/mod.ts";
import { commandExists, run } from "../sys/mod.ts";

/** One tool's check. */
export interface ToolCheck {
  /** Tool name. */
  name: string;
  /** What it is for. */
  purpose: string;
  /** True when present (and, for asciinema, a supported version). */
  ok: boolean;
  /** True when setup cannot go on without it. */
  required: boolean;
  /** Version, when known. */
  version?: string;
  /** Why it is not ok. */
  problem?: string;
  /** How to install it on this platform. */
  install?: string;
}

/** Options for {@linkcode preflight}. */
export interface PreflightOptions {
  /** Platform (default `Deno.build.os`). */
  os?: string;
  /** Timeout per tool (default 15 s). */
  timeoutMs?: number;
}

/** The install command for `tool` on `os`. */
function installHint(tool: string, os: string = Deno.build.os): string {
  if (tool === "deno") {
    return os === "darwin" ? "brew install deno" : "curl -fsSL https://deno.land/install.sh | sh";
  }
  if (os === "darwin") {
    if (tool === "security") return "security is part of macOS (/usr/bin/security)";
    return `brew install ${tool}`;
  }
  const apt: Record<string, string> = {
    git: "git",
    zstd: "zstd",
    asciinema: "asciinema",
    "secret-tool": "libsecret-tools",
  };
  return `sudo apt-get install ${apt[tool] ?? tool}` +
    (tool === "secret-tool" ? " (and a Secret Service such as gnome-keyring)" : "");
}

function firstVersion(text: string): string | undefined {
  return /\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.]+)?/.exec(text)?.[0];
}

async function versionOf(
  tool: string,
  args: string[],
  options: PreflightOptions,
  env?: Record<string, string>,
): Promise<{ found: boolean; output: string; error?: string }> {
  const result = await run(tool, { args, env, timeoutMs: options.timeoutMs ?? 15_000 });
  if (result.code === 127 && !result.timedOut) return { found: false, output: "" };
  const output = `${result.stdout}\n${result.stderr}`;
  if (!result.success) {
    return {
      found: true,
      output,
      error: result.timedOut ? "did not answer in time" : `exited ${result.code}`,
    };
  }
  return { found: true, output };
}

async function checkAsciinema(options: PreflightOptions, os: string): Promise<ToolCheck> {
  const base = {
    name: "asciinema",
    purpose: "records terminal sessions (version 2.x or 3.x)",
    required: false,
  };
  const scratch = await Deno.makeTempDir({ prefix: "asciinema-setup-config-" });
  try {
    const probe = await versionOf("asciinema", ["--version"], options, {
      ASCIINEMA_CONFIG_HOME: scratch,
    });
    if (!probe.found) {
      return {
        ...base,
        ok: false,
        problem: "not installed",
        install: installHint("asciinema", os),
      };
    }
    const version = parseAsciinemaVersion(probe.output);
    if (probe.error || !version) {
      return {
        ...base,
        ok: false,
        problem: probe.error ? `asciinema --version ${probe.error}` : "no version in its output",
        install: installHint("asciinema", os),
      };
    }
    if (version.major !== 2 && version.major !== 3) {
      return {
        ...base,
        ok: false,
        version: version.text,
        problem: `version ${version.text} is not supported (2.x or 3.x)`,
        install: installHint("asciinema", os),
      };
    }
    return { ...base, ok: true, version: version.text };
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

async function checkSimple(
  name: string,
  purpose: string,
  args: string[],
  required: boolean,
  options: PreflightOptions,
  os: string,
): Promise<ToolCheck> {
  const probe = await versionOf(name, args, options);
  if (!probe.found) {
    return {
      name,
      purpose,
      required,
      ok: false,
      problem: "not installed",
      install: installHint(name, os),
    };
  }
  if (probe.error) {
    return {
      name,
      purpose,
      required,
      ok: false,
      problem: `${name} ${args.join(" ")} ${probe.error}`,
      install: installHint(name, os),
    };
  }
  return { name, purpose, required, ok: true, version: firstVersion(probe.output) };
}

/**
 * Checks every tool (in parallel). git and zstd are required (the daemon
 * cannot work without them); asciinema and the secret tool are reported but
 * not fatal (recording can wait for asciinema; without a keyring the token
 * lives in the environment).
 */
export async function preflight(options: PreflightOptions = {}): Promise<ToolCheck[]> {
  const os = options.os ?? Deno.build.os;
  const deno: ToolCheck = {
    name: "deno",
    purpose: "runs the daemon",
    required: true,
    ok: true,
    version: Deno.version.deno,
  };
  const checks = await Promise.all([
    checkSimple("git", "commits and pushes the chunks", ["--version"], true, options, os),
    checkSimple("zstd", "compresses the chunks", ["--version"], true, options, os),
    checkAsciinema(options, os),
    os === "darwin"
      ? checkPresence("security", "keeps the token in the macOS keychain", os)
      : checkPresence("secret-tool", "keeps the token in the Secret Service keyring", os),
  ]);
  return [deno, ...checks];
}

async function checkPresence(name: string, purpose: string, os: string): Promise<ToolCheck> {
  // `secret-tool` and `security` have no version flag: being on PATH is the check.
  if (await commandExists(name)) return { name, purpose, required: false, ok: true };
  return {
    name,
    purpose,
    required: false,
    ok: false,
    problem: "not installed",
    install: installHint(name, os),
  };
}

/** Lines for people: one per tool, with the install command of each missing one. */
export function renderPreflight(checks: ToolCheck[]): string[] {
  return checks.map((check) => {
    if (check.ok) return `  ✔ ${check.name}${check.version ? ` ${check.version}` : ""}`;
    const mark = check.required ? "✘" : "!";
    return `  ${mark} ${check.name}: ${check.problem ?? "missing"} (${check.purpose}) — ` +
      `install: ${check.install ?? installHint(check.name)}`;
  });
}

/** The required tools that are missing (setup stops when there are any). */
export function missingRequired(checks: ToolCheck[]): ToolCheck[] {
  return checks.filter((check) => check.required && !check.ok);
}
