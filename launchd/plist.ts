/**
 * The macOS LaunchAgent of the daemon, built with the `plist` package (no
 * string templates): `~/Library/LaunchAgents/com.cc-skills.asciinema-chunker.plist`.
 * The label is the bash version's, so an existing user switches over; a
 * legacy plist that runs `idle-chunker-daemon.sh` is recognised and replaced.
 *
 * @module
 */
import * as plist from "plist";
import { join } from "node:path";
import type { ServiceSpec } from "../lib/service/program.ts";

/** The LaunchAgent label (the bash version's). */
export const LAUNCHD_LABEL = "com.cc-skills.asciinema-chunker";

/** The bash version's daemon script, which marks a legacy plist. */
export const LEGACY_SCRIPT = "idle-chunker-daemon.sh";

/** Seconds launchd waits before restarting the job again. */
export const THROTTLE_INTERVAL = 10;

/** `~/Library/LaunchAgents`. */
export function launchAgentsDir(home: string): string {
  return join(home, "Library", "LaunchAgents");
}

/** `~/Library/LaunchAgents/<label>.plist`. */
export function launchAgentPath(home: string, label: string = LAUNCHD_LABEL): string {
  return join(launchAgentsDir(home), `${label}.plist`);
}

/** The LaunchAgent as a plain object (what {@linkcode buildPlist} serialises). */
export function launchAgentObject(
  spec: ServiceSpec,
  label: string = LAUNCHD_LABEL,
): Record<string, plist.PlistValue> {
  return {
    Label: label,
    ProgramArguments: [...spec.program.argv],
    RunAtLoad: true,
    // Restart after a crash or a plain kill, not only after a failure exit
    // (the bash version's SuccessfulExit=false missed `kill`).
    KeepAlive: true,
    ThrottleInterval: THROTTLE_INTERVAL,
    ProcessType: "Background",
    // No core dumps: a crash must not write the token and recordings to disk.
    SoftResourceLimits: { Core: 0 },
    HardResourceLimits: { Core: 0 },
    WorkingDirectory: spec.workingDirectory,
    StandardOutPath: spec.stdoutPath,
    StandardErrorPath: spec.stderrPath,
    EnvironmentVariables: { ...spec.env },
  };
}

/** The LaunchAgent plist (XML). */
export function buildPlist(spec: ServiceSpec, label: string = LAUNCHD_LABEL): string {
  return plist.build(launchAgentObject(spec, label)) + "\n";
}

/** Parses a plist's text; `undefined` when it is not a dictionary plist. */
export function parsePlist(text: string): Record<string, unknown> | undefined {
  try {
    const value = plist.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // not a plist
  }
  return undefined;
}

/** True when a plist runs the bash version's `idle-chunker-daemon.sh`. */
export function isLegacyPlist(text: string): boolean {
  const parsed = parsePlist(text);
  if (!parsed) return text.includes(LEGACY_SCRIPT);
  const args = Array.isArray(parsed.ProgramArguments) ? parsed.ProgramArguments : [];
  const program = typeof parsed.Program === "string" ? [parsed.Program] : [];
  return [...program, ...args].some((arg) =>
    typeof arg === "string" && arg.includes(LEGACY_SCRIPT)
  );
}

/** A LaunchAgent found on disk. */
export interface FoundAgent {
  /** Its file. */
  path: string;
  /** Its label. */
  label: string;
}

/**
 * LaunchAgents in `dir` that run the bash daemon (whatever their label), to
 * be booted out and replaced.
 */
export async function findLegacyAgents(dir: string): Promise<FoundAgent[]> {
  const found: FoundAgent[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return found;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isFile || !entry.name.endsWith(".plist")) continue;
    const path = join(dir, entry.name);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch {
      continue;
    }
    if (!isLegacyPlist(text)) continue;
    const label = parsePlist(text)?.Label;
    found.push({
      path,
      label: typeof label === "string" ? label : entry.name.replace(/\.plist$/, ""),
    });
  }
  return found;
}
