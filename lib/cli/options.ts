/**
 * Options shared by subcommands: where `list`, `restore` and `verify` read
 * the branch (`--repo`, `--branch`, `--offline`).
 *
 * @module
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";

/** `--repo` of `restore` and `verify`: where the recording's remote comes from. */
export const REPO_HELP = "remote URL or path (default: the recording's own remote, as pinned by " +
  "the daemon or named in its .json, else repo_url in config.json, else the embedded backup.git)";
/** `--repo` of `list`. */
export const LIST_REPO_HELP = "only this remote (default: every remote the daemon knows)";
const BRANCH_HELP = "branch (default: the recording's, else branch in config.json, else " +
  "asciinema-recordings)";
const OFFLINE_HELP = "read the daemon's local clone without fetching";

/** Adds `--repo <url>` (with `repoHelp`), `--branch <name>` and `--offline` to `command`. */
export function withBranchOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(command: Command<Args, Opts, Globals>, repoHelp: string = REPO_HELP) {
  return command
    .option("--repo <url>", repoHelp)
    .option("--branch <name>", BRANCH_HELP)
    .option("--offline", OFFLINE_HELP);
}
