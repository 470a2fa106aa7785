/**
 * What the player loads, read from the branch: a recording's time map
 * (lib/web/timeline.ts), made by reading it once through the restore's
 * checked path (lib/branch/recording_bytes.ts: decrypted, decompressed,
 * each chunk against its `Cast-Sha256`) in the background, and then its
 * segments, each read from the chunks that hold it and nothing else.
 *
 * The map grows while it is made: an index asked for early describes the
 * part read so far (`complete: false`), so a big recording starts playing
 * before it was read to its end. A recording still being made grows the
 * same way when new chunks arrive. At most {@linkcode SCANS} maps are made
 * at once; the maps of the last {@linkcode KEPT} recordings are kept.
 *
 * @module
 */
import { streamRecordingBytes } from "../branch/mod.ts";
import type { ChunkEntry } from "../git/mod.ts";
import type { Identities } from "../crypto/mod.ts";
import { errorMessage } from "../sys/mod.ts";
import { type BranchState, withView } from "./branches.ts";
import { TimeScanner } from "./timeline.ts";
import {
  buildIndex,
  buildSegment,
  type Segment,
  type SegmentIndex,
  segmentStarts,
  WINDOW_BYTES,
} from "./segments.ts";

/** Maps made at once. */
const SCANS = 2;
/** Recordings whose maps are kept. */
const KEPT = 32;
/** A map whose reading failed is read again (from the start) at most this often. */
const RETRY_MS = 10_000;
/** A segment bigger than this is cut (a recording without time between its lines). */
const MAX_SEGMENT_BYTES = 64 << 20;

/** How far a recording's map got. */
export interface MapStatus {
  /** Bytes read. */
  scanned: number;
  /** Bytes on the branch (the last pushed byte). */
  total: number;
  /** Read to the last pushed byte. */
  caughtUp: boolean;
  /** The recording ended (it has a manifest) and was read whole. */
  complete: boolean;
  /** Seconds up to the last event read. */
  duration: number;
  /** Why reading stopped. */
  error?: string;
}

interface MapEntry {
  key: string;
  scanner: TimeScanner;
  /** Bytes on the branch when the scan was last (re)started. */
  target: number;
  ended: boolean;
  running?: Promise<void>;
  error?: string;
  /** When reading last failed (monotonic ms). */
  failedAt: number;
  listeners: Set<() => void>;
}

function entriesOf(state: BranchState, id: string): ChunkEntry[] {
  return state.index?.chunks.get(id) ?? [];
}

function endOf(state: BranchState, id: string): number {
  return entriesOf(state, id).reduce((max, entry) => Math.max(max, entry.end), 0);
}

/** Options of {@linkcode PlayerData}. */
export interface PlayerDataOptions {
  /** Identities for encrypted recordings (the viewer's; never sent to the browser). */
  identities?: Identities;
  /** Stops everything. */
  signal?: AbortSignal;
  /** Bytes between seek points (default 1 MiB). */
  spacing?: number;
}

/** The time maps and segments of the recordings the viewer plays. */
export class PlayerData {
  #options: PlayerDataOptions;
  #maps = new Map<string, MapEntry>();
  #running = 0;
  #queue: (() => void)[] = [];

  constructor(options: PlayerDataOptions = {}) {
    this.#options = options;
  }

  #keyOf(state: BranchState, id: string): string {
    return `${state.remote.key}\u0000${id}`;
  }

  /** The map of `id`, started or extended to what `state` holds. */
  #map(state: BranchState, id: string): MapEntry {
    const key = this.#keyOf(state, id);
    let entry = this.#maps.get(key);
    if (entry) {
      this.#maps.delete(key);
      this.#maps.set(key, entry);
    } else {
      entry = {
        key,
        scanner: new TimeScanner({ spacing: this.#options.spacing }),
        target: 0,
        ended: false,
        failedAt: -Infinity,
        listeners: new Set(),
      };
      this.#maps.set(key, entry);
      for (const [old, kept] of this.#maps) {
        if (this.#maps.size <= KEPT) break;
        if (!kept.running) this.#maps.delete(old);
      }
    }
    const end = endOf(state, id);
    const ended = state.index?.manifests.has(id) ?? false;
    const retry = entry.error !== undefined && end > 0 &&
      performance.now() - entry.failedAt >= RETRY_MS;
    if (!entry.running && ((!entry.error && end > entry.scanner.bytes) || retry)) {
      if (entry.error) {
        entry.scanner = new TimeScanner({ spacing: this.#options.spacing });
        entry.error = undefined;
      }
      entry.target = end;
      entry.ended = ended;
      const running = this.#scan(entry, state, id);
      entry.running = running;
      running.finally(() => {
        if (entry.running === running) entry.running = undefined;
        this.#notify(entry);
      });
    } else if (!entry.running) {
      entry.ended = ended;
    }
    return entry;
  }

  async #slot(): Promise<void> {
    if (this.#running < SCANS) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#running--;
  }

  #notify(entry: MapEntry): void {
    for (const listener of [...entry.listeners]) listener();
  }

  async #scan(entry: MapEntry, state: BranchState, id: string): Promise<void> {
    await this.#slot();
    try {
      await withView(state, async (view) => {
        await streamRecordingBytes(view, id, {
          from: entry.scanner.bytes,
          identities: this.#options.identities,
          signal: this.#options.signal,
          sink: (block) => {
            entry.scanner.push(block);
            this.#notify(entry);
            return Promise.resolve();
          },
        });
      }, { signal: this.#options.signal });
    } catch (error) {
      entry.error = errorMessage(error);
      entry.failedAt = performance.now();
    } finally {
      this.#release();
    }
  }

  /** The header line of `id`, once its map read it. */
  headerLine(state: BranchState, id: string): string | undefined {
    return this.#map(state, id).scanner.headerLine;
  }

  /** Where the map of `id` stands. */
  status(state: BranchState, id: string): MapStatus {
    const entry = this.#map(state, id);
    return this.#status(entry, state, id);
  }

  #status(entry: MapEntry, state: BranchState, id: string): MapStatus {
    const total = endOf(state, id);
    const caughtUp = !entry.running && entry.scanner.bytes >= total && !entry.error;
    return {
      scanned: entry.scanner.bytes,
      total,
      caughtUp,
      complete: caughtUp && entry.ended,
      duration: entry.scanner.us / 1e6,
      ...(entry.error ? { error: entry.error } : {}),
    };
  }

  /**
   * Waits until the map of `id` is caught up (or reading stopped), but no
   * longer than `waitMs` once it holds its first event and reaches
   * `untilSeconds` (a big recording starts playing before it was read whole).
   */
  async ready(
    state: BranchState,
    id: string,
    options: { waitMs: number; untilSeconds?: number },
  ): Promise<MapStatus> {
    const entry = this.#map(state, id);
    const started = performance.now();
    const done = () => {
      if (!entry.running || entry.error) return true;
      if (entry.scanner.points.length === 0) return false;
      if ((options.untilSeconds ?? 0) > entry.scanner.us / 1e6) return false;
      return performance.now() - started >= options.waitMs;
    };
    if (!done()) {
      await new Promise<void>((resolve) => {
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          entry.listeners.delete(check);
          resolve();
        };
        const timer = setTimeout(check, options.waitMs);
        entry.listeners.add(check);
      });
    }
    return this.#status(entry, state, id);
  }

  /**
   * The player's index of `id` as far as its map goes; segment URLs come
   * from `url(n, to, lastUs)` (`lastUs` only for the last segment).
   */
  index(
    state: BranchState,
    id: string,
    options: {
      url: (segment: number, to: number, lastUs?: number) => string;
      markers?: { t: number; label: string }[];
    },
  ): (SegmentIndex & { complete: boolean }) | undefined {
    const entry = this.#map(state, id);
    const { scanner } = entry;
    if (!scanner.header) return undefined;
    const starts = segmentStarts(scanner.points, scanner.us);
    const bytes = scanner.bytes;
    const index = buildIndex({
      header: scanner.header,
      starts,
      lastUs: scanner.us,
      markers: options.markers,
      url: (n) =>
        n + 1 < starts.length
          ? options.url(n, starts[n + 1].byte)
          : options.url(n, bytes, scanner.us),
    });
    return { ...index, complete: this.#status(entry, state, id).complete };
  }

  /**
   * Segment `n` of `id`: the bytes from its seek point up to `to` (an end
   * the index gave), with the window before it for its snapshot; `lastUs`
   * for the last segment. Undefined when the map does not know segment `n`.
   */
  async segment(
    state: BranchState,
    id: string,
    request: { n: number; to: number; lastUs?: number },
  ): Promise<Segment | undefined> {
    const entry = this.#map(state, id);
    const { scanner } = entry;
    // The starts the index that named this segment had (points only ever add later ones).
    const starts = segmentStarts(scanner.points, request.lastUs ?? scanner.us);
    const header = scanner.header;
    if (!header) return undefined;
    const point = starts[request.n] ??
      (request.n === 0
        ? { byte: scanner.bytes, us: 0, cols: header.cols, rows: header.rows }
        : undefined);
    if (!point) return undefined;
    const nextByte = starts[request.n + 1]?.byte ?? scanner.bytes;
    if (request.to < point.byte || request.to > nextByte) return undefined;
    const to = Math.min(request.to, point.byte + MAX_SEGMENT_BYTES);
    const windowStart = request.n === 0 ? point.byte : Math.max(0, point.byte - WINDOW_BYTES);
    const bytes = await readRange(state, id, windowStart, to, this.#options);
    const split = point.byte - windowStart;
    return buildSegment({
      header,
      point,
      first: request.n === 0,
      lastUs: request.lastUs,
      window: bytes.subarray(0, split),
      body: bytes.subarray(split),
    });
  }
}

/**
 * Bytes `[from, to)` of recording `id`, read from the chunks that hold them
 * (through the restore's checked path) and nothing more.
 */
export async function readRange(
  state: BranchState,
  id: string,
  from: number,
  to: number,
  options: { identities?: Identities; signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  const out = new Uint8Array(Math.max(0, to - from));
  if (to <= from) return out;
  const first = entriesOf(state, id).find((entry) => entry.start <= from && from < entry.end);
  let at = first?.start ?? from;
  await withView(state, (view) =>
    streamRecordingBytes(view, id, {
      from: at,
      until: to,
      identities: options.identities,
      signal: options.signal,
      sink: (block) => {
        const start = Math.max(from, at);
        const end = Math.min(to, at + block.length);
        if (end > start) out.set(block.subarray(start - at, end - at), start - from);
        at += block.length;
        return Promise.resolve();
      },
    }), options);
  return out;
}
