/**
 * `daemon.ts run`: the daemon in the foreground.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";

/** The `run` subcommand. */
export function runCommand() {
  return new Command("run")
    .description("run the daemon in the foreground")
    .option("--once", "cut every complete line now, push, and exit (0 only if all is pushed)")
    .action(() => {
      throw new Error("not yet implemented");
    });
}
