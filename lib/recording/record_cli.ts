/**
 * The command line of `bootstrap.ts` ({@linkcode buildCli}); its action is
 * given by the entry point.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { numberOption } from "../sys/mod.ts";
import type { BootstrapOptions } from "./record.ts";

/** A number of seconds, 0 or more (`--wait`, `--idle-time-limit`). */
function secondsOption(name: string): (value: string) => number {
  return numberOption("a number of seconds", {
    min: 0,
    problem: (value) => `${name} must be a number of seconds, got ${value}`,
  });
}

/** Builds the command line (exported for tests). */
export function buildCli(action: (options: BootstrapOptions) => Promise<void>) {
  return new Command()
    .name("bootstrap.ts")
    .description(
      "Record a terminal session with asciinema into ~/.asciinema/active/, where the backup daemon picks it up.",
    )
    .option("--repo <url>", "remote to back up to (default: REPO_URL, config.json, git origin)")
    .option("--branch <name>", "branch (default: BRANCH, config.json, asciinema-recordings)")
    .option("--workspace <name>", "workspace name in the id (default: the directory's name)")
    .option("-t, --title <title>", "title of the recording")
    .option("-c, --command <command>", "record this command instead of a shell")
    .option(
      "-i, --idle-time-limit <seconds>",
      "cap recorded idle time",
      secondsOption("--idle-time-limit"),
    )
    .option("--capture-input", "record keystrokes too (passwords you type included)")
    .option(
      "--allow-public",
      "let the daemon push this recording to a public GitHub repository even unencrypted",
    )
    .option(
      "--wait <seconds>",
      "after recording, wait this long for the backup (0: do not wait)",
      secondsOption("--wait"),
      10,
    )
    .addOption(new Option("--cwd <dir>", "directory to record in").hideHelp())
    .showHelpAfterError()
    .action(async (options) => {
      await action(options);
    });
}
