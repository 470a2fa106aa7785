/**
 * `daemon.ts serve` (`deno task serve`): the local web viewer over the
 * branches the daemon knows (or `--repo`/`--branch`, as `list`), read-only.
 * Prints one line, the URL to open (it carries the run's token), and serves
 * until Ctrl-C. Encrypted recordings are decrypted here with the identity
 * (`--identity`, `ASCIINEMA_AGE_IDENTITY`, or the stored one, as
 * `restore`); the identity never reaches the browser.
 *
 * Exit codes: 0 stopped, 2 the remote or the port could not be used.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { BranchSourceError, RemoteLookupError } from "../branch/mod.ts";
import { errorMessage, numberOption } from "../sys/mod.ts";
import { openInBrowser, startViewer } from "../web/mod.ts";
import { writeStdout } from "./logs.ts";
import { exitWith, printLine } from "./output.ts";
import { type RestoreHooks, type SourceFlags, sourceOptions, withSignals } from "./restore.ts";
import { LIST_REPO_HELP, withBranchOptions } from "./options.ts";

/** Flags of `serve`. */
export interface ServeFlags extends SourceFlags {
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Open the browser. */
  open?: boolean;
  /** Seconds between fetches of the remotes and of a recording being watched (default 2). */
  interval?: number;
}

/** Runs `serve` until interrupted; returns the exit code. */
export async function runServe(flags: ServeFlags, hooks: RestoreHooks = {}): Promise<number> {
  return await withSignals(async (signal) => {
    let viewer;
    try {
      viewer = await startViewer({
        ...sourceOptions(flags, hooks, signal),
        port: flags.port,
        intervalSeconds: flags.interval,
      });
    } catch (error) {
      if (error instanceof BranchSourceError || error instanceof RemoteLookupError) {
        printLine(`asciinema-chunker: ${error.message}`);
        return 2;
      }
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        printLine(
          `asciinema-chunker: serve may not listen on 127.0.0.1 (${error.message}): the ` +
            "service's binary has only the daemon's permissions; run `deno task serve` instead.",
        );
        return 2;
      }
      if (error instanceof Deno.errors.AddrInUse) {
        printLine(
          `asciinema-chunker: port ${flags.port} on 127.0.0.1 is in use: pick another ` +
            "with --port, or leave --port out for a free one.",
        );
        return 2;
      }
      throw error;
    }
    await writeStdout(`${viewer.url}\n`);
    printLine("Serving the recordings on 127.0.0.1 only, read-only; Ctrl-C stops it.");
    if (flags.open) {
      const dir = await Deno.makeTempDir({ prefix: "asciinema-open-" });
      try {
        await Deno.chmod(dir, 0o700);
        const problem = await openInBrowser(viewer.url, dir);
        if (problem) {
          printLine(`note: could not open a browser (${problem}); open the URL above.`);
        }
        await viewer.finished;
      } catch (error) {
        printLine(`asciinema-chunker: ${errorMessage(error)}`);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
    await viewer.finished;
    await viewer.close();
    return 0;
  });
}

/** The `serve` subcommand. */
export function serveCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("serve")
      .description(
        "a local web viewer: every recording, search that lands on the moment, playback, live " +
          "(127.0.0.1 only; prints the URL to open)",
      ),
    LIST_REPO_HELP,
  )
    .option(
      "--port <port>",
      "port on 127.0.0.1 (default: a free one)",
      numberOption("a port from 1 to 65535", { min: 1, max: 65535, whole: true }),
    )
    .option("--open", "open the viewer in the browser")
    .option(
      "--interval <seconds>",
      "seconds between fetches of the remotes and of a recording watched live (default 2)",
      numberOption("a number of seconds from 0.2 to 3600", { min: 0.2, max: 3600 }),
    )
    .action(async (options) => {
      const code = await runServe(options, hooks);
      exitWith(code);
    });
}
