/**
 * Renders a recording's output through a real terminal emulator
 * (`@xterm/headless`, the emulator behind VS Code's terminal) into the text
 * the screen showed: colours, cursor movement, backspaces, `\r` redraws and
 * line clears are applied, and the alternate screen (vim, less, htop) never
 * reaches the text. Lines are emitted as they scroll off the normal buffer
 * (or when the screen is finalised) with the time their final text was
 * written (lib/text/lines.ts).
 *
 * Writes are asynchronous in xterm: every piece is queued with a callback
 * that runs right after the piece is parsed (collecting what scrolled off),
 * and the queue is awaited only every {@linkcode FLUSH_CHARS}, so output
 * renders at the emulator's own speed while memory stays bounded.
 *
 * @module
 */
import xterm from "@xterm/headless";
import { type CastHeader, EventParser, LineSplitter, parseCastHeader } from "./events.ts";
import { LineCollector, type RowReader, type TextLine } from "./lines.ts";

type Terminal = InstanceType<typeof xterm.Terminal>;
type Marker = NonNullable<ReturnType<Terminal["registerMarker"]>>;
type Buffer = Terminal["buffer"]["normal"];

/** Characters queued before the renderer waits for the emulator to catch up. */
export const FLUSH_CHARS = 1 << 20;
/** Longest piece written at once: what one piece can scroll stays well inside the scrollback. */
const PIECE_CHARS = 1024;
/** Rows the emulator keeps above the screen: rows waiting to be taken, and a margin for one piece. */
const SCROLLBACK = 4096;
/** Rows that left the screen are taken once there are this many (and at each flush). */
const TAKE_ROWS = 256;

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

/** Reads rows of `buffer` counted from `base` (set before each use; one object, no garbage). */
class Rows implements RowReader {
  base = 0;
  #buffer: Buffer;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  wrapped(index: number): boolean | undefined {
    return this.#buffer.getLine(this.base + index)?.isWrapped;
  }

  text(index: number, trim: boolean): string {
    const text = this.#buffer.getLine(this.base + index)?.translateToString(trim) ?? "";
    return trim ? text.trimEnd() : text; // xterm keeps spaces that were written
  }
}

function rowsOf(buffer: Buffer, base: number, rows?: Rows): RowReader {
  const reader = rows ?? new Rows(buffer);
  reader.base = base;
  return reader;
}

/**
 * Renders one recording, fed as byte blocks in order: `push` returns the
 * lines completed so far, `end` the rest and a summary. Throws
 * `CastFormatError` when the first line is not an asciicast v2/v3 header.
 */
export class CastRenderer {
  #splitter = new LineSplitter();
  #parser?: EventParser;
  #term?: Terminal;
  #collector = new LineCollector();
  #buffers?: Terminal["buffer"];
  #rows?: Rows;
  #anchor?: Marker;
  /** Rows emitted since the anchor was placed. */
  #offset = 0;
  /** Times of the pieces queued; `#parsed` of them are parsed (a queue, emptied at each flush). */
  #times: number[] = [];
  #parsed = 0;
  /** The callback of every piece (one function: nothing allocated per piece). */
  #pieceDone = () => this.#afterPiece(this.#times[this.#parsed++]);
  #queued = 0;
  #out: TextLine[] = [];
  #bytes = 0;
  #lines = 0;

  /** The recording's header, once its first line was read. */
  get header(): CastHeader | undefined {
    return this.#parser?.header;
  }

  /** Feeds the next bytes of the recording; returns the lines completed meanwhile. */
  async push(block: Uint8Array): Promise<TextLine[]> {
    this.#bytes += block.length;
    for (const line of this.#splitter.push(block)) {
      if (this.#take(line)) await this.#flush();
    }
    return this.#drain();
  }

  /** Ends the recording: the screen is finalised; returns the last lines and the summary. */
  async end(): Promise<{ lines: TextLine[]; summary: RenderSummary }> {
    const last = this.#splitter.end();
    if (last !== undefined) this.#take(last);
    let endUs = 0;
    let skipped = 0;
    if (this.#term) {
      await this.#flush();
      this.#finalise();
      endUs = this.#parser?.now ?? 0;
      skipped = this.#parser?.skipped ?? 0;
      this.#anchor?.dispose();
      this.#term.dispose();
      this.#term = undefined;
    }
    const lines = this.#drain();
    return {
      lines,
      summary: {
        header: this.#parser?.header,
        bytes: this.#bytes,
        lines: this.#lines,
        skipped,
        endUs,
      },
    };
  }

  /** Takes one line of the file; true when the emulator should catch up now. */
  #take(line: string): boolean {
    if (!this.#parser) {
      if (line.trim() === "") return false;
      const header = parseCastHeader(line);
      this.#parser = new EventParser(header);
      this.#open(header);
      return false;
    }
    const event = this.#parser.parse(line);
    if (!event) return false;
    const term = this.#term!;
    if (event.kind === "resize") {
      // Applied in order: after everything queued before it is parsed.
      term.write("", () => {
        this.#collect(event.us, false);
        const reflows = event.cols !== term.cols;
        term.resize(event.cols, event.rows);
        const buffer = term.buffer.normal;
        if (reflows) this.#collector.reflow(buffer.baseY + buffer.cursorY - (this.#base() ?? 0));
      });
      return false;
    }
    for (const piece of pieces(event.data, PIECE_CHARS)) {
      this.#times.push(event.us);
      term.write(piece, this.#pieceDone);
    }
    this.#queued += event.data.length;
    return this.#queued >= FLUSH_CHARS;
  }

  #open(header: CastHeader): void {
    const term = new xterm.Terminal({
      cols: header.cols,
      rows: header.rows,
      scrollback: SCROLLBACK,
      allowProposedApi: true,
      // `clear` pushes the screen into the scrollback instead of wiping it: it was seen.
      scrollOnEraseInDisplay: true,
    });
    this.#term = term;
    this.#buffers = term.buffer;
    this.#anchor = term.registerMarker(0);
    // Erasing the scrollback (ESC [ 3 J, sent by `clear`) or a full reset (ESC c) would
    // drop rows not yet emitted: collect them first, then let the emulator go on.
    term.parser.registerCsiHandler({ final: "J" }, (params) => {
      if (params[0] === 3) this.#collect(this.#times[this.#parsed] ?? 0, true);
      return false;
    });
    term.parser.registerEscHandler({ final: "c" }, () => {
      this.#finalise();
      return false;
    });
  }

  /** The first row not yet emitted (buffer index), or undefined when the anchor was lost. */
  #base(): number | undefined {
    const anchor = this.#anchor;
    return anchor && !anchor.isDisposed ? anchor.line + this.#offset : undefined;
  }

  /**
   * After a piece was parsed (the hot path: no allocation): stamps the rows
   * the cursor crossed; takes what scrolled off once there is a batch of it.
   */
  #afterPiece(us: number): void {
    if (this.#buffers!.active.type !== "normal") return; // the alternate screen is never text
    const buffer = this.#buffers!.normal;
    const cursor = buffer.baseY + buffer.cursorY;
    const base = this.#base() ?? this.#reanchor(cursor, us);
    this.#collector.touch(cursor - base, us);
    // Rows wait in the scrollback and are taken in batches (far fewer, bigger calls).
    if (buffer.baseY - base >= TAKE_ROWS) this.#takeScrolled(cursor, base);
  }

  /** Takes every row that left the screen now (`stamp`: also stamp the cursor's rows). */
  #collect(us: number, stamp: boolean): void {
    if (this.#buffers!.active.type !== "normal") return;
    const buffer = this.#buffers!.normal;
    const cursor = buffer.baseY + buffer.cursorY;
    const base = this.#base() ?? this.#reanchor(cursor, us);
    if (stamp) this.#collector.touch(cursor - base, us);
    if (buffer.baseY > base) this.#takeScrolled(cursor, base);
  }

  /** The anchor was lost: a new one on the first row of the buffer; returns its row. */
  #reanchor(cursor: number, us: number): number {
    this.#anchor = this.#term!.registerMarker(-cursor);
    this.#offset = 0;
    const base = this.#anchor?.line ?? 0;
    this.#collector.reset(cursor - base, us);
    return base;
  }

  #takeScrolled(cursor: number, base: number): void {
    const buffer = this.#buffers!.normal;
    this.#rows ??= new Rows(buffer);
    const { lines, rows } = this.#collector.take(
      rowsOf(buffer, base, this.#rows),
      buffer.baseY - base,
    );
    this.#emit(lines);
    this.#offset += rows;
    // The anchor row drifts up towards the top of the scrollback: move it now and then.
    if (this.#offset > SCROLLBACK / 4) {
      this.#anchor?.dispose();
      this.#anchor = this.#term!.registerMarker(base + rows - cursor);
      this.#offset = 0;
    }
  }

  /** Emits every row of the normal buffer left (the screen as it was last seen). */
  #finalise(): void {
    const term = this.#term!;
    const buffer = term.buffer.normal;
    const base = this.#base() ?? 0;
    const { lines } = this.#collector.take(rowsOf(buffer, base), buffer.length - base, true);
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
