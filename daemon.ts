#!/usr/bin/env -S deno run --allow-all
/**
 * asciinema-chunker daemon CLI: `run` (the foreground loop) and the
 * commands that manage and inspect it. Each subcommand lives in `lib/cli/` (one file
 * each) and leaves its exit status in `Deno.exitCode` (`exitWith`); this file is the one
 * place the process exits.
 *
 * @module
 */
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { exitProcess, printFatal } from "./lib/cli/output.ts";

/**
 * Each subcommand, loaded only when it runs (or for the full help): a
 * command pays start-up for its own modules, not for the web viewer's
 * player, the terminal emulator or the service files of the others.
 */
const SUBCOMMANDS: Record<string, () => Promise<CommandUnknownOpts>> = {
  run: async () => (await import("./lib/cli/run.ts")).runCommand(),
  status: async () => {
    const { statusCommand } = await import("./lib/cli/status.ts");
    const { serviceState } = await import("./lib/service/backend.ts");
    const { homePaths, resolveHome } = await import("./lib/sys/paths.ts");
    return statusCommand({ serviceState: () => serviceState({ paths: homePaths(resolveHome()) }) });
  },
  logs: async () => (await import("./lib/cli/logs.ts")).logsCommand(),
  list: async () => (await import("./lib/cli/restore.ts")).listCommand(),
  restore: async () => (await import("./lib/cli/restore.ts")).restoreCommand(),
  verify: async () => (await import("./lib/cli/restore.ts")).verifyCommand(),
  text: async () => (await import("./lib/cli/text.ts")).textCommand(),
  search: async () => (await import("./lib/cli/search.ts")).searchCommand(),
  reindex: async () => (await import("./lib/cli/reindex.ts")).reindexCommand(),
  play: async () => (await import("./lib/cli/play.ts")).playCommand(),
  serve: async () => (await import("./lib/cli/serve.ts")).serveCommand(),
  start: async () => (await import("./lib/cli/service.ts")).startCommand(),
  stop: async () => (await import("./lib/cli/service.ts")).stopCommand(),
  service: async () => (await import("./lib/cli/service.ts")).serviceCommand(),
};

/**
 * Builds the CLI (exported for tests): with `only` a subcommand's name, that
 * subcommand alone; otherwise (help, no or an unknown subcommand) all of them.
 */
export async function buildCli(only?: string): Promise<Command> {
  const program = new Command()
    .name("daemon.ts")
    .description("Backs up live asciinema recordings to a git remote, chunk by chunk.")
    .showHelpAfterError();
  const names = only !== undefined && Object.hasOwn(SUBCOMMANDS, only)
    ? [only]
    : Object.keys(SUBCOMMANDS);
  for (const name of names) program.addCommand(await SUBCOMMANDS[name]());
  return program as unknown as Command;
}

if (import.meta.main) {
  try {
    await (await buildCli(Deno.args[0])).parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    // Whatever no subcommand handled ends as one line, never a stack trace.
    Deno.exitCode = printFatal(error);
  }
  // The one exit: the status a subcommand left (exitWith), else 0; the log written out first.
  await exitProcess();
}
