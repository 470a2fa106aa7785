/**
 * The player's segmented recording (pure): asciinema-player 3.18 loads a
 * segmented recording as an index (`{version: 1, duration, term, segments:
 * [{start, url}], markers}`) and then only the segments it plays or seeks
 * into (`{snapshot: {cols, rows, init}, events}`), prefetching the next one.
 * Each segment is the byte range between two seek points of the time map
 * (lib/web/timeline.ts); its snapshot rebuilds the screen at its start from
 * the output just before it (the last {@linkcode WINDOW_BYTES} of the
 * recording), so a seek never needs what came long before.
 *
 * Times are the text engine's: microseconds, written as `us / 1e6` seconds
 * both in the index and in the segments, so the player's exact checks (a
 * segment's first event is its start) hold.
 *
 * @module
 */
import { type CastHeader, parseResize } from "../text/mod.ts";
import { MAX_LINE_BYTES, readLineHead, type SeekPoint } from "./timeline.ts";

/** Bytes before a segment whose output rebuilds its first screen. */
export const WINDOW_BYTES = 64 * 1024;

/** One event as the player takes it: seconds, code, data. */
export type PlayerEvent = [number, "o" | "r", string];

/** A segment as the player takes it. */
export interface Segment {
  /** The screen at its start. */
  snapshot: { cols: number; rows: number; init: string };
  /** Its events, times in seconds from the start of the recording. */
  events: PlayerEvent[];
}

/** What {@linkcode buildSegment} needs. */
export interface SegmentInput {
  /** The recording's header. */
  header: CastHeader;
  /** Where the segment starts (segment 0: the first event). */
  point: SeekPoint;
  /** This is segment 0 (its snapshot is the empty screen of the header's size). */
  first: boolean;
  /** The last segment ends with an event at this time (microseconds): the duration. */
  lastUs?: number;
  /** The bytes before the segment (up to {@linkcode WINDOW_BYTES}; may start inside a line). */
  window: Uint8Array;
  /** The segment's bytes: whole lines from `point.byte`. */
  body: Uint8Array;
}

const NEWLINE = 0x0a;
const HASH = 0x23;
const R = 0x72;
const O = 0x6f;

/** Seconds as the player reads them. */
export function seconds(us: number): number {
  return us / 1e6;
}

function* lines(bytes: Uint8Array): Generator<[number, number]> {
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    yield [start, end];
    start = end + 1;
  }
}

function parsed(bytes: Uint8Array, start: number, end: number): unknown[] | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes.subarray(start, end)));
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The output of the window's whole lines, at most `limit` characters (the latest kept). */
function windowOutput(header: CastHeader, window: Uint8Array, limit: number): string {
  const first = window.indexOf(NEWLINE);
  if (first < 0) return "";
  const parts: string[] = [];
  for (const [start, end] of lines(window.subarray(first + 1))) {
    const at = first + 1 + start;
    const stop = first + 1 + end;
    if (header.version === 3 && window[at] === HASH) continue;
    if (readLineHead(window, at, stop)?.code !== O) continue;
    const event = parsed(window, at, stop);
    if (event && event[1] === "o" && typeof event[2] === "string") parts.push(event[2]);
  }
  let size = 0;
  let from = parts.length;
  while (from > 0 && size + parts[from - 1].length <= limit) size += parts[--from].length;
  return parts.slice(from).join("");
}

/**
 * Builds one segment: output and resize events with their times (other
 * events keep the clock going but show nothing; the first and, in the
 * last segment, the final line become empty output so that the player's
 * bounds hold).
 */
export function buildSegment(input: SegmentInput): Segment {
  const { header, point, body } = input;
  const events: PlayerEvent[] = [];
  let clock = point.us;
  let firstLine = true;
  for (const [start, end] of lines(body)) {
    if (end - start > MAX_LINE_BYTES) continue;
    if (header.version === 3 && body[start] === HASH) continue;
    const head = readLineHead(body, start, end);
    if (!head) continue;
    if (firstLine) {
      clock = point.us;
    } else {
      const us = Math.round(head.seconds * 1e6);
      clock = header.version === 3 ? clock + us : Math.max(clock, us);
    }
    const t = seconds(clock);
    let event: PlayerEvent | undefined;
    if (head.code === O || head.code === R) {
      const raw = parsed(body, start, end);
      if (raw && raw[1] === "o" && typeof raw[2] === "string") event = [t, "o", raw[2]];
      if (raw && raw[1] === "r" && typeof raw[2] === "string") {
        const size = parseResize(raw[2]);
        if (size) event = [t, "r", `${size.cols}x${size.rows}`];
      }
    }
    if (event) events.push(event);
    else if (firstLine) events.push([t, "o", ""]);
    firstLine = false;
  }
  if (events.length === 0) events.push([seconds(point.us), "o", ""]);
  if (input.lastUs !== undefined && events[events.length - 1][0] !== seconds(input.lastUs)) {
    events.push([seconds(input.lastUs), "o", ""]);
  }
  const snapshot = input.first ? { cols: header.cols, rows: header.rows, init: "" } : {
    cols: point.cols,
    rows: point.rows,
    init: windowOutput(header, input.window, WINDOW_BYTES),
  };
  return { snapshot, events };
}

/** A recording's index as the player takes it. */
export interface SegmentIndex {
  /** Format version (1). */
  version: 1;
  /** Seconds. */
  duration: number;
  /** The terminal at the start. */
  term: { cols: number; rows: number };
  /** Where each segment starts (seconds) and its URL (relative to the index's). */
  segments: { start: number; url: string }[];
  /** Marked times (search hits) with their labels. */
  markers: [number, string][];
}

/** The seek points that start segments: the first event, then each one before the last event. */
export function segmentStarts(points: readonly SeekPoint[], lastUs: number): SeekPoint[] {
  return points.filter((point, i) => i === 0 || point.us < lastUs);
}

/**
 * The index for segments starting at `starts` (from {@linkcode segmentStarts}),
 * `lastUs` the time of the last event; markers outside the recording are
 * left out.
 */
export function buildIndex(input: {
  header: CastHeader;
  starts: readonly SeekPoint[];
  lastUs: number;
  url: (segment: number) => string;
  markers?: readonly { t: number; label: string }[];
}): SegmentIndex {
  const duration = seconds(input.lastUs);
  const segments = input.starts.length
    ? input.starts.map((point, i) => ({
      start: i === 0 ? 0 : seconds(point.us),
      url: input.url(i),
    }))
    : [{ start: 0, url: input.url(0) }];
  const markers = (input.markers ?? [])
    .filter((marker) => Number.isFinite(marker.t) && marker.t >= 0 && marker.t <= duration)
    .map((marker) => [marker.t, marker.label] as [number, string])
    .sort((a, b) => a[0] - b[0]);
  return {
    version: 1,
    duration,
    term: { cols: input.header.cols, rows: input.header.rows },
    segments,
    markers,
  };
}
