/**
 * Messages for people on stderr: every line that may quote something from
 * outside (ids, URLs, notes, remotes' errors) goes through
 * {@linkcode printLine}; an error nothing else handled ends a command as one
 * line too ({@linkcode printFatal}), never as a stack trace.
 *
 * @module
 */
import { StoreSettingError } from "../credentials/mod.ts";
import { RemoteUrlError } from "../git/mod.ts";
import { errorMessage, printLine, SettingsError, shutdownLogging } from "../sys/mod.ts";

export { printLine };

/** Exit code of a usage error: a bad argument, setting or environment value. */
export const EXIT_USAGE = 2;

/**
 * Reports an error that ended a command on one line (`<program>: <message>`)
 * and returns the exit code: {@linkcode EXIT_USAGE} for a bad setting,
 * store name or URL, else 1.
 */
export function printFatal(error: unknown, program = "asciinema-chunker"): number {
  printLine(`${program}: ${errorMessage(error)}`);
  const usage = error instanceof StoreSettingError || error instanceof SettingsError ||
    error instanceof RemoteUrlError;
  return usage ? EXIT_USAGE : 1;
}

/**
 * Ends a subcommand with exit status `code`: it is kept in `Deno.exitCode`, and
 * `daemon.ts` exits with it once the command returned (its one exit).
 */
export function exitWith(code: number): void {
  Deno.exitCode = code;
}

/**
 * The one exit of `daemon.ts`, with `Deno.exitCode`: log lines still on their
 * way to chunker.log are written first (a line logged while the fsync of the
 * one before runs waits for it, off the event loop: a bare `Deno.exit` would
 * drop it).
 */
export async function exitProcess(): Promise<never> {
  await shutdownLogging().catch(() => {});
  Deno.exit();
}
