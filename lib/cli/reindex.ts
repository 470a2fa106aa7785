/**
 * `daemon.ts reindex [--id ID…] [--force]`: builds the text index
 * (`recordings/<id>/text.zst`) of every finished recording that has none on
 * the known remotes (or `--repo`) and pushes them. The daemon commits each
 * recording's index when it ends; this is for recordings that ended before
 * it did, on another machine, or whose index was deleted. Exit 0, or 2 when a
 * remote or a recording could not be reindexed.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { homePaths, loadSettings, resolveHome, termSafe } from "../sys/mod.ts";
import { reindexRecordings } from "../text/mod.ts";
import { plaintextRefusal } from "../git/mod.ts";
import { writeStdout } from "./logs.ts";
import { EXIT_USAGE, exitWith, printLine } from "./output.ts";
import { type RestoreHooks, type SourceFlags, sourceOptions, withSignals } from "./restore.ts";
import { badIdArguments, LIST_REPO_HELP } from "./options.ts";

/** Flags of `reindex`. */
export interface ReindexFlags extends Omit<SourceFlags, "offline"> {
  /** Only these recordings. */
  id?: string[];
  /** Rebuild usable indexes too. */
  force?: boolean;
}

/** Runs `reindex`; returns the exit code. */
export async function runReindex(flags: ReindexFlags, hooks: RestoreHooks = {}): Promise<number> {
  if (badIdArguments(flags.id ?? [])) return EXIT_USAGE;
  const paths = homePaths(resolveHome());
  const settings = await loadSettings(paths.config).catch(() => undefined);
  return await withSignals(async (signal) => {
    const reports = await reindexRecordings({
      ...sourceOptions({ ...flags, offline: false }, hooks, signal),
      ids: flags.id?.length ? flags.id : undefined,
      force: flags.force ?? false,
      sealing: { recipients: settings?.encryption?.recipients },
      admitPlain: (url) =>
        plaintextRefusal(url, {
          allowPublic: settings?.allow_public,
          githubApi: settings?.github_api,
          globalConfig: paths.gitConfig,
          signal,
        }),
      onProgress: (line) => printLine(line),
    });
    let bad = false;
    let text = "";
    for (const report of reports) {
      const where = `${report.branch ? `${report.branch} of ` : ""}${report.url}`;
      if (report.error) {
        bad = true;
        printLine(`asciinema-chunker: ${where}: ${report.error}`);
      }
      for (const failed of report.failed) {
        bad = true;
        printLine(`asciinema-chunker: ${failed.id}: ${failed.error}`);
      }
      text += termSafe(
        `${where}: ${report.built.length} index${report.built.length === 1 ? "" : "es"} ` +
          `built and pushed${report.built.length ? ` (${report.built.join(", ")})` : ""}, ` +
          `${report.kept.length} already there`,
      ) + "\n";
    }
    await writeStdout(text || "No remotes known: pass --repo.\n");
    return bad ? 2 : 0;
  });
}

/** The `reindex` subcommand. */
export function reindexCommand(hooks: RestoreHooks = {}) {
  return new Command("reindex")
    .description("build and push the text index of finished recordings that have none")
    .option("--repo <url>", LIST_REPO_HELP)
    .option("--branch <name>", "branch (default: each remote's)")
    .option(
      "--id <id>",
      "only this recording (repeatable)",
      (value, all: string[]) => [...all, value],
      [] as string[],
    )
    .option("--force", "rebuild indexes that are already there")
    .option(
      "--identity <file>",
      "age identity file for encrypted recordings (default: ASCIINEMA_AGE_IDENTITY, else the " +
        "identity in the credential store); an encrypted recording's index is sealed to its " +
        "own recipients (else encryption.recipients, else this identity's), never in clear",
    )
    .action(async (options) => {
      const code = await runReindex(options, hooks);
      exitWith(code);
    });
}
