/**
 * `daemon.ts play <id> [--follow]`: plays a recording from the branch with
 * `asciinema play`. The recording is restored to a temporary file (0600, in
 * a private folder removed afterwards) up to the last pushed byte; asciinema
 * 2.x plays only asciicast v2, so a v3 recording is converted for it.
 *
 * `--follow` watches a recording still being made on another machine:
 * asciinema 2.x reads a file once to its end and stops, so the player reads
 * its standard input (`asciinema play -`) instead, which is fed what the
 * branch holds, then every chunk that arrives (the file keeps growing too),
 * until the recording ends or the player is quit (q or Ctrl-C).
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { RestoreError, restoreRecording } from "../branch/mod.ts";
import { detectAsciinema } from "../recording/mod.ts";
import { errorMessage, findOnPath, numberOption } from "../sys/mod.ts";
import { followRecording, LineSplitter, PlaybackStream } from "../text/mod.ts";
import {
  printError,
  type RestoreHooks,
  type SourceFlags,
  sourceOptions,
  withSignals,
} from "./restore.ts";
import { badIdArguments, ID_HELP, withBranchOptions } from "./options.ts";
import { EXIT_USAGE, exitWith, printLine } from "./output.ts";

/** Flags of `play`. */
export interface PlayFlags extends SourceFlags {
  /** Keep fetching and playing new output while the recording is being made. */
  follow?: boolean;
  /** Seconds between fetches with `--follow` (default 2). */
  interval?: number;
}

/** What `play` says when asciinema is missing. */
export const INSTALL_ASCIINEMA =
  "asciinema is not installed (or not on PATH), and play needs it: install it " +
  "(Debian/Ubuntu: sudo apt install asciinema; macOS: brew install asciinema; " +
  "elsewhere: pipx install asciinema), then run this command again.";

/** The asciinema to play with, or the message saying how to install it. */
async function findPlayer(): Promise<{ major: number } | { error: string }> {
  if (!findOnPath("asciinema")) return { error: INSTALL_ASCIINEMA };
  const found = await detectAsciinema();
  return found.ok ? { major: found.version.major } : { error: found.error };
}

/** Converts `from` (a restored recording) to asciicast v2 in `to`; true when it was v3. */
async function convertIfV3(from: string, to: string): Promise<boolean> {
  using input = await Deno.open(from, { read: true });
  const head = new Uint8Array(4096);
  const n = (await input.read(head)) ?? 0;
  if (!/"version"\s*:\s*3/.test(new TextDecoder().decode(head.subarray(0, n)))) return false;
  await input.seek(0, Deno.SeekMode.Start);
  using output = await Deno.open(to, { write: true, createNew: true, mode: 0o600 });
  const splitter = new LineSplitter();
  const stream = new PlaybackStream({ follow: false });
  const encoder = new TextEncoder();
  for await (const block of input.readable) {
    await output.write(encoder.encode(stream.convert(splitter.push(block))));
  }
  const last = splitter.end();
  if (last !== undefined) await output.write(encoder.encode(stream.convert([last])));
  return true;
}

/** Runs asciinema with the terminal; resolves to its exit code. */
function spawnPlayer(args: string[], stdin: "inherit" | "piped"): Deno.ChildProcess {
  return new Deno.Command("asciinema", {
    args: ["play", ...args],
    stdin,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}

/** Plays the recording once, from a restored temporary file. */
async function playOnce(
  id: string,
  flags: PlayFlags,
  hooks: RestoreHooks,
  context: { signal: AbortSignal; dir: string; major: number },
): Promise<number> {
  const restored = join(context.dir, `${id.replaceAll("/", "_")}.cast`);
  const result = await restoreRecording(id, {
    ...sourceOptions(flags, hooks, context.signal),
    output: restored,
    force: true,
  });
  for (const note of result.notes) printLine(`note: ${note}`);
  if (result.partial) {
    printLine(
      `note: ${id} is still being recorded: playing up to the last pushed chunk ` +
        "(--follow keeps playing what arrives).",
    );
  }
  const v2 = join(context.dir, "v2.cast");
  const file = context.major < 3 && (await convertIfV3(restored, v2)) ? v2 : restored;
  const child = spawnPlayer([file], "inherit");
  return (await child.status).code;
}

/** Plays the recording through the player's standard input while it grows. */
async function playFollowing(
  id: string,
  flags: PlayFlags,
  hooks: RestoreHooks,
  context: { signal: AbortSignal; dir: string },
): Promise<number> {
  const restored = join(context.dir, `${id.replaceAll("/", "_")}.cast`);
  using file = await Deno.open(restored, { write: true, createNew: true, mode: 0o600 });
  const splitter = new LineSplitter();
  const stream = new PlaybackStream({ follow: true });
  const encoder = new TextEncoder();
  let child: Deno.ChildProcess | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let started = 0;
  let exited: number | undefined;
  const quit = new AbortController();
  const stop = () => quit.abort(new Error("stopped"));
  context.signal.addEventListener("abort", stop, { once: true });
  const feed = async (text: string) => {
    if (!text || exited !== undefined) return;
    if (!child) {
      child = spawnPlayer(["-"], "piped");
      writer = child.stdin.getWriter();
      started = performance.now();
      child.status.then((status) => {
        exited = status.code;
        stop();
      });
    }
    await writer!.write(encoder.encode(text)).catch(stop);
  };
  let retry: string | undefined;
  try {
    const result = await followRecording(id, {
      ...sourceOptions(flags, hooks, quit.signal),
      intervalMs: (flags.interval ?? 2) * 1000,
      stopped: () => exited !== undefined,
      onRetry: (message) => retry = message,
      onBytes: async (block, live) => {
        await file.write(block);
        const now = live && child ? (performance.now() - started) / 1000 : undefined;
        await feed(stream.convert(splitter.push(block), now));
      },
    });
    if (result.complete) {
      const last = splitter.end();
      const now = () => child ? (performance.now() - started) / 1000 : undefined;
      if (last !== undefined) await feed(stream.convert([last], now()));
      await feed(stream.end(now())); // an asciicast v1 document plays once it is whole
    }
  } catch (error) {
    if (exited === undefined) {
      try {
        child?.kill("SIGTERM");
      } catch {
        // gone already
      }
      if (!context.signal.aborted) throw error;
    }
  } finally {
    context.signal.removeEventListener("abort", stop);
  }
  await writer?.close().catch(() => {});
  const code = child ? (await child.status).code : 0;
  if (retry && exited !== undefined) printLine(`note: the last fetch failed: ${retry}`);
  return code;
}

/** Runs `play`; returns asciinema's exit code, or 1 when nothing could be played. */
export async function runPlay(
  id: string,
  flags: PlayFlags,
  hooks: RestoreHooks = {},
): Promise<number> {
  if (badIdArguments([id])) return EXIT_USAGE;
  const player = await findPlayer();
  if ("error" in player) {
    printLine(`asciinema-chunker: ${player.error}`);
    return 1;
  }
  return await withSignals(async (signal) => {
    const dir = await Deno.makeTempDir({ prefix: "asciinema-play-" });
    await Deno.chmod(dir, 0o700);
    try {
      return flags.follow
        ? await playFollowing(id, flags, hooks, { signal, dir })
        : await playOnce(id, flags, hooks, { signal, dir, major: player.major });
    } catch (error) {
      if (printError(error)) return 1;
      if (error instanceof RestoreError) {
        printLine(`asciinema-chunker: ${errorMessage(error)}`);
        return 1;
      }
      throw error;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}

/** The `play` subcommand. */
export function playCommand(hooks: RestoreHooks = {}) {
  return withBranchOptions(
    new Command("play")
      .description("play a recording from the branch with asciinema play")
      .argument("<id>", ID_HELP)
      .option("-f, --follow", "keep playing new output while the recording is being made")
      .option(
        "--interval <seconds>",
        "seconds between fetches with --follow (default 2)",
        numberOption("a number of seconds from 0.2 to 3600", { min: 0.2, max: 3600 }),
      ),
  ).action(async (id, options) => {
    const code = await runPlay(id, options, hooks);
    exitWith(code);
  });
}
