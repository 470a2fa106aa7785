/**
 * Asciicast events for rendering (pure): the header's terminal size and start
 * time, v2's absolute and v3's interval times turned into one absolute clock
 * (integer microseconds, so a v2 and a v3 rendition of one session agree),
 * `#` comment lines of v3 skipped, output (`o`) and resize (`r` "COLSxROWS")
 * events kept, and a splitter that turns byte blocks into lines.
 *
 * asciicast v1 (asciinema 1.x) is one JSON document, `{"version": 1,
 * "width", "height", "stdout": [[delay, data], ...]}`, delays in seconds
 * since the previous frame: {@linkcode V1Document} gathers it (at most
 * {@linkcode MAX_V1_BYTES}) and gives the same events.
 *
 * @module
 */
import { concatBytes, KindedError } from "../sys/mod.ts";

/** What the header line says about the terminal. */
export interface CastHeader {
  /** asciicast version. */
  version: 1 | 2 | 3;
  /** Columns (v2 `width`, v3 `term.cols`; 80 when absent). */
  cols: number;
  /** Rows (v2 `height`, v3 `term.rows`; 24 when absent). */
  rows: number;
  /** Start of the recording (Unix seconds), when the header has one. */
  timestamp?: number;
}

/** One event that matters to the screen. */
export type CastEvent =
  | { kind: "output"; /** Microseconds since the start. */ us: number; data: string }
  | { kind: "resize"; us: number; cols: number; rows: number };

/** A header line that is not an asciicast v2 or v3 header. */
export class CastFormatError extends KindedError<"format"> {
  /** Creates the error (kind `format`: no asciicast v2 or v3 header). */
  constructor(message: string) {
    super("format", message);
  }
}

/** Terminal sizes outside this are clamped (a corrupt header must not allocate gigabytes). */
const MAX_COLS = 1000;
const MAX_ROWS = 500;

function dimension(value: unknown, fallback: number, max: number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 1
    ? Math.min(Math.floor(value), max)
    : fallback;
}

/** Parses the header line; throws {@linkcode CastFormatError}. */
export function parseCastHeader(line: string): CastHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new CastFormatError("the first line is not a JSON asciicast header");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CastFormatError("the first line is not a JSON object");
  }
  const header = raw as Record<string, unknown>;
  const version = header.version;
  if (version !== 2 && version !== 3) {
    throw new CastFormatError(`unsupported asciicast version ${JSON.stringify(version)}`);
  }
  const term =
    (typeof header.term === "object" && header.term !== null ? header.term : {}) as Record<
      string,
      unknown
    >;
  const cols = version === 2 ? header.width : term.cols;
  const rows = version === 2 ? header.height : term.rows;
  const timestamp = typeof header.timestamp === "number" && Number.isFinite(header.timestamp)
    ? header.timestamp
    : undefined;
  return {
    version,
    cols: dimension(cols, 80, MAX_COLS),
    rows: dimension(rows, 24, MAX_ROWS),
    ...(timestamp === undefined ? {} : { timestamp }),
  };
}

/** Largest asciicast v1 document read (it is one JSON document, read whole). */
const MAX_V1_BYTES = 64 << 20;

/**
 * Gathers the lines of an asciicast v1 document (after a first line that
 * opens a JSON object but is no v2/v3 header); {@linkcode V1Document.parse}
 * gives its header and output events. Throws `CastFormatError` when it grows
 * past {@linkcode MAX_V1_BYTES} or is not v1.
 */
export class V1Document {
  #parts: string[] = [];
  #size = 0;

  /** True when `line` (the first non-blank line) may open a v1 document. */
  static opens(line: string): boolean {
    return line.trimStart().startsWith("{");
  }

  /** Adds the next line. */
  push(line: string): void {
    this.#size += line.length + 1;
    if (this.#size > MAX_V1_BYTES) {
      throw new CastFormatError(
        `not an asciicast v2/v3 recording, and too big for asciicast v1 (over ${
          MAX_V1_BYTES >> 20
        } MiB)`,
      );
    }
    this.#parts.push(line);
  }

  /** The document's header and output events, times on one absolute clock. */
  parse(): { header: CastHeader; events: CastEvent[] } {
    let raw: unknown;
    try {
      raw = JSON.parse(this.#parts.join("\n"));
    } catch {
      throw new CastFormatError("the first line is not a JSON asciicast header");
    }
    this.#parts = [];
    const doc = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    if (doc.version !== 1 || !Array.isArray(doc.stdout)) {
      throw new CastFormatError(
        `unsupported asciicast version ${JSON.stringify(doc.version)} (1, 2 and 3 are supported)`,
      );
    }
    const header: CastHeader = {
      version: 1,
      cols: dimension(doc.width, 80, MAX_COLS),
      rows: dimension(doc.height, 24, MAX_ROWS),
    };
    const events: CastEvent[] = [];
    let clock = 0;
    for (const frame of doc.stdout) {
      if (!Array.isArray(frame) || typeof frame[0] !== "number" || typeof frame[1] !== "string") {
        continue;
      }
      if (Number.isFinite(frame[0]) && frame[0] > 0) clock += micros(frame[0]);
      events.push({ kind: "output", us: clock, data: frame[1] });
    }
    return { header, events };
  }
}

/** Parses `"COLSxROWS"`; undefined when malformed. */
export function parseResize(data: string): { cols: number; rows: number } | undefined {
  const match = /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(data);
  if (!match) return undefined;
  const cols = Number(match[1]);
  const rows = Number(match[2]);
  if (cols < 1 || rows < 1) return undefined;
  return { cols: Math.min(cols, MAX_COLS), rows: Math.min(rows, MAX_ROWS) };
}

/** Seconds (a JSON number) to integer microseconds. */
function micros(seconds: number): number {
  return Math.round(seconds * 1e6);
}

/**
 * Turns event lines (after the header) into {@linkcode CastEvent}s on one
 * absolute clock. Lines that are not events (blank, v3 comments, malformed,
 * other codes) give nothing; malformed ones are counted.
 */
export class EventParser {
  readonly header: CastHeader;
  /** Lines that were not valid events. */
  skipped = 0;
  #clock = 0;

  /** Creates the parser for a recording with `header`. */
  constructor(header: CastHeader) {
    this.header = header;
  }

  /** Microseconds since the start of the last event seen. */
  get now(): number {
    return this.#clock;
  }

  /** The event on `line`, if it is one that matters to the screen. */
  parse(line: string): CastEvent | undefined {
    if (line.length === 0 || (this.header.version === 3 && line.startsWith("#"))) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      this.skipped++;
      return undefined;
    }
    if (!Array.isArray(raw) || raw.length < 3 || typeof raw[0] !== "number") {
      this.skipped++;
      return undefined;
    }
    const [time, code, data] = raw;
    if (!Number.isFinite(time) || time < 0) {
      this.skipped++;
      return undefined;
    }
    // v2: seconds since the start; v3: seconds since the previous event.
    const us = this.header.version === 3 ? this.#clock + micros(time) : micros(time);
    this.#clock = Math.max(this.#clock, us);
    if (typeof data !== "string") return undefined;
    if (code === "o") return { kind: "output", us: this.#clock, data };
    if (code === "r") {
      const size = parseResize(data);
      return size ? { kind: "resize", us: this.#clock, ...size } : undefined;
    }
    return undefined;
  }
}

const NEWLINE = 0x0a;

/**
 * Splits byte blocks into lines (without the newline), decoding UTF-8 only
 * at line ends, so a character split across blocks stays whole.
 */
export class LineSplitter {
  #parts: Uint8Array[] = [];
  #decoder = new TextDecoder();

  /** The complete lines in `block` (the rest waits for the next block). */
  push(block: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    while (start < block.length) {
      const newline = block.indexOf(NEWLINE, start);
      if (newline < 0) {
        this.#parts.push(block.slice(start));
        break;
      }
      const piece = block.subarray(start, newline);
      if (this.#parts.length) {
        this.#parts.push(piece);
        lines.push(this.#decoder.decode(concatBytes(this.#parts)));
        this.#parts = [];
      } else {
        lines.push(this.#decoder.decode(piece));
      }
      start = newline + 1;
    }
    return lines;
  }

  /** The last line when the input did not end with a newline. */
  end(): string | undefined {
    if (this.#parts.length === 0) return undefined;
    const line = this.#decoder.decode(concatBytes(this.#parts));
    this.#parts = [];
    return line;
  }
}

/**
 * One event line of asciicast v2 (for asciinema 2.x, which plays only v2):
 * `[seconds, code, data]` with microsecond precision.
 */
export function v2EventLine(us: number, code: string, data: string): string {
  return JSON.stringify([Number((us / 1e6).toFixed(6)), code, data]);
}
