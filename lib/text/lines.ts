/**
 * Line collection (pure): which rows of the terminal's normal buffer are
 * final text, and the time each line got. Rows are counted from the first
 * row not yet emitted (the renderer keeps a marker there), so these numbers
 * never need fixing up when the emulator trims its scrollback.
 *
 * **The line-time rule.** A line's time is when its final text first
 * appeared: the time of the last event after which the text of one of its
 * rows was different from before. The renderer compares the rows an event
 * may have written (every row the cursor visited, and the rows an erase,
 * insert, delete or scroll reached) with what they held before; a row whose
 * text did not change keeps its time, so redraws of the same text, title
 * and cursor sequences and a cursor merely passing by stamp nothing. A
 * change of width rewraps the rows, never the lines: each line keeps the
 * time it had. A row never seen takes the time of the line before it.
 *
 * The caller compares every row that may have changed before it takes rows
 * (a row's last text as compared is its text when it is taken).
 *
 * A logical line is a row plus the rows wrapped onto it; it is emitted once
 * all of it has scrolled off the screen, or when the screen is finalised.
 * Rows that scrolled off are final, so a line longer than the scrollback is
 * taken as it scrolls off (its start waits, taken, for its end), and a line
 * longer than {@linkcode MAX_LINE_CHARS} is emitted in pieces of that size.
 *
 * @module
 */

/** One line of text and when (microseconds into the recording) it got its final text. */
export interface TextLine {
  /** Microseconds since the start of the recording. */
  us: number;
  /** The text, without trailing blanks. */
  text: string;
}

/** Reads the rows of the buffer, counted from the first row not yet emitted. */
export interface RowReader {
  /** True when row `index` continues the previous one (soft wrap); undefined past the end. */
  wrapped(index: number): boolean | undefined;
  /** The cells of row `index` as text, untrimmed or without trailing blanks ("" past the end). */
  text(index: number, trim: boolean): string;
}

/** Longest line emitted (UTF-16 units); a longer one comes out as several lines of this size. */
const MAX_LINE_CHARS = 1 << 20;

/** Options of {@linkcode LineCollector}. */
export interface LineCollectorOptions {
  /** An unfinished line with this many rows scrolled off is taken as it goes (default 1024). */
  partialRows?: number;
  /** Longest line emitted (default {@linkcode MAX_LINE_CHARS}). */
  maxLineChars?: number;
}

/** Collects final lines and their times. */
export class LineCollector {
  /** What each row held when last compared (undefined: never seen). */
  #texts: (string | undefined)[] = [];
  /** When each row's text last changed (undefined: never seen). */
  #times: (number | undefined)[] = [];
  /** The start of a line taken while its end is still on the screen. */
  #pending?: { text: string; us: number };
  #last = 0;
  #partialRows: number;
  #maxChars: number;

  constructor(options: LineCollectorOptions = {}) {
    this.#partialRows = options.partialRows ?? 1024;
    this.#maxChars = options.maxLineChars ?? MAX_LINE_CHARS;
  }

  /**
   * After an event at `us`: compares rows `from..to` (inclusive) with what
   * they held; a row whose text changed (or that is seen for the first time)
   * gets time `us`.
   */
  observe(read: RowReader, from: number, to: number, us: number): void {
    for (let row = Math.max(0, from); row <= to; row++) {
      const text = read.text(row, true);
      if (this.#texts[row] !== text || this.#times[row] === undefined) {
        this.#texts[row] = text;
        this.#times[row] = us;
      }
    }
  }

  /**
   * The complete logical lines among the rows before `limit` (rows that left
   * the screen); with `final`, every row up to `limit` counts (the screen is
   * finalised) and trailing blank lines are dropped. An unfinished line with
   * `partialRows` rows before `limit` (or any, with `partial`) has those
   * rows taken now. Returns the lines and how many rows were used (the first
   * row not yet emitted moves by that much).
   */
  take(
    read: RowReader,
    limit: number,
    options: { final?: boolean; partial?: boolean } = {},
  ): { lines: TextLine[]; rows: number } {
    const final = options.final ?? false;
    const lines: TextLine[] = [];
    let row = 0;
    while (row < limit) {
      let end = row + 1;
      while ((final || end <= limit) && read.wrapped(end)) end++;
      if (!final && end > limit) {
        // Its continuation is still on the screen: wait, unless it is long.
        if (options.partial || limit - row >= this.#partialRows) {
          this.#hold(read, row, limit, lines);
          row = limit;
        }
        break;
      }
      let text = this.#pending?.text ?? "";
      let us = this.#pending?.us;
      this.#pending = undefined;
      for (let i = row; i < end - 1; i++) {
        text += read.text(i, false);
        us = later(us, this.#times[i]);
      }
      // The last row as last compared (what `observe` saw is current), else read now.
      text += this.#texts[end - 1] ?? read.text(end - 1, true);
      us = later(us, this.#times[end - 1]);
      this.#push(lines, text, us);
      row = end;
    }
    if (final) {
      if (this.#pending) this.#push(lines, this.#pending.text.trimEnd(), this.#pending.us);
      this.#pending = undefined;
      while (lines.length && lines[lines.length - 1].text === "") lines.pop();
    }
    this.#texts.splice(0, row);
    this.#times.splice(0, row);
    return { lines, rows: row };
  }

  /** Rows `from..limit-1` start a line that goes on past `limit`: kept as its pending start. */
  #hold(read: RowReader, from: number, limit: number, lines: TextLine[]): void {
    let text = this.#pending?.text ?? "";
    let us = this.#pending?.us;
    for (let i = from; i < limit; i++) {
      text += read.text(i, false);
      us = later(us, this.#times[i]);
    }
    // Whole pieces of the longest size go now; the rest waits for its end.
    let at = 0;
    while (text.length - at > this.#maxChars) {
      const cut = cutAt(text, at + this.#maxChars);
      this.#emit(lines, text.slice(at, cut), us);
      at = cut;
    }
    this.#pending = { text: text.slice(at), us: us ?? this.#last };
  }

  #push(lines: TextLine[], text: string, us: number | undefined): void {
    let at = 0;
    while (text.length - at > this.#maxChars) {
      const cut = cutAt(text, at + this.#maxChars);
      this.#emit(lines, text.slice(at, cut), us);
      at = cut;
    }
    this.#emit(lines, at === 0 ? text : text.slice(at), us);
  }

  #emit(lines: TextLine[], text: string, us: number | undefined): void {
    const time = us ?? this.#last;
    this.#last = time;
    lines.push({ us: time, text });
  }

  /**
   * Before a change of width: the time of each logical line of the rows
   * before `limit` (in order), to be given back to them once they are
   * rewrapped ({@linkcode LineCollector.rewrapped}).
   */
  lineTimes(read: RowReader, limit: number): (number | undefined)[] {
    const times: (number | undefined)[] = [];
    for (let row = 0; row < limit;) {
      let us = this.#times[row];
      let end = row + 1;
      while (end < limit && read.wrapped(end)) us = later(us, this.#times[end++]);
      times.push(us);
      row = end;
    }
    return times;
  }

  /**
   * After a change of width: the rows before `limit` are the same lines,
   * rewrapped; each row gets its line's time, and what it holds now (a
   * rewrap is not a change of text).
   */
  rewrapped(read: RowReader, limit: number, times: (number | undefined)[]): void {
    this.#texts = [];
    this.#times = [];
    let line = -1;
    for (let row = 0; row < limit; row++) {
      if (row === 0 || !read.wrapped(row)) line++;
      this.#texts[row] = read.text(row, true);
      this.#times[row] = times[line];
    }
  }

  /**
   * The first row not yet emitted was lost (the emulator dropped rows it
   * still held): row numbers start over, every row is unseen, and a pending
   * line start comes out as it is (returned).
   */
  reset(): TextLine[] {
    this.#texts = [];
    this.#times = [];
    const lines: TextLine[] = [];
    if (this.#pending) this.#push(lines, this.#pending.text.trimEnd(), this.#pending.us);
    this.#pending = undefined;
    return lines;
  }
}

function later(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || b <= a ? a : b;
}

/** `at`, moved back one unit when it would split a surrogate pair. */
function cutAt(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at - 1 : at;
}
