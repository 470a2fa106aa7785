/**
 * Logging: LogTape JSON lines to `logs/chunker.log` (rotated at 10 MiB,
 * keeping 5) and human-readable lines on stderr. Under a service manager
 * stderr carries warnings and errors only ({@linkcode consoleLevelFor}):
 * launchd writes it to `logs/launchd-stderr.log`, which nothing rotates.
 * Every line passes through {@linkcode redact}.
 *
 * @module
 */
import {
  configure,
  getLevelFilter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
  withFilter,
} from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";
import { redact } from "./redact.ts";
import { termSafe } from "./terminal_text.ts";

/** Rotation size of chunker.log. */
const LOG_MAX_BYTES = 10 * 1024 * 1024;
/** Files kept by rotation. */
const LOG_MAX_FILES = 5;

/** Options for {@linkcode setupLogging}. */
export interface LoggingOptions {
  /** JSON-lines log file (rotated); omitted: no file sink. */
  logFile?: string;
  /** Also write human-readable lines to stderr. */
  console?: boolean;
  /** Lowest level written (default `info`). */
  level?: LogLevel;
  /** Lowest level written to stderr (default: `level`); see {@linkcode consoleLevelFor}. */
  consoleLevel?: LogLevel;
  /** Where stderr lines go (default: the process's stderr; tests capture them). */
  consoleWrite?: (text: string) => void;
  /** Rotation size override (tests). */
  maxBytes?: number;
}

function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Renders a record's message with string values as they are (no quotes). */
function renderMessage(record: LogRecord): string {
  return record.message.map((part, index) => index % 2 ? renderValue(part) : part as string)
    .join("");
}

/**
 * One JSON line per record: `@timestamp`, `level`, `message` (rendered),
 * `logger` (dotted category) and `properties`.
 */
function jsonLine(record: LogRecord): string {
  return JSON.stringify({
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level === "warning" ? "WARNING" : record.level.toUpperCase(),
    message: renderMessage(record),
    logger: record.category.join("."),
    properties: record.properties,
  }) + "\n";
}

const textFormatter = getTextFormatter({ value: (value) => renderValue(value) });

function stderrSink(write?: (text: string) => void): Sink {
  const encoder = new TextEncoder();
  return (record: LogRecord) => {
    // One line per record, its controls escaped: messages quote remotes and recordings.
    const text = termSafe(redact(textFormatter(record)).replace(/\r?\n$/, "")) + "\n";
    if (write) return write(text);
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      // stderr closed (detached daemon): the file sink still has it.
    }
  };
}

/**
 * The stderr level for a daemon started by `manager`: `warning` under
 * launchd, systemd or detached (their stderr is a file or the journal,
 * chunker.log has every line), `info` in a terminal.
 */
export function consoleLevelFor(manager: string | undefined): LogLevel {
  return manager === "launchd" || manager === "systemd" || manager === "detached"
    ? "warning"
    : "info";
}

/** Configures LogTape for the process (safe to call again; resets first). */
export async function setupLogging(options: LoggingOptions = {}): Promise<void> {
  await reset();
  const sinks: Record<string, Sink> = {};
  if (options.logFile) {
    try {
      const file = await Deno.open(options.logFile, { create: true, append: true, mode: 0o600 });
      file.close();
    } catch {
      // The sink reports it.
    }
    sinks.file = getRotatingFileSink(options.logFile, {
      maxSize: options.maxBytes ?? LOG_MAX_BYTES,
      maxFiles: LOG_MAX_FILES,
      formatter: (record) => redact(jsonLine(record)),
      // Every line is written when it is logged (or right after an fsync under way); the
      // fsync that follows runs off the event loop. The blocking sink fsyncs every line on
      // the event loop: 25 cuts of a backlog stopped the daemon for 50 ms and more.
      bufferSize: 0,
      nonBlocking: true,
      flushInterval: 0,
    }) as Sink;
  }
  if (options.console) {
    const sink = stderrSink(options.consoleWrite);
    sinks.console = options.consoleLevel
      ? withFilter(sink, getLevelFilter(options.consoleLevel))
      : sink;
  }
  await configure({
    reset: true,
    sinks,
    loggers: [
      {
        category: ["chunker"],
        sinks: Object.keys(sinks),
        lowestLevel: options.level ?? "info",
      },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "error" },
    ],
  });
}

/** Flushes and closes the sinks (call before exit). */
export async function shutdownLogging(): Promise<void> {
  await reset();
}

/** The logger for a part of the program (`["chunker", ...category]`). */
export function log(...category: string[]): Logger {
  return getLogger(["chunker", ...category]);
}

/**
 * Logs a condition once until it clears, so a broken input is reported once
 * rather than on every loop.
 */
export class OnceLog {
  #seen = new Map<string, string>();
  #logger: Logger;

  /** Creates a once-logger writing to `logger`. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Logs `message` under `key` unless the same message was logged for it already. */
  warn(key: string, message: string, properties: Record<string, unknown> = {}): void {
    if (this.#seen.get(key) === message) return;
    this.#seen.set(key, message);
    this.#logger.warn(message, properties);
  }

  /** Like {@linkcode OnceLog.warn} at error level. */
  error(key: string, message: string, properties: Record<string, unknown> = {}): void {
    if (this.#seen.get(key) === message) return;
    this.#seen.set(key, message);
    this.#logger.error(message, properties);
  }

  /** Forgets `key` (the condition cleared), returning whether it was set. */
  clear(key: string): boolean {
    return this.#seen.delete(key);
  }
}
