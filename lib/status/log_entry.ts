/**
 * One line of the daemon's JSON-lines log: parsing, filtering and the
 * human-readable rendering.
 *
 * Lines that are not JSON are kept as they are; for filtering they inherit
 * the time and level of the JSON line before them. The rendering is for a
 * terminal: every field (messages carry remotes' error text and recording
 * ids) has its controls escaped by `termSafe`.
 *
 * @module
 */
import { termSafe } from "../sys/mod.ts";

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
function isWarningOrWorse(level: string | undefined): boolean {
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
 * Lines that are not JSON come back as they are, their controls escaped
 * like every field of a JSON line.
 */
export function renderLogEntry(entry: LogEntry, options: RenderOptions = {}): string {
  if (!entry.json) return termSafe(entry.raw);
  const color = options.color ?? false;
  const time = entry.time ? formatLocalTime(entry.time) : "????-??-?? ??:??:??";
  const level = termSafe(shortLevel(entry.level));
  const levelColor = level === "ERROR" || level === "FATAL"
    ? "boldRed"
    : level === "WARN"
    ? "yellow"
    : level === "DEBUG" || level === "TRACE"
    ? "dim"
    : "cyan";
  const logger = termSafe((entry.logger ?? "").replace(/^chunker\.?/, ""));
  const extras = extraProperties(entry).map((extra) => termSafe(extra));
  const message = termSafe(entry.message ?? "");
  return `${paint(time, "dim", color)} ${paint(level.padEnd(5), levelColor, color)} ` +
    `${logger ? `${logger}: ` : ""}${
      level === "ERROR" || level === "FATAL" ? paint(message, "red", color) : message
    }` +
    (extras.length > 0 ? `  ${paint(extras.join(" "), "dim", color)}` : "");
}
