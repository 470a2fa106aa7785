/**
 * Just enough of asciicast for chunking: the header (to tell a recording from
 * any other file), where the last complete line ends, and whether the last
 * line is a v3 exit (`"x"`) event. Chunking itself is byte-based and never
 * parses events. asciicast v1 (asciinema 1.x: one JSON document, written
 * whole when the recording ends) is recognised by its start and backed up as
 * it is: bytes are bytes.
 *
 * @module
 */

/** What the first line of a file says. */
export type HeaderCheck =
  | { kind: "ok"; version: 1 | 2 | 3; header: Record<string, unknown> }
  | { kind: "empty" }
  | { kind: "incomplete" }
  | { kind: "invalid"; reason: string };

/** Longest header line we accept. */
const MAX_HEADER = 64 * 1024;
const NEWLINE = 0x0a;

/** A v1 document: an object whose `version` is 1 (or that holds v1's `stdout` frames). */
const V1_START = /^\s*\{/;
const V1_MARK = /"version"\s*:\s*1\s*[,}]|"stdout"\s*:\s*\[/;

/** Checks the first bytes of a file (`head`, at most {@linkcode MAX_HEADER}). */
export function checkHeaderBytes(head: Uint8Array): HeaderCheck {
  if (head.length === 0) return { kind: "empty" };
  if (head.includes(0)) return { kind: "invalid", reason: "binary content (NUL bytes), not text" };
  const newline = head.indexOf(NEWLINE);
  let text: string;
  try {
    // A character cut at the end of what was read is no error (`stream`).
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      newline < 0 ? head : head.subarray(0, newline),
      { stream: newline < 0 },
    );
  } catch {
    return { kind: "invalid", reason: "binary content (not UTF-8 text)" };
  }
  const whole = newline < 0 ? text : new TextDecoder().decode(head);
  if (
    V1_START.test(whole) && V1_MARK.test(whole) && !/^\s*\{\s*"version"\s*:\s*[23]\b/.test(text)
  ) {
    return { kind: "ok", version: 1, header: {} };
  }
  if (newline < 0) {
    if (head.length >= MAX_HEADER) {
      return { kind: "invalid", reason: "first line longer than 64 KiB" };
    }
    return { kind: "incomplete" };
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "first line is not a JSON asciicast header" };
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    return { kind: "invalid", reason: "first line is not a JSON object" };
  }
  const version = (header as Record<string, unknown>).version;
  if (version !== 2 && version !== 3) {
    return {
      kind: "invalid",
      reason: `unsupported asciicast version ${JSON.stringify(version)} (1, 2 and 3 are supported)`,
    };
  }
  return { kind: "ok", version, header: header as Record<string, unknown> };
}

/** Reads and checks the header line of the file at `path`. */
export async function checkHeader(path: string): Promise<HeaderCheck> {
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(MAX_HEADER);
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
      if (buffer.subarray(filled - n, filled).includes(NEWLINE)) break;
    }
    return checkHeaderBytes(buffer.subarray(0, filled));
  } finally {
    file.close();
  }
}

/**
 * Offset just past the last newline in `[from, limit)` of `file`, or -1 when
 * that span holds none. Reads backwards in blocks.
 */
export async function lastNewlineEnd(
  file: Deno.FsFile,
  range: { from: number; limit: number },
): Promise<number> {
  const block = 64 * 1024;
  const buffer = new Uint8Array(block);
  let hi = range.limit;
  while (hi > range.from) {
    const lo = Math.max(range.from, hi - block);
    await file.seek(lo, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < hi - lo) {
      const n = await file.read(buffer.subarray(filled, hi - lo));
      if (n === null) break;
      filled += n;
    }
    const index = buffer.subarray(0, filled).lastIndexOf(NEWLINE);
    if (index >= 0) return lo + index + 1;
    hi = lo;
  }
  return -1;
}

/** Offset just past the first newline in `[from, limit)`, or -1. Reads forwards. */
export async function firstNewlineEnd(
  file: Deno.FsFile,
  range: { from: number; limit: number },
): Promise<number> {
  const block = 64 * 1024;
  const buffer = new Uint8Array(block);
  let lo = range.from;
  await file.seek(lo, Deno.SeekMode.Start);
  while (lo < range.limit) {
    const want = Math.min(block, range.limit - lo);
    const n = await file.read(buffer.subarray(0, want));
    if (n === null) break;
    const index = buffer.subarray(0, n).indexOf(NEWLINE);
    if (index >= 0) return lo + index + 1;
    lo += n;
  }
  return -1;
}

const EXIT_EVENT = /^\[\s*-?[0-9.eE+-]+\s*,\s*"x"\s*,/;

/** True when `text` (the end of a file) ends with an asciicast v3 exit event line. */
function lastLineIsExit(text: string): boolean {
  const trimmed = text.replace(/\n+$/, "");
  return EXIT_EVENT.test(trimmed.slice(trimmed.lastIndexOf("\n") + 1));
}

/**
 * True when the last complete line before `size` is an asciicast v3 exit
 * event. Synchronous calls: reading 4 KiB of a local file this way costs a fraction of the four thread-pool round trips
 * of the async calls, which matters when a busy terminal is checked several
 * times a second.
 */
export function endsWithExitEventSync(path: string, size: number): boolean {
  if (size <= 0) return false;
  const file = Deno.openSync(path, { read: true });
  try {
    const span = Math.min(size, 4096);
    const buffer = new Uint8Array(span);
    file.seekSync(size - span, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < span) {
      const n = file.readSync(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return lastLineIsExit(new TextDecoder().decode(buffer.subarray(0, filled)));
  } finally {
    file.close();
  }
}
