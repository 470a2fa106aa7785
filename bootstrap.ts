#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-run --allow-net=api.github.com --no-prompt
//usr/bin/true 2>/dev/null || :; echo "ERROR: run ./bootstrap.ts directly; do not source it" >&2; case $- in *e*) return 0 2>/dev/null || exit 1;; esac; return 1 2>/dev/null || exit 1
/**
 * bootstrap.ts: starts one asciinema recording that the daemon backs up.
 * It only records; cutting chunks and pushing them is the daemon's job.
 *
 * Run it directly (`./bootstrap.ts [options]` or `deno task bootstrap`).
 * Line 2 above is a TypeScript comment, but a shell that `source`s this file
 * runs it as a command (`//usr/bin/true` is `/usr/bin/true`, which macOS and
 * Linux both have; macOS has no `/bin/true`). Should even that be missing,
 * `2>/dev/null || :` keeps the shell quiet and `set -e` from firing. It
 * prints an error and `return`s before reading anything else, so the
 * person's shell, its options and its traps stay as they were. Under `set
 * -e` it returns 0, so the shell is not closed by the failed `source` either.
 *
 * What it does:
 * 1. Preflight: warns loudly when the daemon is not running or unhealthy
 *    (health.json: pid alive, heartbeat fresh), and records anyway.
 * 2. Decides where the recording goes (repo and branch) and its id.
 * 3. Writes `active/<id>.json`, then runs `asciinema rec active/<id>.cast`
 *    with the terminal inherited, and records the asciinema process as
 *    `recorder_pid`.
 * 4. Afterwards (also after Ctrl-C, SIGTERM or SIGHUP) writes `ended` into
 *    the `.json`, so the daemon cuts the final chunk at once, and prints
 *    where the recording is, whether it is backed up yet, and how to
 *    restore it.
 *
 * The work is in lib/recording/ (`record.ts`); this file parses the command
 * line and maps the outcome to the exit status, in one place.
 *
 * @module
 */
import { buildCli, record } from "./lib/recording/mod.ts";
import { printFatal } from "./lib/cli/output.ts";

/** Parses `argv` and records; returns the exit code (an error is one line, never a stack trace). */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await buildCli(async (options) => {
      code = await record(options);
    }).parseAsync(argv, { from: "user" });
  } catch (error) {
    return printFatal(error, "ERROR");
  }
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
