/**
 * The text index of a recording (pure): what `recordings/<id>/text.zst` holds
 * once decompressed. Lines of UTF-8 text, each ending in `\n`:
 *
 * ```
 * asciinema-chunker-text<TAB>1<TAB>{"id":"…","bytes":123,"cols":80,"rows":24,"timestamp":…}
 * 0.512<TAB>$ echo hello
 * 0.514<TAB>hello
 * ```
 *
 * The first line names the format, its version (readers refuse another) and
 * a JSON object about the rendition (`bytes`: how much of the `.cast` was
 * rendered; `timestamp`: the header's start time). Every other line is the
 * time (seconds into the recording, three decimals) of one line of text,
 * a tab, and the text with `\` `\t` `\n` `\r` escaped as `\\` `\t` `\n` `\r`.
 * Lines are in screen order, so a reader streams it front to back.
 *
 * @module
 */
import { KindedError } from "../sys/mod.ts";

/** The format's name (first field of the first line). */
const INDEX_FORMAT = "asciinema-chunker-text";
/** The format's version; a reader refuses any other. */
export const INDEX_VERSION = 1;
/** The index's file name on the branch, beside the manifest (before any payload suffix). */
export const INDEX_NAME = "text.zst";

/** Where recording `id`'s index goes on the branch (`suffix`: the payload codec's, e.g. `.age`). */
export function textIndexPathOnBranch(id: string, suffix = ""): string {
  return `recordings/${id}/${INDEX_NAME}${suffix}`;
}

/** What the first line says about the rendition. */
export interface IndexMeta {
  /** Recording id. */
  id: string;
  /** Bytes of the `.cast` rendered (the whole recording: the manifest's `total_bytes`). */
  bytes: number;
  /** Terminal size from the header. */
  cols: number;
  /** See cols. */
  rows: number;
  /** Start of the recording (Unix seconds) from the header, when it has one. */
  timestamp?: number;
}

/** One line of text in the index. */
export interface IndexLine {
  /** Seconds into the recording (three decimals). */
  t: number;
  text: string;
}

/** An index that is not this format or version. */
export class IndexFormatError extends KindedError<"format"> {
  /** Creates the error (kind `format`: not this format or version). */
  constructor(message: string) {
    super("format", message);
  }
}

/** Microseconds to the index's time: seconds, rounded to the millisecond. */
export function indexTime(us: number): number {
  return Math.round(us / 1000) / 1000;
}

/** The text as the index stores it (`\` `\t` `\n` `\r` escaped). */
export function escapeText(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(
      /[\\\t\n\r]/g,
      (ch) => ch === "\\" ? "\\\\" : ch === "\t" ? "\\t" : ch === "\n" ? "\\n" : "\\r",
    )
    : text;
}

function unescapeText(text: string): string {
  return text.includes("\\")
    ? text.replace(
      /\\(.)/g,
      (_, ch: string) => ch === "t" ? "\t" : ch === "n" ? "\n" : ch === "r" ? "\r" : ch,
    )
    : text;
}

/** The first line (with its newline). */
export function encodeIndexHeader(meta: IndexMeta): string {
  return `${INDEX_FORMAT}\t${INDEX_VERSION}\t${JSON.stringify(meta)}\n`;
}

/** One text line (with its newline). */
export function encodeIndexLine(line: IndexLine): string {
  return `${line.t.toFixed(3)}\t${escapeText(line.text)}\n`;
}

/** Parses the first line; throws {@linkcode IndexFormatError}. */
export function decodeIndexHeader(line: string): IndexMeta {
  const [format, version, json] = line.split("\t", 3);
  if (format !== INDEX_FORMAT) throw new IndexFormatError("not an asciinema-chunker text index");
  if (version !== String(INDEX_VERSION)) {
    throw new IndexFormatError(
      `text index version ${version} (this version reads ${INDEX_VERSION}): run \`daemon.ts reindex --force\``,
    );
  }
  let meta: unknown;
  try {
    meta = JSON.parse(json ?? "");
  } catch {
    throw new IndexFormatError("the text index's first line holds no JSON");
  }
  const m = meta as Partial<IndexMeta>;
  if (typeof m?.id !== "string" || typeof m.bytes !== "number") {
    throw new IndexFormatError("the text index's first line misses id or bytes");
  }
  return meta as IndexMeta;
}

/** Parses one text line; throws {@linkcode IndexFormatError}. */
function decodeIndexLine(line: string): IndexLine {
  const tab = line.indexOf("\t");
  const t = tab > 0 ? Number(line.slice(0, tab)) : NaN;
  if (!Number.isFinite(t)) {
    throw new IndexFormatError(`not a text index line: ${line.slice(0, 80)}`);
  }
  return { t, text: unescapeText(line.slice(tab + 1)) };
}

/**
 * Lines a reader does not need decoded (a search that knows no line of the
 * region can match): `skip` is asked about each region of whole lines (as
 * stored, escaped); for a region it skips, only `keep` lines at each end are
 * decoded (context for the lines around it).
 */
export interface LineFilter {
  /** True when no line of `region` (stored text, `\n`-separated) is wanted. */
  skip: (region: string) => boolean;
  /** Lines decoded at each end of a skipped region. */
  keep: number;
}

/** What one block of the index gave. */
export interface IndexBatch {
  /** The lines decoded, in order. */
  lines: IndexLine[];
  /** A region after `lines` that was skipped: how many lines, and the ones at its ends. */
  skipped?: { count: number; head: IndexLine[]; tail: IndexLine[] };
}

function countLines(region: string): number {
  let count = 1;
  for (let at = region.indexOf("\n"); at >= 0; at = region.indexOf("\n", at + 1)) count++;
  return count;
}

function headLines(region: string, keep: number): IndexLine[] {
  const out: IndexLine[] = [];
  let start = 0;
  while (out.length < keep) {
    const end = region.indexOf("\n", start);
    out.push(decodeIndexLine(region.slice(start, end < 0 ? undefined : end)));
    if (end < 0) break;
    start = end + 1;
  }
  return out;
}

function tailLines(region: string, keep: number): IndexLine[] {
  const out: IndexLine[] = [];
  let end = region.length;
  while (out.length < keep) {
    const start = region.lastIndexOf("\n", end - 1);
    out.unshift(decodeIndexLine(region.slice(start + 1, end)));
    if (start < 0) break;
    end = start;
  }
  return out;
}

/** The longest line an index may hold (a rendered line; longer is a damaged or hostile index). */
export const MAX_INDEX_LINE = 16 << 20;

/**
 * The most a text index may decompress to for a recording of `totalBytes`:
 * rendered text can outgrow the output it came from (a cursor jump of a few
 * bytes fills a row with spaces), but not by more than a row per event.
 */
export function maxIndexBytes(totalBytes: number): number {
  return 64 * totalBytes + (16 << 20);
}

/**
 * Reads an index streamed as text blocks: `push` returns the lines complete
 * so far (a region a filter skips only counted), `end` the last one; `meta`
 * is set once the first line was read.
 */
export class IndexDecoder {
  /** The first line's contents (after the first `push` that completed it). */
  meta?: IndexMeta;
  /** The unfinished line, in the parts it came in (joined once, when it ends: linear). */
  #parts: string[] = [];
  #partsLength = 0;

  /** Takes the next block of text. */
  push(block: string, filter?: LineFilter): IndexBatch {
    const last = block.lastIndexOf("\n");
    if (last < 0) {
      this.#partsLength += block.length;
      if (this.#partsLength > MAX_INDEX_LINE) {
        throw new IndexFormatError(
          `a line of the text index is longer than ${MAX_INDEX_LINE} characters`,
        );
      }
      this.#parts.push(block);
      return { lines: [] };
    }
    const text = this.#parts.join("") + block.slice(0, last + 1);
    this.#parts = [block.slice(last + 1)];
    this.#partsLength = this.#parts[0].length;
    return this.#lines(text.slice(0, -1), filter);
  }

  #lines(complete: string, filter?: LineFilter): IndexBatch {
    let region = complete;
    if (!this.meta) {
      const newline = region.indexOf("\n");
      this.meta = decodeIndexHeader(newline < 0 ? region : region.slice(0, newline));
      if (newline < 0) return { lines: [] };
      region = region.slice(newline + 1);
    }
    if (filter && filter.skip(region)) {
      const count = countLines(region);
      if (count > 2 * filter.keep) {
        return {
          lines: [],
          skipped: {
            count,
            head: headLines(region, filter.keep),
            tail: tailLines(region, filter.keep),
          },
        };
      }
    }
    return { lines: region.split("\n").map(decodeIndexLine) };
  }

  /** Ends the input; throws when it held no header. */
  end(): IndexLine[] {
    const rest = this.#parts.join("");
    this.#parts = [];
    this.#partsLength = 0;
    if (!this.meta) {
      if (!rest) throw new IndexFormatError("the text index is empty");
      this.meta = decodeIndexHeader(rest);
      return [];
    }
    return rest ? [decodeIndexLine(rest)] : [];
  }
}
