/**
 * `daemon.ts list`, `daemon.ts restore <id>` and `daemon.ts verify [<id>]`:
 * getting recordings back from the branch, on this machine or a new one.
 *
 * Exit codes: `list` 0, or 2 when the branch cannot be read; `restore` 0
 * (also for a partial restore, which says so), 1 when nothing was written;
 * `verify` 0 all good, 1 problems found, 2 the branch cannot be read.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { writeStdout } from "./logs.ts";
import { EXIT_USAGE, exitWith, printLine } from "./output.ts";
import {
  BranchSourceError,
  type BranchSourceOptions,
  listKnownRemotes,
  listRecordings,
  type ListResult,
  type RemoteListing,
  RemoteLookupError,
  RestoreError,
  restoreRecording,
  storeAuthResolver,
  verifyBranch,
} from "../branch/mod.ts";
import {
  formatBytes,
  type HomePaths,
  homePaths,
  loadSettings,
  resolveHome,
  termSafe,
} from "../sys/mod.ts";
import type { AuthResolver } from "../git/mod.ts";
import { AGE_IDENTITY, Identities } from "../crypto/mod.ts";
import { openCredentialStore } from "../credentials/mod.ts";
import { restoreCommandLine } from "../recording/mod.ts";
import { badIdArguments, ID_HELP, LIST_REPO_HELP, withBranchOptions } from "./options.ts";

/** Hooks other modules provide. */
export interface RestoreHooks {
  /** Authentication for network remotes (default: the credential store's token for HTTPS). */
  authFor?: AuthResolver;
}

/** Options shared by the commands that read a branch. */
export interface SourceFlags {
  repo?: string;
  branch?: string;
  offline?: boolean;
  identity?: string;
}

/**
 * The identities for encrypted recordings: `--identity`, else
 * `ASCIINEMA_AGE_IDENTITY`, else the credential store (asked only when
 * something encrypted is met).
 */
export function identitiesFor(paths: HomePaths, file?: string): Identities {
  return new Identities({
    file,
    stored: async () => {
      let setting: string | undefined;
      try {
        setting = (await loadSettings(paths.config)).credential_store;
      } catch {
        setting = undefined; // a broken config.json is reported elsewhere; auto works here
      }
      return await (await openCredentialStore({ setting })).get(AGE_IDENTITY);
    },
  });
}

/** Where a command reads the branch, from its flags. */
export function sourceOptions(
  flags: SourceFlags,
  hooks: RestoreHooks,
  signal: AbortSignal,
): BranchSourceOptions {
  const paths = homePaths(resolveHome());
  return {
    repoUrl: flags.repo,
    branch: flags.branch,
    offline: flags.offline ?? false,
    paths,
    authFor: hooks.authFor ?? storeAuthResolver(paths),
    signal,
    identities: identitiesFor(paths, flags.identity),
  };
}

/**
 * Runs `body` with an abort signal fired by SIGINT/SIGTERM (temporary files
 * get removed). When `body` ends by the signal, the process exits with
 * 128 + the signal's number (130 for Ctrl-C), saying so on one line.
 */
export async function withSignals<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let received: Deno.Signal | undefined;
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const stop = () => {
      received ??= signal;
      controller.abort(new Error("interrupted"));
    };
    Deno.addSignalListener(signal, stop);
    return { signal, stop };
  });
  try {
    return await body(controller.signal);
  } catch (error) {
    if (!received) throw error;
    printLine(`asciinema-chunker: stopped by ${received}`);
    // A signal ends the command now, wherever it was (one of the few exits in lib/).
    return Deno.exit(received === "SIGINT" ? 130 : 143);
  } finally {
    for (const { signal, stop } of listeners) Deno.removeSignalListener(signal, stop);
  }
}

function shortTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return termSafe(iso);
  return date.toISOString().slice(0, 16).replace("T", " ") + "Z";
}

function sourceLine(result: { url: string; branch: string; via: string }): string {
  const how = result.via === "fetched"
    ? "fetched"
    : result.via === "direct"
    ? "read in place"
    : "local clone";
  return termSafe(`${result.branch} of ${result.url} (${how})`);
}

/** Prints a restore or branch error for people; false when `error` is something else. */
export function printError(error: unknown): boolean {
  if (error instanceof RestoreError || error instanceof BranchSourceError) {
    printLine(`asciinema-chunker: ${error.message}`);
    return true;
  }
  return false;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n") + "\n";
}

function listingText(result: ListResult): string {
  if (result.recordings.length === 0) return `No recordings on ${sourceLine(result)}.\n`;
  const rows = [["ID", "STATE", "CHUNKS", "SIZE", "STARTED", "ENDED", "LOCAL"]];
  for (const r of result.recordings) {
    rows.push([
      termSafe(
        JSON.stringify(r.id).slice(1, -1) === r.id && !/\s/.test(r.id)
          ? r.id
          : JSON.stringify(r.id),
      ),
      (r.manifest_error ? "manifest unreadable" : r.complete ? "complete" : "in progress") +
      (r.locked ? " (encrypted)" : r.encrypted ? " (decrypted)" : ""),
      String(r.chunks),
      formatBytes(r.bytes),
      shortTime(r.started),
      r.complete ? shortTime(r.ended) : `(last chunk ${shortTime(r.last_chunk)})`,
      termSafe(r.local ?? "-"),
    ]);
  }
  return `Recordings on ${sourceLine(result)}:\n\n${table(rows)}`;
}

const RESTORE_HINT = "Restore one with: deno task restore <id> [-o FILE]\n";

/**
 * Runs `list`; returns the exit code. With `--repo`, that one remote (JSON:
 * one listing); without, every remote the daemon knows, grouped (JSON:
 * `{ "remotes": [...] }`, an unreadable one as `{ url, branch, error }`).
 */
export async function runList(
  flags: SourceFlags & { json?: boolean },
  hooks: RestoreHooks = {},
): Promise<number> {
  return await withSignals(async (signal) => {
    let listings: RemoteListing[];
    try {
      const options = sourceOptions(flags, hooks, signal);
      listings = flags.repo || flags.branch
        ? [await listRecordings(options)]
        : await listKnownRemotes(options);
    } catch (error) {
      if (printError(error)) return 2;
      if (error instanceof RemoteLookupError) {
        printLine(`asciinema-chunker: ${error.message}`);
        return 2;
      }
      throw error;
    }
    const read = listings.filter((listing): listing is ListResult => !("error" in listing));
    for (const note of read.flatMap((listing) => listing.notes)) printLine(`note: ${note}`);
    const locked = read.flatMap((listing) => listing.recordings).find((r) => r.locked);
    if (locked) printLine(`note: encrypted manifests were not read: ${locked.locked}`);
    const code = read.length === 0 ? 2 : 0;
    if (flags.json) {
      const doc = flags.repo || flags.branch ? listings[0] : { remotes: listings };
      await writeStdout(JSON.stringify(doc, null, 2) + "\n");
      return code;
    }
    const parts: string[] = [];
    for (const listing of listings) {
      if ("error" in listing) {
        printLine(`asciinema-chunker: ${listing.error}`);
        parts.push(
          termSafe(`Could not read ${listing.branch} of ${listing.url} (see above).`) + "\n",
        );
      } else parts.push(listingText(listing));
    }
    const any = read.some((listing) => listing.recordings.length > 0);
    await writeStdout(parts.join("\n") + (any ? `\n${RESTORE_HINT}` : ""));
    return code;
  });
}

/** Runs `restore`; returns the exit code. */
export async function runRestore(
  id: string,
  flags: SourceFlags & { output?: string; force?: boolean },
  hooks: RestoreHooks = {},
): Promise<number> {
  if (badIdArguments([id])) return EXIT_USAGE;
  return await withSignals(async (signal) => {
    let result;

    try {
      result = await restoreRecording(id, {
        ...sourceOptions(flags, hooks, signal),
        output: flags.output,
        force: flags.force ?? false,
      });
    } catch (error) {
      if (error instanceof RestoreError && error.kind === "identity") {
        printLine(`asciinema-chunker: ${error.message}`);
        printLine(`Then run: ${restoreCommandLine(id)} --identity FILE`);
        return 1;
      }
      if (printError(error)) return 1;
      throw error;
    }
    for (const note of result.notes) printLine(`note: ${note}`);
    const shown = termSafe(id);
    let text = `Restored ${shown} from ${sourceLine(result)}\n` +
      `  to ${termSafe(result.output)}: ${result.bytes} bytes (${formatBytes(result.bytes)}) ` +
      `from ${result.chunks} chunk${result.chunks === 1 ? "" : "s"}` +
      (result.sha256 ? `, sha256 ${result.sha256}\n` : "\n");
    if (result.partial) {
      text += `PARTIAL: ${shown} has no manifest: the recording is still in progress (or its ` +
        `machine stopped before it ended). Restored bytes 0-${result.bytes}, up to the last ` +
        `pushed chunk${
          result.lastCommit
            ? ` (committed ${shortTime(new Date(result.lastCommit * 1000).toISOString())})`
            : ""
        }.\n`;
    } else {
      text += "Complete: every chunk and the manifest's total sha256 match.\n";
    }
    await writeStdout(text);
    return 0;
  });
}

/** Runs `verify`; returns the exit code. */
export async function runVerify(
  id: string | undefined,
  flags: SourceFlags & { json?: boolean },
  hooks: RestoreHooks = {},
): Promise<number> {
  if (badIdArguments([id])) return EXIT_USAGE;
  return await withSignals(async (signal) => {
    let report;
    try {
      report = await verifyBranch({ ...sourceOptions(flags, hooks, signal), id });
    } catch (error) {
      if (printError(error)) return 2;
      throw error;
    }
    for (const note of report.notes) printLine(`note: ${note}`);
    if (flags.json) {
      await writeStdout(JSON.stringify(report, null, 2) + "\n");
      return report.ok ? 0 : 1;
    }
    let text = `Verifying ${sourceLine(report)}\n`;
    let bad = 0;
    for (const r of report.recordings) {
      const state = r.complete ? "complete" : "in progress";
      const shown = termSafe(r.id);
      if (r.problems.length === 0) {
        text += `ok    ${shown}: ${r.chunks} chunks, ${r.bytes} bytes, ${state}\n`;
      } else {
        bad++;
        text += `FAIL  ${shown}: ${r.chunks} chunks, ${state}, ${r.problems.length} problem${
          r.problems.length === 1 ? "" : "s"
        }\n`;
        for (const problem of r.problems) {
          text += termSafe(`      - [${problem.kind}] ${problem.message}`) + "\n";
        }
      }
      for (const warning of r.warnings) text += termSafe(`      (warning) ${warning}`) + "\n";
    }
    text += report.recordings.length === 0
      ? "No recordings found.\n"
      : bad
      ? `${bad} of ${report.recordings.length} recording${
        report.recordings.length === 1 ? "" : "s"
      } damaged.\n`
      : `All ${report.recordings.length} recording${
        report.recordings.length === 1 ? "" : "s"
      } intact.\n`;
    await writeStdout(text);
    return report.ok ? 0 : 1;
  });
}

/** The `list` subcommand. */
export function listCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("list")
      .description(
        "list the recordings on the branch: times, size, chunks, complete or in progress",
      ),
    LIST_REPO_HELP,
  )
    .option("--json", "print one JSON document")
    .action(async (options) => {
      const code = await runList(options, hooks);
      exitWith(code);
    });
}

/** The `restore` subcommand. */
export function restoreCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("restore")
      .description(
        "restore a recording from the branch, checked chunk by chunk (never overwrites without --force)",
      )
      .argument("<id>", ID_HELP)
      .option("-o, --output <file>", "where to write (default ./<id>.cast)"),
  )
    .option("--force", "replace the output file if it exists")
    .action(async (id, options) => {
      const code = await runRestore(id, options, hooks);
      exitWith(code);
    });
}

/** The `verify` subcommand. */
export function verifyCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("verify")
      .description(
        "check recordings on the branch without writing (exit 0 intact, 1 problems, 2 unreadable)",
      )
      .argument("[id]", "only this recording (default: all)"),
  )
    .option("--json", "print one JSON document")
    .action(async (id, options) => {
      const code = await runVerify(id, options, hooks);
      exitWith(code);
    });
}
