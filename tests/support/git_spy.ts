/**
 * A `git` (or another tool) on PATH that records every call's arguments,
 * then runs the real one: put its folder first on a child's PATH (or this
 * process's, around an in-process call) and read back what was run.
 * Counting calls and their arguments is how tests show what a reader did
 * (never its time).
 *
 * @module
 */
import { join } from "node:path";
import { findOnPath } from "../../lib/sys/mod.ts";

/** Subcommands that walk a branch's history (their cost grows with its commits). */
export const HISTORY_WALKERS = new Set([
  "log",
  "rev-list",
  "shortlog",
  "whatchanged",
  "merge-base",
  "describe",
  "blame",
  "fast-export",
  "bundle",
  "fsck",
]);

/** A recording `git`. */
export interface GitSpy {
  /** The folder with the `git` script (prepend it to PATH). */
  bin: string;
  /** Every call since the last `reset`, as its arguments. */
  calls(): Promise<string[][]>;
  /** Forgets the calls so far. */
  reset(): Promise<void>;
}

/** Writes the spy of `tool` (default git) into `dir` (created; one folder per tool). */
export async function makeGitSpy(dir: string, tool = "git"): Promise<GitSpy> {
  const real = findOnPath(tool);
  if (!real) throw new Error(`${tool} is not on PATH`);
  const bin = join(dir, "bin");
  await Deno.mkdir(bin, { recursive: true });
  const log = join(dir, `${tool}-calls.log`);
  await Deno.writeTextFile(log, "");
  // One line per call: its arguments, each followed by a unit separator.
  await Deno.writeTextFile(
    join(bin, tool),
    `#!/bin/sh\n{ for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\n'; } >> '${log}'\n` +
      `exec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return {
    bin,
    calls: async () =>
      (await Deno.readTextFile(log)).split("\n").filter(Boolean).map((line) =>
        line.split("\x1f").slice(0, -1)
      ),
    reset: () => Deno.writeTextFile(log, ""),
  };
}

/** The git subcommand of a call's arguments (lib/git/hermetic.ts). */
export { gitSubcommand as subcommand } from "../../lib/git/hermetic.ts";
