/**
 * `daemon.ts search <pattern> [FILE.cast...]`: every match across every
 * recording of the known remotes (or in the local files given), one per line
 * as `<id>  <hh:mm:ss>  <line>` (the time into the recording; the file for a
 * local one), or JSON lines with `--json`. Exit codes follow grep: 0 a
 * match, 1 none, 2 an error (matches found before it are still printed); an
 * `--id` that names no recording is an error, with the closest ids.
 *
 * @module
 */
import { errorMessage, numberOption } from "../sys/mod.ts";
import { Command } from "@commander-js/extra-typings";
import { BranchSourceError, RemoteLookupError } from "../branch/mod.ts";
import { parseSince } from "../status/mod.ts";
import {
  formatMatchJson,
  formatMatchText,
  type Match,
  type MatchPlace,
  needsSeparator,
  PatternError,
  REGEX_TIME_LIMIT_MS,
  searchFiles,
  searchRecordings,
} from "../text/mod.ts";
import { writeStdout } from "./logs.ts";
import { EXIT_USAGE, exitWith, printLine } from "./output.ts";
import { type RestoreHooks, type SourceFlags, sourceOptions, withSignals } from "./restore.ts";
import { badIdArguments, LIST_REPO_HELP, withBranchOptions } from "./options.ts";

/** Flags of `search`. */
export interface SearchFlags extends SourceFlags {
  /** Only these recordings. */
  id?: string[];
  /** `10m`, `2h`, `1d` or an ISO date: only lines shown since then. */
  since?: string;
  /** The pattern is a regular expression. */
  regex?: boolean;
  /** Ignore case. */
  ignoreCase?: boolean;
  /** Lines of context around each match. */
  context?: number;
  /** JSON lines. */
  json?: boolean;
  /** Render every recording from its chunks (ignore text indexes). */
  render?: boolean;
  /** With `regex`: seconds one batch of lines may take. */
  regexTimeout?: number;
}

/** Runs `search`; returns the exit code (0 match, 1 none, 2 error). */
export async function runSearch(
  pattern: string,
  flags: SearchFlags,
  hooks: RestoreHooks = {},
  files: string[] = [],
): Promise<number> {
  if (files.length && flags.id?.length) {
    printLine(
      "asciinema-chunker: --id picks recordings on the branches; with files, only those files " +
        "are searched (drop --id or the files).",
    );
    return 2;
  }
  if (badIdArguments(flags.id ?? [])) return EXIT_USAGE;
  let since: Date | undefined;
  if (flags.since !== undefined) {
    try {
      since = parseSince(flags.since);
    } catch (error) {
      printLine(`asciinema-chunker: ${errorMessage(error)}`);
      return 2;
    }
  }
  return await withSignals(async (signal) => {
    let previous: { place: MatchPlace; match: Match } | undefined;
    const context = flags.context ?? 0;
    const regexTimeLimitMs = flags.regexTimeout === undefined
      ? undefined
      : flags.regexTimeout * 1000;
    const onMatch = async (place: MatchPlace, match: Match) => {
      if (flags.json) {
        await writeStdout(formatMatchJson(place, match));
      } else {
        const separate = context > 0 && previous !== undefined &&
          (previous.place.id !== place.id || needsSeparator(previous.match, match));
        await writeStdout((separate ? "--\n" : "") + formatMatchText(place.id, match));
      }
      previous = { place, match };
    };
    if (files.length) {
      try {
        const local = await searchFiles({
          files,
          pattern,
          regex: flags.regex,
          ignoreCase: flags.ignoreCase,
          regexTimeLimitMs,
          signal,
          context,
          since,
          onMatch,
        });
        for (const error of local.errors) printLine(`asciinema-chunker: ${error}`);
        if (local.errors.length) return 2;
        return local.matches > 0 ? 0 : 1;
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        printLine(`asciinema-chunker: ${error.message}`);
        return 2;
      }
    }
    let summary;
    try {
      summary = await searchRecordings({
        ...sourceOptions(flags, hooks, signal),
        pattern,
        regex: flags.regex,
        ignoreCase: flags.ignoreCase,
        context,
        ids: flags.id?.length ? flags.id : undefined,
        since,
        noIndex: flags.render,
        regexTimeLimitMs,
        onMatch,
      });
    } catch (error) {
      if (
        error instanceof PatternError || error instanceof BranchSourceError ||
        error instanceof RemoteLookupError
      ) {
        printLine(`asciinema-chunker: ${error.message}`);
        return 2;
      }
      throw error;
    }
    for (const note of summary.notes) printLine(`note: ${note}`);
    for (const error of summary.errors) printLine(`asciinema-chunker: ${error}`);
    if (summary.errors.length) return 2;
    return summary.matches > 0 ? 0 : 1;
  });
}

/** The `search` subcommand. */
export function searchCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("search")
      .description(
        "find text in every recording, with the time into each (exit 0 found, 1 none, 2 error)",
      )
      .argument("<pattern>", "text to find (a regular expression with --regex)")
      .argument(
        "[files...]",
        "local .cast files to search instead of the branches (asciicast v1, v2 or v3)",
      ),
    LIST_REPO_HELP,
  )
    .option(
      "--id <id>",
      "only this recording (repeatable)",
      (value, all: string[]) => [...all, value],
      [] as string[],
    )
    .option("--since <when>", "only lines shown since then: 30m, 2h, 1d or an ISO date")
    .option("--regex", "the pattern is a JavaScript regular expression")
    .option(
      "--regex-timeout <seconds>",
      `with --regex: stop when one batch of lines takes longer (default ${
        REGEX_TIME_LIMIT_MS / 1000
      }; a pattern that backtracks catastrophically never ends)`,
      numberOption("a number of seconds from 0.1 to 3600", { min: 0.1, max: 3600 }),
    )
    .option("-i, --ignore-case", "ignore case")
    .option(
      "-C, --context <n>",
      "lines of context around each match",
      numberOption("a whole number of lines from 0 to 1000", { min: 0, max: 1000, whole: true }),
    )
    .option("--json", "one JSON object per match")
    .option("--render", "render every recording from its chunks, ignoring text indexes")
    // grep's convention: a bad option is an error (2), not "no match" (1).
    // Commander's own usage errors end the process here (it has printed them).
    .exitOverride((error) => Deno.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (pattern, files, options) => {
      const code = await runSearch(pattern, options, hooks, files);
      exitWith(code);
    });
}
