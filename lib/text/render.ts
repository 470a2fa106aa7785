/**
 * Renders a recording's output through a real terminal emulator
 * (`@xterm/headless`, the emulator behind VS Code's terminal) into the text
 * the screen showed: colours, cursor movement, backspaces, `\r` redraws and
 * line clears are applied, and the alternate screen (vim, less, htop) never
 * reaches the text. Characters take the columns modern terminals give them
 * (Unicode 11 widths: emoji and CJK are two columns wide). Lines are emitted
 * as they scroll off the normal buffer (or when the screen is finalised)
 * with the time their final text first appeared (the rule is in
 * lib/text/lines.ts).
 *
 * Writes are asynchronous in xterm: every piece is queued with a callback
 * that runs right after the piece is parsed, and the queue is awaited only
 * every {@linkcode FLUSH_CHARS}, so output renders at the emulator's own
 * speed while memory stays bounded. The callback compares the rows the piece
 * may have written: parser hooks note the cursor's row before every vertical
 * move (so a redraw two rows up is seen) and the rows an erase, insert,
 * delete or scroll reached; they never change what the emulator does.
 *
 * The first row not yet emitted carries a marker (xterm moves it when it
 * trims its scrollback or rewraps). Rows are taken once a batch has
 * scrolled off, long before the scrollback could drop them. Before a change
 * of width, the rows already taken are trimmed off the buffer, so that the
 * rewrap moves only rows not yet emitted (even the rest of a line whose
 * start was taken), and the lines keep their times across it.
 *
 * @module
 */
import type xterm from "@xterm/headless";
import type { Unicode11Addon } from "@xterm/addon-unicode11";
import {
  type CastEvent,
  CastFormatError,
  type CastHeader,
  EventParser,
  LineSplitter,
  parseCastHeader,
  V1Document,
} from "./events.ts";
import { LineCollector, type RowReader, type TextLine } from "./lines.ts";

type Terminal = InstanceType<typeof xterm.Terminal>;
type Marker = NonNullable<ReturnType<Terminal["registerMarker"]>>;
type Buffers = Terminal["buffer"];
type Cell = NonNullable<
  ReturnType<NonNullable<ReturnType<Buffers["normal"]["getLine"]>>["getCell"]>
>;

/** The emulator's modules, once loaded. */
let emulator:
  | { Terminal: typeof xterm.Terminal; Unicode11Addon: typeof Unicode11Addon }
  | undefined;

/**
 * Loads the emulator on first use: a daemon that renders nothing (it
 * renders a recording only once it ended) does not pay for it at start.
 */
async function loadEmulator(): Promise<void> {
  if (emulator) return;
  const [terminal, unicode] = await Promise.all([
    import("@xterm/headless"),
    import("@xterm/addon-unicode11"),
  ]);
  emulator = { Terminal: terminal.default.Terminal, Unicode11Addon: unicode.Unicode11Addon };
}

/** Characters queued before the renderer waits for the emulator to catch up. */
const FLUSH_CHARS = 1 << 20;
/** Longest piece written at once: what one piece can scroll stays well inside the scrollback. */
const PIECE_CHARS = 1024;
/** Rows the emulator keeps above the screen: rows waiting to be taken, and a margin for one piece. */
const SCROLLBACK = 4096;
/** Rows that left the screen are taken once there are this many (and at each flush). */
const TAKE_ROWS = 256;
/** An unfinished line with this many rows scrolled off is taken as it goes (well inside SCROLLBACK). */
const PARTIAL_ROWS = 1024;
/** CSI finals that move the cursor to another row: the row it leaves is noted first. */
const ROW_MOVES = ["A", "B", "E", "F", "H", "f", "d", "e", "u"];
/** CSI sequences that change rows other than the cursor's (erase, insert, delete, scroll). */
const SCREEN_CHANGES: { prefix?: string; intermediates?: string; final: string }[] = [
  { final: "L" }, // insert lines
  { final: "M" }, // delete lines
  { final: "S" }, // scroll up
  { final: "T" }, // scroll down
  { prefix: "?", final: "J" }, // selective erase in display
  { intermediates: " ", final: "@" }, // scroll left
  { intermediates: " ", final: "A" }, // scroll right
  { intermediates: "'", final: "}" }, // insert columns
  { intermediates: "'", final: "~" }, // delete columns
];
/** Reverse wraparound: a backspace at the start of a row goes up to the row before. */
const REVERSE_WRAP = 45;
/** Private modes that switch to the alternate screen. */
const ALT_MODES = new Set([47, 1047, 1049]);

/** What a whole rendering saw. */
export interface RenderSummary {
  /** The header, or undefined when there was no line at all. */
  header?: CastHeader;
  /** Bytes of the recording read. */
  bytes: number;
  /** Lines of text emitted. */
  lines: number;
  /** Event lines that were not valid events. */
  skipped: number;
  /** Microseconds into the recording of the last event. */
  endUs: number;
}

/** Splits `data` into pieces of at most `size` UTF-16 units, never inside a surrogate pair. */
function pieces(data: string, size: number): string[] {
  if (data.length <= size) return [data];
  const out: string[] = [];
  for (let at = 0; at < data.length;) {
    let end = Math.min(data.length, at + size);
    const code = data.charCodeAt(end - 1);
    if (end < data.length && code >= 0xd800 && code <= 0xdbff) end--;
    out.push(data.slice(at, end));
    at = end;
  }
  return out;
}

/** Reads rows of the normal buffer counted from `base` (set before each use; one object). */
class Rows implements RowReader {
  base = 0;
  #buffers: Buffers;
  #cell?: Cell;

  constructor(buffers: Buffers) {
    this.#buffers = buffers;
  }

  // xterm's buffer is a ring: an index past its end reads an old row, so every read is bounded.
  wrapped(index: number): boolean | undefined {
    const buffer = this.#buffers.normal;
    const row = this.base + index;
    return row < buffer.length ? buffer.getLine(row)?.isWrapped : undefined;
  }

  text(index: number, trim: boolean): string {
    const buffer = this.#buffers.normal;
    const row = this.base + index;
    const line = row < buffer.length ? buffer.getLine(row) : undefined;
    if (!line) return "";
    if (trim) return line.translateToString(true).trimEnd(); // xterm keeps spaces that were written
    const text = line.translateToString(false);
    return this.#padded(row) ? text.slice(0, -1) : text;
  }

  /** Cells of row `index` that hold its line's text (a row that wraps onto the next). */
  cells(index: number): number {
    const line = this.#buffers.normal.getLine(this.base + index);
    return line ? line.length - (this.#padded(this.base + index) ? 1 : 0) : 0;
  }

  /**
   * A wide character that did not fit at the end of row `row` went to the
   * next one, leaving an empty cell that is no part of the text (the rule
   * xterm's own reflow uses).
   */
  #padded(row: number): boolean {
    const buffer = this.#buffers.normal;
    const next = row + 1 < buffer.length ? buffer.getLine(row + 1) : undefined;
    if (!next?.isWrapped) return false;
    const line = buffer.getLine(row)!;
    const cell = this.#cell = line.getCell(line.length - 1, this.#cell);
    if (!cell || cell.getWidth() !== 1 || cell.getChars() !== "") return false;
    return next.getCell(0, cell)?.getWidth() === 2;
  }
}

/**
 * Renders one recording, fed as byte blocks in order: `push` returns the
 * lines completed so far, `end` the rest and a summary. asciicast v1 (one
 * JSON document) is gathered and rendered at the end. Throws
 * `CastFormatError` when the recording is not asciicast v1, v2 or v3.
 */
export class CastRenderer {
  #splitter = new LineSplitter();
  #parser?: EventParser;
  /** An asciicast v1 document being gathered (rendered at the end). */
  #v1?: V1Document;
  #v1Header?: CastHeader;
  #v1End = 0;
  #term?: Terminal;
  #collector = new LineCollector({ partialRows: PARTIAL_ROWS });
  #buffers?: Buffers;
  #rows?: Rows;
  /** On the first row not yet emitted (normal buffer). */
  #anchor?: Marker;
  /** Times of the pieces queued; `#parsed` of them are parsed (a queue, emptied at each flush). */
  #times: number[] = [];
  #parsed = 0;
  /** The callback of every piece (one function: nothing allocated per piece). */
  #pieceDone = () => this.#afterPiece(this.#times[this.#parsed++]);
  #queued = 0;
  #out: TextLine[] = [];
  #bytes = 0;
  #lines = 0;
  /** The cursor's row (from the anchor) when rows were last compared. */
  #prev = 0;
  /** Rows the cursor left during the piece being parsed (from the anchor). */
  #lo = Infinity;
  #hi = -Infinity;
  /** The piece changed rows away from the cursor: compare the whole screen. */
  #screen = false;
  /** A scroll region is set: scrolling moves rows inside the screen, compare it all. */
  #region = false;
  /** Reverse wraparound is on: a backspace can go up a row unseen, compare the whole screen. */
  #reverseWrap = false;

  /** The recording's header, once its first line was read. */
  get header(): CastHeader | undefined {
    return this.#parser?.header ?? this.#v1Header;
  }

  /** Feeds the next bytes of the recording; returns the lines completed meanwhile. */
  async push(block: Uint8Array): Promise<TextLine[]> {
    await loadEmulator();
    this.#bytes += block.length;
    for (const line of this.#splitter.push(block)) {
      if (this.#take(line)) await this.#flush();
    }
    return this.#drain();
  }

  /** Ends the recording: the screen is finalised; returns the last lines and the summary. */
  async end(): Promise<{ lines: TextLine[]; summary: RenderSummary }> {
    await loadEmulator();
    const last = this.#splitter.end();
    if (last !== undefined) this.#take(last);
    if (this.#v1) await this.#renderV1(this.#v1);
    let endUs = 0;
    let skipped = 0;
    if (this.#term) {
      await this.#flush();
      this.#finalise();
      endUs = this.#parser?.now ?? this.#v1End;
      skipped = this.#parser?.skipped ?? 0;
      this.#term.dispose();
      this.#term = undefined;
    }
    const lines = this.#drain();
    return {
      lines,
      summary: {
        header: this.header,
        bytes: this.#bytes,
        lines: this.#lines,
        skipped,
        endUs,
      },
    };
  }

  /** Takes one line of the file; true when the emulator should catch up now. */
  #take(line: string): boolean {
    if (this.#v1) {
      this.#v1.push(line);
      return false;
    }
    if (!this.#parser) {
      if (line.trim() === "") return false;
      let header: CastHeader;
      try {
        header = parseCastHeader(line);
      } catch (error) {
        if (!(error instanceof CastFormatError) || !V1Document.opens(line)) throw error;
        this.#v1 = new V1Document(); // asciicast v1: one JSON document, rendered at the end
        this.#v1.push(line);
        return false;
      }
      this.#parser = new EventParser(header);
      this.#open(header);
      return false;
    }
    const event = this.#parser.parse(line);
    return event ? this.#event(event) : false;
  }

  /** Renders a whole asciicast v1 document. */
  async #renderV1(document: V1Document): Promise<void> {
    this.#v1 = undefined;
    const { header, events } = document.parse();
    this.#v1Header = header;
    this.#open(header);
    for (const event of events) {
      this.#v1End = event.us;
      if (this.#event(event)) await this.#flush();
    }
  }

  /** Queues one event; true when the emulator should catch up now. */
  #event(event: CastEvent): boolean {
    const term = this.#term!;
    if (event.kind === "resize") {
      // Applied in order: after everything queued before it is parsed; then the emulator
      // catches up, so the cursor can be put back in place before anything else is parsed.
      term.write("", () => this.#resize(event.cols, event.rows));
      return true;
    }
    for (const piece of pieces(event.data, PIECE_CHARS)) {
      this.#times.push(event.us);
      term.write(piece, this.#pieceDone);
    }
    this.#queued += event.data.length;
    return this.#queued >= FLUSH_CHARS;
  }

  #open(header: CastHeader): void {
    const { Terminal, Unicode11Addon } = emulator!; // loaded by push and end
    const term = new Terminal({
      cols: header.cols,
      rows: header.rows,
      scrollback: SCROLLBACK,
      allowProposedApi: true,
      // `clear` pushes the screen into the scrollback instead of wiping it: it was seen.
      scrollOnEraseInDisplay: true,
      // A change of width rewraps the cursor's line too: its text is kept, never cut.
      reflowCursorLine: true,
    });
    term.loadAddon(new Unicode11Addon());
    term.unicode.activeVersion = "11";
    this.#term = term;
    this.#buffers = term.buffer;
    this.#rows = new Rows(term.buffer);
    this.#anchor = term.registerMarker(0);
    const parser = term.parser;
    for (const final of ROW_MOVES) parser.registerCsiHandler({ final }, this.#note);
    for (const id of SCREEN_CHANGES) parser.registerCsiHandler(id, this.#noteScreen);
    parser.registerEscHandler({ final: "M" }, this.#noteScreen); // reverse index scrolls down
    parser.registerEscHandler({ final: "8" }, this.#note); // restore cursor
    parser.registerEscHandler({ intermediates: "#", final: "8" }, this.#noteScreen); // DECALN
    parser.registerCsiHandler({ final: "r" }, (params) => {
      const top = Number(params[0] ?? 0) || 1;
      const bottom = Number(params[1] ?? 0) || term.rows;
      this.#region = top > 1 || bottom < term.rows;
      return this.#note();
    });
    parser.registerCsiHandler({ final: "J" }, (params) => {
      // Erasing the scrollback (ESC [ 3 J, sent by `clear`) would drop rows not yet
      // emitted: every row above the screen is taken first.
      if (params[0] === 3) this.#collect(this.#times[this.#parsed] ?? 0, true);
      return this.#noteScreen();
    });
    // Leaving for the alternate screen: what this piece wrote before is compared now.
    parser.registerCsiHandler({ prefix: "?", final: "h" }, (params) => {
      if (params.some((mode) => typeof mode === "number" && ALT_MODES.has(mode))) {
        this.#observe(this.#times[this.#parsed] ?? 0);
      }
      if (params.includes(REVERSE_WRAP)) this.#reverseWrap = true;
      return false;
    });
    parser.registerCsiHandler({ prefix: "?", final: "l" }, (params) => {
      if (params.includes(REVERSE_WRAP)) this.#reverseWrap = false;
      return false;
    });
    parser.registerCsiHandler({ intermediates: "!", final: "p" }, () => {
      this.#region = false; // a soft reset clears the scroll region
      this.#reverseWrap = false;
      return false;
    });
    // A full reset (ESC c) would drop every row not yet emitted: the screen is finalised first.
    parser.registerEscHandler({ final: "c" }, () => {
      this.#observe(this.#times[this.#parsed] ?? 0);
      this.#finalise();
      this.#region = false;
      this.#reverseWrap = false;
      return false;
    });
  }

  /** Parser hook: the cursor is about to move to another row; the one it leaves is noted. */
  #note = (): boolean => {
    const buffers = this.#buffers!;
    if (buffers.active.type !== "normal") return false;
    const buffer = buffers.normal;
    const row = buffer.baseY + buffer.cursorY - this.#base();
    if (row < this.#lo) this.#lo = row;
    if (row > this.#hi) this.#hi = row;
    return false;
  };

  /** Parser hook: rows away from the cursor change (the whole screen is compared). */
  #noteScreen = (): boolean => {
    this.#note();
    if (this.#buffers!.active.type !== "normal") return false;
    const top = this.#buffers!.normal.baseY - this.#base();
    if (top < this.#lo) this.#lo = top;
    this.#screen = true;
    return false;
  };

  /** The first row not yet emitted (buffer index); a new anchor when it was lost. */
  #base(): number {
    const anchor = this.#anchor;
    if (anchor && !anchor.isDisposed) return anchor.line;
    // Lost (a full reset, or rows dropped that were not emitted): start over at the top.
    this.#emit(this.#collector.reset());
    const buffer = this.#buffers!.normal;
    this.#anchor = this.#buffers!.active.type === "normal"
      ? this.#term!.registerMarker(-(buffer.baseY + buffer.cursorY))
      : undefined;
    this.#prev = buffer.baseY + buffer.cursorY;
    this.#lo = Infinity;
    this.#hi = -Infinity;
    return 0;
  }

  #rowsAt(base: number): Rows {
    const rows = this.#rows!;
    rows.base = base;
    return rows;
  }

  /** After a piece was parsed (the hot path): compares the rows it may have written. */
  #afterPiece(us: number): void {
    const buffer = this.#buffers!.active;
    if (buffer.type !== "normal") return; // the alternate screen is never text
    const base = this.#base();
    this.#compare(buffer, base, us);
    // Rows wait in the scrollback and are taken in batches (far fewer, bigger calls).
    if (buffer.baseY - base >= TAKE_ROWS) this.#takeScrolled(false);
  }

  /** Compares the rows from the cursor's last row to its row now, and any noted, with time `us`. */
  #observe(us: number): void {
    const buffer = this.#buffers!.active;
    if (buffer.type === "normal") this.#compare(buffer, this.#base(), us);
  }

  #compare(buffer: Buffers["normal"], base: number, us: number): void {
    const cursor = buffer.baseY + buffer.cursorY - base;
    let lo = Math.min(this.#lo, this.#prev, cursor);
    let hi = Math.max(this.#hi, this.#prev, cursor);
    if (this.#screen || this.#region || this.#reverseWrap) {
      lo = Math.min(lo, buffer.baseY - base);
      hi = Math.max(hi, buffer.baseY + this.#term!.rows - 1 - base);
    }
    this.#collector.observe(this.#rowsAt(base), lo, hi, us);
    this.#prev = cursor;
    this.#lo = Infinity;
    this.#hi = -Infinity;
    this.#screen = false;
  }

  /** Takes every row that left the screen now (`all`: an unfinished line's rows too). */
  #collect(us: number, all: boolean): void {
    if (this.#buffers!.active.type !== "normal") return;
    this.#observe(us);
    this.#takeScrolled(all);
  }

  #takeScrolled(partial: boolean): void {
    const buffer = this.#buffers!.normal;
    const base = this.#base();
    const limit = buffer.baseY - base;
    if (limit <= 0) return;
    const { lines, rows } = this.#collector.take(this.#rowsAt(base), limit, { partial });
    this.#emit(lines);
    if (rows === 0) return;
    this.#anchor?.dispose();
    this.#anchor = this.#term!.registerMarker(base + rows - (buffer.baseY + buffer.cursorY));
    this.#prev -= rows;
    this.#lo -= rows;
    this.#hi -= rows;
  }

  /**
   * A resize event, after everything before it was parsed. A change of width
   * rewraps: the rows already emitted are trimmed off first (so only rows
   * not yet emitted move, the rest of a line whose start was taken included),
   * each line keeps its time, and the cursor goes where its text went.
   */
  #resize(cols: number, rows: number): void {
    const term = this.#term!;
    const normal = this.#buffers!.normal;
    this.#region = false; // a resize resets the scroll region
    if (cols !== term.cols) {
      const base = this.#base();
      if (base > 0) {
        term.options.scrollback = Math.max(0, normal.length - term.rows - base);
        term.options.scrollback = SCROLLBACK;
      }
      const from = this.#base();
      const times = this.#collector.lineTimes(this.#rowsAt(from), normal.length - from);
      const cursor = this.#cursorInLine();
      term.resize(cols, rows);
      const after = this.#base();
      this.#collector.rewrapped(this.#rowsAt(after), normal.length - after, times);
      if (cursor) this.#placeCursor(cursor);
    } else {
      term.resize(cols, rows);
    }
    this.#prev = normal.baseY + normal.cursorY - this.#base();
  }

  /**
   * Where the cursor is in its logical line (cells from the line's first
   * row, on which a marker is put), for putting it back after a rewrap:
   * xterm rewraps the cursor's line but leaves the cursor's column as it
   * was. Only on the normal screen.
   */
  #cursorInLine(): { start: Marker; cells: number } | undefined {
    if (this.#buffers!.active.type !== "normal") return undefined;
    const buffer = this.#buffers!.normal;
    const rows = this.#rowsAt(0);
    let row = buffer.baseY + buffer.cursorY;
    let cells = buffer.cursorX;
    while (row > 0 && rows.wrapped(row)) cells += rows.cells(--row);
    if (cells === buffer.cursorX) return undefined; // the line's first row: nothing moves
    const start = this.#term!.registerMarker(row - (buffer.baseY + buffer.cursorY));
    return start ? { start, cells } : undefined;
  }

  #placeCursor({ start, cells }: { start: Marker; cells: number }): void {
    const term = this.#term!;
    const buffer = this.#buffers!.normal;
    if (start.isDisposed) return;
    let row = start.line;
    start.dispose();
    const rows = this.#rowsAt(0);
    let left = cells;
    for (let width = rows.cells(row); left >= width && rows.wrapped(row + 1);) {
      left -= width;
      width = rows.cells(++row);
    }
    const screenRow = row - buffer.baseY;
    if (screenRow < 0 || screenRow >= term.rows) return;
    // Parsed right after this callback, before any later output (the renderer flushes here).
    term.write(`\x1b[${screenRow + 1};${Math.min(left, term.cols - 1) + 1}H`);
  }

  /** Emits every row of the normal buffer left (the screen as it was last seen). */
  #finalise(): void {
    const buffer = this.#buffers!.normal;
    const base = this.#base();
    const { lines } = this.#collector.take(this.#rowsAt(base), buffer.length - base, {
      final: true,
    });
    this.#emit(lines);
    this.#anchor?.dispose();
    this.#anchor = undefined;
  }

  #emit(lines: TextLine[]): void {
    for (const line of lines) this.#out.push(line);
    this.#lines += lines.length;
  }

  async #flush(): Promise<void> {
    const term = this.#term;
    if (!term) return;
    await new Promise<void>((resolve) => term.write("", resolve));
    this.#collect(this.#times[this.#parsed - 1] ?? 0, false);
    this.#queued = 0;
    this.#times = [];
    this.#parsed = 0;
  }

  #drain(): TextLine[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
}

/** Hands byte blocks, in order, to `sink` (a file read, or a recording's chunks). */
export type ByteFeed = (sink: (block: Uint8Array) => Promise<void>) => Promise<unknown>;

/**
 * Renders a whole recording from `feed`; calls `onLines` as lines complete
 * (with the header, known before the first line).
 */
export async function renderFeed(
  feed: ByteFeed,
  onLines: (lines: TextLine[], header: CastHeader) => void | Promise<void>,
): Promise<RenderSummary> {
  const renderer = new CastRenderer();
  await feed(async (block) => {
    const lines = await renderer.push(block);
    if (lines.length) await onLines(lines, renderer.header!);
  });
  const { lines, summary } = await renderer.end();
  if (lines.length) await onLines(lines, summary.header!);
  return summary;
}
