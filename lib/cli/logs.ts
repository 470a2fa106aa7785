/**
 * `daemon.ts logs`: the daemon's JSON-lines log, human-readable.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import {
  errorMessage,
  type HomePaths,
  homePaths,
  numberOption,
  resolveHome,
  statOrNull,
  writeFully,
} from "../sys/mod.ts";
import { exitWith, printLine } from "./output.ts";
import { followLog, type LogEntry, parseSince, renderLogEntry, tailLog } from "../status/mod.ts";

/** Options of {@linkcode runLogs} (the command's flags). */
export interface LogsOptions {
  /** Last N lines (default 50). */
  lines?: number;
  /** Keep printing new lines (across rotation) until stopped. */
  follow?: boolean;
  /** Warnings and errors only. */
  errors?: boolean;
  /** `10m`, `2h`, `1d` or an ISO date. */
  since?: string;
  /** Print the raw JSON lines. */
  json?: boolean;
}

/** Where {@linkcode runLogs} reads and writes (tests inject these). */
export interface LogsContext {
  /** Home layout (default from `ASCIINEMA_HOME`). */
  paths?: HomePaths;
  /** Output (default stdout). */
  write?: (text: string) => void | Promise<void>;
  /** Errors for people (default stderr). */
  writeError?: (text: string) => void;
  /** Stops `--follow` (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** ANSI colours (default: stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Clock for `--since` durations. */
  now?: number;
  /** Poll interval for `--follow`. */
  pollMs?: number;
}

/** True when stdout is a terminal and `NO_COLOR` is unset or empty. */
export function useColor(): boolean {
  try {
    return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  } catch {
    return false;
  }
}

/** Writes to stdout, ending quietly when the reader went away (`| head`). */
export async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  try {
    await writeFully(Deno.stdout, bytes);
  } catch (error) {
    // The reader went away (`| head`): nothing more can be said; exit quietly, at once.
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    throw error;
  }
}

/** Runs `logs`; returns the exit code (0, or 2 for a bad option). */
export async function runLogs(options: LogsOptions, context: LogsContext = {}): Promise<number> {
  const paths = context.paths ?? homePaths(resolveHome());
  const write = context.write ?? writeStdout;
  const writeError = context.writeError ?? printLine;
  const color = context.color ?? useColor();
  let since: Date | undefined;
  if (options.since !== undefined) {
    try {
      since = parseSince(options.since, context.now);
    } catch (error) {
      writeError(errorMessage(error));
      return 2;
    }
  }
  const filter = { errors: options.errors ?? false, since };
  const show = (entry: LogEntry) =>
    write((options.json ? entry.raw : renderLogEntry(entry, { color })) + "\n");

  const info = await statOrNull(paths.logFile);
  if (!info && !options.follow) {
    writeError(
      `No log yet at ${paths.logFile}: the daemon has not run. ` +
        "Start it with `deno task daemon-setup` (or `deno task daemon` in the foreground).",
    );
    return 0;
  }
  const entries = await tailLog(paths.logFile, {
    ...filter,
    lines: options.lines ?? 50,
    end: info?.size,
  });
  for (const entry of entries) await show(entry);
  if (!options.follow) return 0;

  let signal = context.signal;
  let cleanup = () => {};
  if (!signal) {
    const controller = new AbortController();
    const stop = () => controller.abort();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    cleanup = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    };
    signal = controller.signal;
  }
  try {
    await followLog(paths.logFile, {
      ...filter,
      signal,
      onLine: show,
      start: { ino: info?.ino ?? null, offset: info?.size ?? 0 },
      pollMs: context.pollMs,
    });
  } finally {
    cleanup();
  }
  return 0;
}

/** `daemon.ts logs`: the daemon's log, human-readable. */
export function logsCommand() {
  return new Command("logs")
    .description("show the daemon's log, human-readable")
    .option(
      "-n, --lines <N>",
      "show the last N lines",
      numberOption("a whole number of lines, 0 or more", { min: 0, whole: true }),
      50,
    )
    .option("-f, --follow", "keep printing new lines (survives log rotation); Ctrl-C stops")
    .option("--errors", "warnings and errors only")
    .option("--since <when>", "only lines since a duration ago (10m, 2h, 1d) or an ISO time")
    .option("--json", "print the raw JSON lines")
    .action(async (options) => {
      const code = await runLogs({
        lines: options.lines,
        follow: options.follow ?? false,
        errors: options.errors ?? false,
        since: options.since,
        json: options.json ?? false,
      });
      exitWith(code);
    });
}
