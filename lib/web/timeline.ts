/**
 * A recording's time map (pure): where in its bytes each moment is. The
 * player asks for "the recording from 41:07"; a `.cast` only says so
 * event by event (asciicast v3 even only as the interval since the previous
 * one), so the viewer reads the recording once, from the start, and notes a
 * seek point about every {@linkcode TimeScannerOptions.spacing} bytes: the
 * byte where an event line starts, the time of that event, and the terminal
 * size there. The player's segments are the byte ranges between them.
 *
 * Reading is fast because only the time at the start of each line is parsed
 * (the output itself is skipped); times follow the text engine's clock
 * (lib/text/events.ts: integer microseconds, v3 intervals summed, never
 * going back), so a search hit's time is the player's time.
 *
 * @module
 */
import { type CastHeader, parseCastHeader, parseResize } from "../text/mod.ts";

/** A place the player can start from. */
export interface SeekPoint {
  /** Byte of the `.cast` where an event line starts. */
  byte: number;
  /** Time of that event (microseconds since the start), later than every line before it. */
  us: number;
  /** Terminal size there. */
  cols: number;
  /** See cols. */
  rows: number;
}

/** Lines longer than this are not events the player could take: skipped (16 MiB). */
export const MAX_LINE_BYTES = 16 << 20;

/** Options of {@linkcode TimeScanner}. */
export interface TimeScannerOptions {
  /** Bytes between seek points (about; default 1 MiB). */
  spacing?: number;
}

const NEWLINE = 0x0a;
const OPEN = 0x5b; // [
const HASH = 0x23; // #
const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const QUOTE = 0x22;
const DOT = 0x2e;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const R = 0x72;

/** The time field and code of one event line, read without parsing the rest. */
export interface LineHead {
  /** Seconds as written (v2: since the start, v3: since the previous event). */
  seconds: number;
  /** The event code's first character (`o`, `r`, `i`, `m`, `x`, ...), or 0. */
  code: number;
}

function skipBlanks(bytes: Uint8Array, at: number, end: number): number {
  while (at < end && (bytes[at] === SPACE || bytes[at] === TAB)) at++;
  return at;
}

/**
 * The time and code of the event line `bytes[start, end)`, or undefined
 * when it is not an event line with a finite time of 0 or more.
 */
export function readLineHead(bytes: Uint8Array, start: number, end: number): LineHead | undefined {
  let at = skipBlanks(bytes, start, end);
  if (bytes[at] !== OPEN) return undefined;
  at = skipBlanks(bytes, at + 1, end);
  const numberStart = at;
  let value = 0;
  let simple = true;
  while (at < end && bytes[at] >= ZERO && bytes[at] <= NINE) {
    value = value * 10 + bytes[at++] - ZERO;
  }
  if (at === numberStart) simple = false;
  if (simple && bytes[at] === DOT) {
    at++;
    let scale = 1;
    let fraction = 0;
    const fractionStart = at;
    while (at < end && bytes[at] >= ZERO && bytes[at] <= NINE && scale < 1e15) {
      fraction = fraction * 10 + bytes[at++] - ZERO;
      scale *= 10;
    }
    if (at === fractionStart) simple = false;
    value += fraction / scale;
    while (at < end && bytes[at] >= ZERO && bytes[at] <= NINE) at++;
  }
  let after = skipBlanks(bytes, at, end);
  if (!simple || bytes[after] !== COMMA) {
    // Exponents, signs and the like: the slow, exact way.
    let stop = numberStart;
    while (stop < end && bytes[stop] !== COMMA && bytes[stop] !== NEWLINE) stop++;
    if (bytes[stop] !== COMMA || bytes[numberStart] === MINUS) return undefined;
    const text = new TextDecoder().decode(bytes.subarray(numberStart, stop)).trim();
    if (!/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return undefined;
    value = Number(text);
    if (!Number.isFinite(value)) return undefined;
    after = stop;
  }
  at = skipBlanks(bytes, after + 1, end);
  const code = bytes[at] === QUOTE && at + 1 < end ? bytes[at + 1] : 0;
  return { seconds: value, code };
}

/** Seconds (a JSON number) to integer microseconds, as the text engine rounds them. */
function micros(seconds: number): number {
  return Math.round(seconds * 1e6);
}

/**
 * Reads a recording's bytes in order and keeps its seek points. Feed it
 * blocks from byte 0 ({@linkcode push}); {@linkcode bytes} says how far whole
 * lines were read.
 */
export class TimeScanner {
  /** The header, once its line was read. */
  header?: CastHeader;
  /** The header line as written. */
  headerLine?: string;
  /** Seek points, in order (the first is the first event). */
  readonly points: SeekPoint[] = [];
  /** Bytes read as whole lines. */
  bytes = 0;
  /** Time of the last event (microseconds). */
  us = 0;
  /** Event lines read. */
  events = 0;
  #spacing: number;
  #maxLine: number;
  #carry: Uint8Array[] = [];
  #carried = 0;
  #cols = 80;
  #rows = 24;
  #lastPointByte = -Infinity;

  constructor(options: TimeScannerOptions = {}) {
    this.#spacing = options.spacing ?? 1 << 20;
    this.#maxLine = MAX_LINE_BYTES;
  }

  /** Takes the next bytes of the recording. */
  push(block: Uint8Array): void {
    let start = 0;
    if (this.#carried > 0 || this.#carry.length > 0) {
      const newline = block.indexOf(NEWLINE);
      if (newline < 0) {
        this.#carried += block.length;
        if (this.#carried <= this.#maxLine) this.#carry.push(block.slice());
        else this.#carry = [];
        return;
      }
      const length = this.#carried + newline + 1;
      if (this.#carried <= this.#maxLine) {
        const line = new Uint8Array(this.#carried + newline);
        let at = 0;
        for (const part of this.#carry) {
          line.set(part, at);
          at += part.length;
        }
        line.set(block.subarray(0, newline), at);
        this.#line(line, 0, line.length);
      }
      this.bytes += length;
      this.#carry = [];
      this.#carried = 0;
      start = newline + 1;
    }
    while (start < block.length) {
      const newline = block.indexOf(NEWLINE, start);
      if (newline < 0) {
        this.#carry.push(block.slice(start));
        this.#carried = block.length - start;
        return;
      }
      this.#line(block, start, newline);
      this.bytes += newline + 1 - start;
      start = newline + 1;
    }
  }

  #line(bytes: Uint8Array, start: number, end: number): void {
    if (!this.header) {
      if (end === start) return;
      const text = new TextDecoder().decode(bytes.subarray(start, end));
      this.header = parseCastHeader(text);
      this.headerLine = text;
      this.#cols = this.header.cols;
      this.#rows = this.header.rows;
      return;
    }
    if (end - start > this.#maxLine) return;
    if (this.header.version === 3 && bytes[start] === HASH) return;
    const head = readLineHead(bytes, start, end);
    if (!head) return;
    const us = this.header.version === 3 ? this.us + micros(head.seconds) : micros(head.seconds);
    const byte = this.bytes;
    const later = us > this.us || this.events === 0;
    this.us = Math.max(this.us, us);
    this.events++;
    if (later && byte - this.#lastPointByte >= this.#spacing) {
      this.points.push({ byte, us: this.us, cols: this.#cols, rows: this.#rows });
      this.#lastPointByte = byte;
    }
    if (head.code === R) this.#resize(bytes, start, end);
  }

  #resize(bytes: Uint8Array, start: number, end: number): void {
    try {
      const event = JSON.parse(new TextDecoder().decode(bytes.subarray(start, end)));
      const size = Array.isArray(event) && typeof event[2] === "string"
        ? parseResize(event[2])
        : undefined;
      if (size) {
        this.#cols = size.cols;
        this.#rows = size.rows;
      }
    } catch {
      // Not a valid event: the text engine skips it too.
    }
  }
}
