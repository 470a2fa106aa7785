/**
 * Options shared by subcommands: where `list`, `restore` and `verify` read
 * the branch (`--repo`, `--branch`, `--offline`) and the age identity that
 * decrypts encrypted recordings (`--identity`); and the `<id>` argument.
 *
 * @module
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import { recordingIdProblem } from "../recording/mod.ts";
import { printLine } from "./output.ts";

/** `--repo` of `restore` and `verify`: where the recording's remote comes from. */
export const REPO_HELP = "remote URL or path (default: the recording's own remote, as pinned by " +
  "the daemon or named in its .json, else repo_url in config.json, else the embedded backup.git)";
/** `--repo` of `list`. */
export const LIST_REPO_HELP = "only this remote (default: every remote the daemon knows)";
const BRANCH_HELP = "branch (default: the recording's, else branch in config.json, else " +
  "asciinema-recordings)";
const OFFLINE_HELP = "read the daemon's local clone without fetching";
const IDENTITY_HELP = "age identity file (AGE-SECRET-KEY-1… lines) for encrypted recordings " +
  "(default: ASCIINEMA_AGE_IDENTITY, else the identity in the credential store)";

/**
 * Adds `--repo <url>` (with `repoHelp`), `--branch <name>`, `--offline` and
 * `--identity <file>` to `command`.
 */
export function withBranchOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(command: Command<Args, Opts, Globals>, repoHelp: string = REPO_HELP) {
  return command
    .option("--repo <url>", repoHelp)
    .option("--branch <name>", BRANCH_HELP)
    .option("--offline", OFFLINE_HELP)
    .option("--identity <file>", IDENTITY_HELP);
}

/** Help of the `<id>` argument of `restore`, `verify`, `text` and `play`. */
export const ID_HELP = "recording id (see `list`); put `--` before an id starting with a dash";

/**
 * Checks the recording ids a person gave (`<id>`, `--id`): the first one
 * that cannot name a recording is reported on one line and true returned
 * (the command then exits 2, a usage error).
 */
export function badIdArguments(ids: readonly (string | undefined)[]): boolean {
  for (const id of ids) {
    if (id === undefined) continue;
    const problem = recordingIdProblem(id);
    if (!problem) continue;
    const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
    printLine(`asciinema-chunker: ${JSON.stringify(shown)} is not a recording id: ${problem}`);
    return true;
  }
  return false;
}
