#!/usr/bin/env -S deno run --allow-all
/**
 * asciinema-chunker daemon CLI: `run` (the foreground loop) and the
 * commands that manage and inspect it. Each subcommand lives in `lib/cli/` (one file
 * each) and leaves its exit status in `Deno.exitCode` (`exitWith`); this file is the one
 * place the process exits.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { runCommand } from "./lib/cli/run.ts";
import { statusCommand } from "./lib/cli/status.ts";
import { logsCommand } from "./lib/cli/logs.ts";
import { listCommand, restoreCommand, verifyCommand } from "./lib/cli/restore.ts";
import { serviceCommand, startCommand, stopCommand } from "./lib/cli/service.ts";
import { textCommand } from "./lib/cli/text.ts";
import { searchCommand } from "./lib/cli/search.ts";
import { reindexCommand } from "./lib/cli/reindex.ts";
import { playCommand } from "./lib/cli/play.ts";
import { printFatal } from "./lib/cli/output.ts";
import { serveCommand } from "./lib/cli/serve.ts";
import { serviceState } from "./lib/service/backend.ts";
import { homePaths, resolveHome } from "./lib/sys/paths.ts";

/** Builds the CLI (exported for tests). */
export function buildCli(): Command {
  const program = new Command()
    .name("daemon.ts")
    .description("Backs up live asciinema recordings to a git remote, chunk by chunk.")
    .showHelpAfterError();
  program.addCommand(runCommand());
  program.addCommand(
    statusCommand({ serviceState: () => serviceState({ paths: homePaths(resolveHome()) }) }),
  );
  program.addCommand(logsCommand());
  program.addCommand(listCommand());
  program.addCommand(restoreCommand());
  program.addCommand(verifyCommand());
  program.addCommand(textCommand());
  program.addCommand(searchCommand());
  program.addCommand(reindexCommand());
  program.addCommand(playCommand());
  program.addCommand(serveCommand());
  program.addCommand(startCommand());
  program.addCommand(stopCommand());
  program.addCommand(serviceCommand());
  return program as unknown as Command;
}

if (import.meta.main) {
  try {
    await buildCli().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    // Whatever no subcommand handled ends as one line, never a stack trace.
    Deno.exitCode = printFatal(error);
  }
  // The one exit: the status a subcommand left (exitWith), else 0.
  Deno.exit();
}
