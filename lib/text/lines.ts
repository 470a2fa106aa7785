/**
 * Line collection (pure): which rows of the terminal's normal buffer are
 * final text, and the time each one got. Rows are counted from an anchor (the
 * first row not yet emitted), which moves with the content when the emulator
 * trims its scrollback, so these numbers never need fixing up.
 *
 * A row's time is that of the last event during which the cursor was on it
 * (every row between the cursor before and after an event counts): the time
 * its final text was written. A logical line is a row plus the rows wrapped
 * onto it; it is emitted once all of it has scrolled off the screen, or when
 * the screen is finalised.
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

/** Reads the rows of the buffer, counted from the anchor. */
export interface RowReader {
  /** True when row `index` continues the previous one (soft wrap); undefined past the end. */
  wrapped(index: number): boolean | undefined;
  /** The cells of row `index` as text, untrimmed or without trailing blanks ("" past the end). */
  text(index: number, trim: boolean): string;
}

/** Collects final lines and their times. */
export class LineCollector {
  #stamps: number[] = [];
  #cursor = 0;
  #last = 0;

  /** After an event at `us` left the cursor on row `cursor`: stamps the rows it crossed. */
  touch(cursor: number, us: number): void {
    const from = Math.max(0, Math.min(this.#cursor, cursor));
    const to = Math.max(this.#cursor, cursor);
    for (let row = from; row <= to; row++) this.#stamps[row] = us;
    this.#cursor = cursor;
  }

  /**
   * The complete logical lines among the rows before `limit` (rows that left
   * the screen); with `final`, every row up to `limit` counts (the screen is
   * finalised) and trailing blank lines are dropped. Returns the lines and
   * how many rows they used (the anchor moves by that much).
   */
  take(read: RowReader, limit: number, final = false): { lines: TextLine[]; rows: number } {
    const lines: TextLine[] = [];
    let row = 0;
    while (row < limit) {
      let end = row + 1;
      while ((final || end <= limit) && read.wrapped(end)) end++;
      if (!final && end > limit) break; // its continuation is still on the screen
      let text = "";
      let us: number | undefined;
      for (let i = row; i < end; i++) {
        text += read.text(i, i === end - 1);
        const stamp = this.#stamps[i];
        if (stamp !== undefined && (us === undefined || stamp > us)) us = stamp;
      }
      us ??= this.#last;
      this.#last = us;
      lines.push({ us, text });
      row = end;
    }
    if (final) {
      while (lines.length && lines[lines.length - 1].text === "") lines.pop();
    }
    this.#drop(row);
    return { lines, rows: row };
  }

  /** Forgets rows `[0, count)` (emitted): the anchor moved past them. */
  #drop(count: number): void {
    if (count <= 0) return;
    this.#stamps.splice(0, count);
    this.#cursor = Math.max(0, this.#cursor - count);
  }

  /**
   * The anchor was lost (the emulator dropped rows it still held, or the
   * scrollback was cleared): row numbers start over at the new anchor, and
   * the rows down to the cursor get time `us` (their old times are lost).
   */
  reset(cursor: number, us: number): void {
    this.#stamps = [];
    this.#cursor = 0;
    this.touch(cursor, us);
  }

  /**
   * After a resize the emulator reflows wrapped rows: what is left keeps the
   * latest time any of it had (row times cannot follow a reflow).
   */
  reflow(cursor: number): void {
    const latest = this.#stamps.reduce((max, us) => (us > max ? us : max), this.#last);
    this.#stamps = this.#stamps.map(() => latest);
    this.#cursor = cursor;
  }
}
