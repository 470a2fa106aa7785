/**
 * The model: for every incarnation of every recording file, the bytes the
 * harness wrote, in order. An incarnation is one file's life under one name:
 * created, replaced by rename, truncated and rewritten, or recreated after rm
 * each start a new one, with a header line no other incarnation has.
 *
 * @module
 */
import type { AppendShape } from "./ops.ts";
import type { Prng } from "./prng.ts";

const encoder = new TextEncoder();

/** One incarnation of a recording file. */
export interface Incarnation {
  /** Index in {@linkcode Model.incarnations}. */
  index: number;
  /** Recording name (file name without `.cast`). */
  rec: string;
  /** How it came to be. */
  origin: "create" | "recreate" | "reuse" | "replace" | "rewrite";
  /** asciicast version of its header. */
  version: 2 | 3;
  /** Its first line (unique across the sequence), without the newline. */
  header: string;
  /** Everything written so far. */
  parts: Uint8Array[];
  /** Bytes written so far. */
  length: number;
  /** The rest of a partial last line, written by the next write. */
  pending: Uint8Array | null;
  /** Seconds on the recording's clock (absolute for v2 events). */
  time: number;
  /** Set once it is finished (exit event or `ended`): it must reach done/. */
  ended: boolean;
  /** The `.json` beside it when it ended (must reach done/ byte-identical), or null. */
  json: string | null;
  /** False once another incarnation took its name (or it was removed). */
  current: boolean;
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What the harness wrote, per incarnation and per recording name. */
export class Model {
  /** Every incarnation, in creation order. */
  readonly incarnations: Incarnation[] = [];
  /** The incarnation each name holds now (absent: removed or never created). */
  readonly current = new Map<string, Incarnation>();
  /** The `.json` text each name has in active/ now. */
  readonly json = new Map<string, string>();
  readonly #tag: string;

  /** `tag` goes into every header (the seed, so that stray files are recognisable). */
  constructor(tag: string) {
    this.#tag = tag;
  }

  /** Starts a new incarnation of `rec`; returns it with its header already written. */
  begin(
    rec: string,
    options: { version: 2 | 3; origin: Incarnation["origin"] },
  ): Incarnation {
    const previous = this.current.get(rec);
    if (previous) previous.current = false;
    const index = this.incarnations.length;
    const title = `${this.#tag} ${rec} #${index}`;
    const timestamp = 1_760_000_000 + index;
    const header = options.version === 2
      ? JSON.stringify({ version: 2, width: 80, height: 24, timestamp, title })
      : JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp, title });
    const inc: Incarnation = {
      index,
      rec,
      origin: options.origin,
      version: options.version,
      header,
      parts: [],
      length: 0,
      pending: null,
      time: 0,
      ended: false,
      json: null,
      current: true,
    };
    this.incarnations.push(inc);
    this.current.set(rec, inc);
    write(inc, encoder.encode(header + "\n"));
    return inc;
  }

  /** Marks `rec`'s incarnation as removed from active/. */
  remove(rec: string): void {
    const inc = this.current.get(rec);
    if (inc) inc.current = false;
    this.current.delete(rec);
  }
}

/** Records `bytes` as written to `inc`; returns them. */
export function write(inc: Incarnation, bytes: Uint8Array): Uint8Array {
  inc.parts.push(bytes);
  inc.length += bytes.length;
  return bytes;
}

/** The full content of `inc`. */
export function contentOf(inc: Incarnation): Uint8Array {
  return concat(inc.parts);
}

const TEXT = [
  "a",
  "b",
  "z",
  " ",
  "0",
  "$ ",
  "é",
  "日本",
  "─",
  "\u001b[1;31m",
  "\u001b[0m",
  "\r\n",
  "\t",
  '"',
  "\\",
];

function text(random: Prng, length: number): string {
  let out = "";
  while (out.length < length) out += random.pick(TEXT);
  return out;
}

/** One event line (with its newline) continuing `inc`'s clock. */
export function eventLine(inc: Incarnation, random: Prng, options: { big?: boolean } = {}): string {
  if (inc.version === 3 && random.chance(0.05)) return `# note ${text(random, 8)}\n`;
  const interval = Math.round(random.next() * 1500) / 1000;
  inc.time = Math.round((inc.time + interval) * 1000) / 1000;
  const at = inc.version === 2 ? inc.time : interval;
  const code = random.weighted({ o: 20, i: 2, m: 1, r: 1 });
  const data = options.big
    ? text(random, random.int(1100, 2600))
    : code === "r"
    ? `${random.int(20, 200)}x${random.int(5, 60)}`
    : text(random, random.int(1, 70));
  return JSON.stringify([at, code, data]) + "\n";
}

/**
 * The bytes of one append to `inc` (the rest of a pending partial line
 * first); records them in the model and returns them.
 */
export function appendBytes(inc: Incarnation, random: Prng, shape: AppendShape): Uint8Array {
  const bigAt = shape.big ? random.int(0, shape.lines - 1) : -1;
  let lines = "";
  for (let i = 0; i < shape.lines; i++) lines += eventLine(inc, random, { big: i === bigAt });
  const body = encoder.encode(lines);
  const head = inc.pending ?? new Uint8Array();
  inc.pending = null;
  let bytes = concat([head, body]);
  if (shape.partial && body.length > 1) {
    // Cut anywhere in the last line, even inside a UTF-8 sequence.
    const lastLine = body.lastIndexOf(10, body.length - 2) + 1;
    const cut = head.length + random.int(lastLine, body.length - 2) + 1;
    inc.pending = bytes.slice(cut);
    bytes = bytes.slice(0, cut);
  }
  return write(inc, bytes);
}

/** The bytes that complete a pending partial line (empty when there is none). */
export function completeLine(inc: Incarnation): Uint8Array {
  const bytes = inc.pending ?? new Uint8Array();
  inc.pending = null;
  return write(inc, bytes);
}

/** The v3 exit event line, after completing any partial line. */
export function exitBytes(inc: Incarnation): Uint8Array {
  const head = inc.pending ?? new Uint8Array();
  inc.pending = null;
  return write(inc, concat([head, encoder.encode(`[0.1, "x", "0"]\n`)]));
}
