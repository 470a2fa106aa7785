/**
 * Which build of the program a service was last (re)started with:
 * `run/service-program.json`. When `start` finds the service running with an
 * unchanged definition but a different stamp (the binary was recompiled
 * after `git pull` or a Deno upgrade, or the sources of the `deno run` form
 * changed), it restarts the service (`launchctl kickstart -k`, `systemctl
 * --user restart`) instead of saying "already running" while the old code
 * keeps running.
 *
 * @module
 */
import { join } from "node:path";
import { type HomePaths, readJsonIfExists, writeJsonAtomic } from "../sys/mod.ts";
import { type BuildInfo, buildInfoPath, sourceFingerprint } from "./compile.ts";
import type { ServiceProgram } from "./program.ts";

/** Path of the stamp file. */
function serviceStampPath(paths: HomePaths): string {
  return join(paths.run, "service-program.json");
}

/**
 * The stamp of `program`: the compiled binary's build info (sources, deno,
 * flags, build time) or, for `deno run`, the sources' fingerprint, this
 * deno's version and the command line.
 */
export async function programStamp(paths: HomePaths, program: ServiceProgram): Promise<string> {
  if (program.kind === "compiled") {
    let build: BuildInfo | undefined;
    try {
      build = await readJsonIfExists(buildInfoPath(paths)) as BuildInfo | undefined;
    } catch {
      build = undefined;
    }
    let mtime = "";
    try {
      mtime = (await Deno.stat(program.argv[0])).mtime?.toISOString() ?? "";
    } catch {
      // not built yet
    }
    return JSON.stringify({
      argv: program.argv,
      fingerprint: build?.fingerprint ?? null,
      deno: build?.deno_version ?? null,
      compiled_at: build?.compiled_at ?? null,
      mtime,
    });
  }
  return JSON.stringify({
    argv: program.argv,
    fingerprint: await sourceFingerprint(),
    deno: Deno.version.deno,
  });
}

/** The stamp recorded at the last (re)start; undefined when none. */
export async function readServiceStamp(paths: HomePaths): Promise<string | undefined> {
  try {
    const value = await readJsonIfExists(serviceStampPath(paths)) as
      | { stamp?: unknown }
      | undefined;
    return typeof value?.stamp === "string" ? value.stamp : undefined;
  } catch {
    return undefined;
  }
}

/** Records the stamp of the program just (re)started. */
export async function writeServiceStamp(paths: HomePaths, stamp: string): Promise<void> {
  await writeJsonAtomic(serviceStampPath(paths), { stamp, started_at: new Date().toISOString() });
}
