/**
 * Reading the daemon's JSON-lines log (`logs/chunker.log` and its rotated
 * siblings `chunker.log.1` ... written by LogTape's rotating file sink):
 * parsing, filtering, human-readable rendering, tailing backwards without
 * reading whole files, and following across rotation.
 *
 * Lines that are not JSON are kept as they are; for filtering they inherit
 * the time and level of the JSON line before them.
 *
 * @module
 */
import { statOrNull } from "../sys/mod.ts";

/** One log line, parsed when it is a LogTape JSON line. */
export interface LogEntry {
  /** The line as written (without the newline). */
  raw: string;
  /** True when the line parsed as a LogTape JSON record. */
  json: boolean;
  /** `@timestamp`, when present and valid. */
  time?: Date;
  /** Upper-case level (`DEBUG`, `INFO`, `WARN`, `ERROR`, ...). */
  level?: string;
  /** Logger category, dot-joined (`chunker.publisher`). */
  logger?: string;
  /** The rendered message. */
  message?: string;
  /** Structured properties. */
  properties?: Record<string, unknown>;
}

/** Which lines to keep. */
export interface LogFilter {
  /** Only warnings and errors. */
  errors?: boolean;
  /** Only lines at or after this time. */
  since?: Date;
}

/** Parses one line; a line that is not a JSON object is returned raw. */
export function parseLogLine(line: string): LogEntry {
  const raw = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (!raw.startsWith("{")) return { raw, json: false };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { raw, json: false };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { raw, json: false };
  const record = value as Record<string, unknown>;
  const entry: LogEntry = { raw, json: true };
  const stamp = record["@timestamp"] ?? record.timestamp;
  if (typeof stamp === "string" || typeof stamp === "number") {
    const time = new Date(stamp);
    if (Number.isFinite(time.getTime())) entry.time = time;
  }
  if (typeof record.level === "string") entry.level = record.level.toUpperCase();
  if (typeof record.logger === "string") entry.logger = record.logger;
  else if (Array.isArray(record.category)) entry.logger = record.category.join(".");
  if (typeof record.message === "string") entry.message = record.message;
  else if (record.message !== undefined) entry.message = JSON.stringify(record.message);
  if (record.properties && typeof record.properties === "object") {
    entry.properties = record.properties as Record<string, unknown>;
  }
  return entry;
}

/** True for warning, error and fatal levels. */
export function isWarningOrWorse(level: string | undefined): boolean {
  if (!level) return false;
  return ["WARN", "WARNING", "ERROR", "FATAL", "CRITICAL"].includes(level.toUpperCase());
}

/**
 * Parses `--since`: a duration back from `now` (`30s`, `10m`, `2h`, `1d`,
 * `1w`) or an ISO date/time. Throws an Error saying what is accepted.
 */
export function parseSince(text: string, now: number = Date.now()): Date {
  const trimmed = text.trim();
  const match = /^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)$/i.exec(trimmed);
  if (match) {
    const unit = match[2].toLowerCase();
    const seconds = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400, w: 604800 }[unit] ?? 1;
    return new Date(now - Number(match[1]) * seconds * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const time = Date.parse(trimmed);
    if (Number.isFinite(time)) return new Date(time);
  }
  throw new Error(
    `--since ${JSON.stringify(text)}: expected a duration such as 30s, 10m, 2h, 1d, ` +
      "or an ISO date such as 2025-01-31T14:00:00Z",
  );
}

/** Decides whether `entry` passes `filter` (`inherited` = the JSON line a raw line follows). */
export function matchesFilter(
  entry: LogEntry,
  filter: LogFilter,
  inherited?: LogEntry,
): boolean {
  const source = entry.json ? entry : inherited;
  if (filter.errors && !isWarningOrWorse(source?.level)) return false;
  if (filter.since) {
    const time = source?.time;
    if (!time || time.getTime() < filter.since.getTime()) return false;
  }
  return true;
}

const COLORS = {
  reset: "\x1b[0m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  boldRed: "\x1b[1;31m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
} as const;

function paint(text: string, color: keyof typeof COLORS, enabled: boolean): string {
  return enabled ? `${COLORS[color]}${text}${COLORS.reset}` : text;
}

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}

/** `YYYY-MM-DD HH:MM:SS` in local time. */
export function formatLocalTime(time: Date): string {
  return `${time.getFullYear()}-${pad2(time.getMonth() + 1)}-${pad2(time.getDate())} ` +
    `${pad2(time.getHours())}:${pad2(time.getMinutes())}:${pad2(time.getSeconds())}`;
}

function shortLevel(level: string | undefined): string {
  if (!level) return "?";
  return level === "WARNING" ? "WARN" : level;
}

function propertyText(value: unknown): string {
  if (value && typeof value === "object" && "message" in value) {
    const error = value as { name?: unknown; message?: unknown };
    const name = typeof error.name === "string" && error.name !== "Error" ? `${error.name}: ` : "";
    return `${name}${String(error.message)}`;
  }
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** Properties worth showing: those whose value does not already appear in the message. */
function extraProperties(entry: LogEntry): string[] {
  const out: string[] = [];
  const message = entry.message ?? "";
  for (const [key, value] of Object.entries(entry.properties ?? {})) {
    if (value === undefined || value === null) continue;
    const json = JSON.stringify(value);
    if (json === "{}" || json === "[]" || json === '""') continue;
    const isError = typeof value === "object" && value !== null && "message" in value;
    if (!isError) {
      const plain = typeof value === "string" ? value : JSON.stringify(value);
      if (plain !== undefined && message.includes(plain)) continue;
    }
    let text = propertyText(value);
    if (text.length > 200) text = text.slice(0, 199) + "…";
    out.push(`${key}=${text}`);
  }
  return out;
}

/** Options for {@linkcode renderLogEntry}. */
export interface RenderOptions {
  /** ANSI colours. */
  color?: boolean;
}

/**
 * One human-readable line:
 * `2025-01-31 14:00:00 WARN  publisher: push failed  error=...`.
 * Lines that are not JSON come back unchanged.
 */
export function renderLogEntry(entry: LogEntry, options: RenderOptions = {}): string {
  if (!entry.json) return entry.raw;
  const color = options.color ?? false;
  const time = entry.time ? formatLocalTime(entry.time) : "????-??-?? ??:??:??";
  const level = shortLevel(entry.level);
  const levelColor = level === "ERROR" || level === "FATAL"
    ? "boldRed"
    : level === "WARN"
    ? "yellow"
    : level === "DEBUG" || level === "TRACE"
    ? "dim"
    : "cyan";
  const logger = (entry.logger ?? "").replace(/^chunker\.?/, "");
  const extras = extraProperties(entry);
  const message = entry.message ?? "";
  return `${paint(time, "dim", color)} ${paint(level.padEnd(5), levelColor, color)} ` +
    `${logger ? `${logger}: ` : ""}${
      level === "ERROR" || level === "FATAL" ? paint(message, "red", color) : message
    }` +
    (extras.length > 0 ? `  ${paint(extras.join(" "), "dim", color)}` : "");
}

/** The log file and its rotated siblings that exist, newest first. */
export async function logFiles(logFile: string, maxRotated = 9): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i <= maxRotated; i++) {
    const path = i === 0 ? logFile : `${logFile}.${i}`;
    try {
      if ((await Deno.stat(path)).isFile) files.push(path);
    } catch {
      if (i > 0) break;
    }
  }
  return files;
}

const BLOCK = 64 * 1024;

/**
 * Yields the lines of a file from last to first, reading 64 KiB blocks from
 * the end (memory bounded by the longest line). Empty lines are skipped.
 */
export async function* readLinesBackward(
  path: string,
  options: { end?: number } = {},
): AsyncGenerator<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const decoder = new TextDecoder();
  try {
    const size = (await file.stat()).size;
    let pos = Math.min(options.end ?? size, size);
    let carry = new Uint8Array(0);
    while (pos > 0) {
      const start = Math.max(0, pos - BLOCK);
      const block = new Uint8Array(pos - start);
      await file.seek(start, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < block.length) {
        const n = await file.read(block.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      const buf = new Uint8Array(filled + carry.length);
      buf.set(block.subarray(0, filled));
      buf.set(carry, filled);
      let end = buf.length;
      for (let i = buf.length - 1; i >= 0; i--) {
        if (buf[i] === 0x0a) {
          if (end > i + 1) yield decoder.decode(buf.subarray(i + 1, end));
          end = i;
        }
      }
      carry = buf.slice(0, end);
      pos = start;
    }
    if (carry.length > 0) yield decoder.decode(carry);
  } finally {
    file.close();
  }
}

/** Options for {@linkcode tailLog}. */
export interface TailOptions extends LogFilter {
  /** How many lines (after filtering) to return; default 50. */
  lines?: number;
  /** Read the current log file only up to this byte offset (used with follow). */
  end?: number;
}

/**
 * The last `lines` lines that pass the filter, oldest first, looking into
 * rotated files when the current one has too few. With `since`, stops
 * reading at the first older line.
 */
export async function tailLog(logFile: string, options: TailOptions = {}): Promise<LogEntry[]> {
  const want = options.lines ?? 50;
  if (want <= 0) return [];
  const kept: LogEntry[] = []; // newest first
  let orphans: LogEntry[] = []; // raw lines seen (backwards) before their JSON line
  const settle = (parent: LogEntry | undefined) => {
    // Orphans follow `parent` in the file; decide them now, newest first.
    for (const orphan of orphans) {
      if (kept.length >= want) break;
      if (matchesFilter(orphan, options, parent)) kept.push(orphan);
    }
    orphans = [];
  };
  let stop = false;
  const files = await logFiles(logFile);
  for (const [index, path] of files.entries()) {
    for await (const line of readLinesBackward(path, index === 0 ? { end: options.end } : {})) {
      const entry = parseLogLine(line);
      if (!entry.json) {
        orphans.push(entry);
        continue;
      }
      settle(entry);
      if (kept.length >= want) {
        stop = true;
        break;
      }
      if (options.since && entry.time && entry.time.getTime() < options.since.getTime()) {
        stop = true;
        break;
      }
      if (matchesFilter(entry, options)) kept.push(entry);
      if (kept.length >= want) {
        stop = true;
        break;
      }
    }
    if (stop) break;
  }
  if (!stop) settle(undefined);
  return kept.reverse();
}

/** Where following starts: the file identity and offset seen when the tail was read. */
export interface FollowStart {
  /** Inode of the log file then (`null` when unknown). */
  ino: number | null;
  /** Byte offset to continue from. */
  offset: number;
}

/** Options for {@linkcode followLog}. */
export interface FollowOptions extends LogFilter {
  /** Stops following. */
  signal: AbortSignal;
  /** Called for every new line that passes the filter. */
  onLine: (entry: LogEntry) => void | Promise<void>;
  /** Where to start (default: the end of the current file). */
  start?: FollowStart;
  /** Poll interval in milliseconds (default 250). */
  pollMs?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Follows the log like `tail -F`: new lines are passed to `onLine`; when
 * the file is rotated (renamed to `.1` and a new one created) the rest of
 * the old file is read and following continues with the new one from its
 * start. Polls the file's size and inode every `pollMs`. Resolves when
 * `signal` aborts.
 */
export async function followLog(logFile: string, options: FollowOptions): Promise<void> {
  const pollMs = options.pollMs ?? 250;
  const decoder = new TextDecoder();
  let file: Deno.FsFile | undefined;
  let ino: number | null = null;
  let offset = 0;
  let carry = "";
  let parent: LogEntry | undefined;
  const buffer = new Uint8Array(BLOCK);

  const emit = async (line: string) => {
    if (line === "") return;
    const entry = parseLogLine(line);
    if (entry.json) parent = entry;
    if (matchesFilter(entry, options, parent)) await options.onLine(entry);
  };
  const drain = async () => {
    if (!file) return;
    while (true) {
      const n = await file.read(buffer);
      if (n === null || n === 0) break;
      offset += n;
      carry += decoder.decode(buffer.subarray(0, n), { stream: true });
      const parts = carry.split("\n");
      carry = parts.pop() ?? "";
      for (const part of parts) await emit(part);
    }
  };
  const close = async (flush: boolean) => {
    if (!file) return;
    file.close();
    file = undefined;
    if (flush && carry !== "") {
      const last = carry;
      carry = "";
      await emit(last);
    }
    carry = "";
  };
  const open = async (path: string, at: number): Promise<boolean> => {
    try {
      const handle = await Deno.open(path, { read: true });
      const info = await handle.stat();
      await handle.seek(Math.min(at, info.size), Deno.SeekMode.Start);
      file = handle;
      ino = info.ino;
      offset = Math.min(at, info.size);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  };

  // Start: where the tail stopped. If the file rotated in between, finish
  // the rotated one first.
  const startInfo = await statOrNull(logFile);
  const start = options.start ?? { ino: startInfo?.ino ?? null, offset: startInfo?.size ?? 0 };
  if (startInfo && (start.ino === null || startInfo.ino === start.ino)) {
    await open(logFile, start.offset);
  } else if (start.ino !== null) {
    const rotated = await statOrNull(`${logFile}.1`);
    if (rotated && rotated.ino === start.ino && await open(`${logFile}.1`, start.offset)) {
      await drain();
      await close(true);
    }
    if (startInfo) await open(logFile, 0);
  }

  try {
    while (!options.signal.aborted) {
      await drain();
      const info = await statOrNull(logFile);
      if (!file) {
        if (info) await open(logFile, 0);
      } else if (info && info.ino !== null && ino !== null && info.ino !== ino) {
        // Rotated: the old handle still reads the renamed file to its end.
        await drain();
        const oldIno = ino;
        await close(true);
        // Rotated more than once since the last poll: read the files in between.
        let moved = 0;
        for (let i = 1; i <= 9; i++) {
          const rotated = await statOrNull(`${logFile}.${i}`);
          if (!rotated) break;
          if (rotated.ino === oldIno) {
            moved = i;
            break;
          }
        }
        for (let i = moved - 1; i >= 1; i--) {
          if (await open(`${logFile}.${i}`, 0)) {
            await drain();
            await close(true);
          }
        }
        await open(logFile, 0);
        continue;
      } else if (info && info.size < offset) {
        // Truncated in place.
        await file.seek(0, Deno.SeekMode.Start);
        offset = 0;
        carry = "";
        continue;
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    await close(false);
  }
}
