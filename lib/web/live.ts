/**
 * Watching a recording while it is being made: `play --follow`'s way
 * (lib/text/follow.ts fetches the branch every interval and hands on the
 * chunks that arrived; lib/text/playback.ts times each batch from when it
 * arrived) as a server-sent event stream for the player's `eventsource`
 * driver. The stream starts with the screen as the last pushed output left
 * it (`{cols, rows, init}`, from the last chunks only, never the whole
 * recording), then one `[seconds, "o", data]` message per output event,
 * and `event: done` once the recording ended and every byte was sent.
 *
 * @module
 */
import type { BranchSourceOptions } from "../branch/mod.ts";
import type { ChunkEntry } from "../git/mod.ts";
import { errorMessage } from "../sys/mod.ts";
import {
  EventParser,
  followRecording,
  LineSplitter,
  parseCastHeader,
  PlaybackStream,
} from "../text/mod.ts";
import { WINDOW_BYTES } from "./segments.ts";

/** Where following starts: the chunk boundary at least `window` bytes before the end. */
export function followStart(entries: readonly ChunkEntry[], window = WINDOW_BYTES): number {
  const sorted = [...entries].sort((a, b) => a.start - b.start);
  const end = sorted.reduce((max, entry) => Math.max(max, entry.end), 0);
  let from = end;
  for (let i = sorted.length - 1; i >= 0 && end - from < window; i--) from = sorted[i].start;
  return from;
}

/** Options of {@linkcode liveStream}. */
export interface LiveOptions extends BranchSourceOptions {
  /** The recording. */
  id: string;
  /** Its header line (the stream starts past it). */
  headerLine: string;
  /** Where to start (a chunk boundary: {@linkcode followStart}). */
  from: number;
  /** Time between fetches. */
  intervalMs: number;
  /** Comment lines that keep the connection open (default every 15 s). */
  keepAliveMs?: number;
  /** Called once when the stream ends, whichever way. */
  onEnd?: () => void;
}

const encoder = new TextEncoder();

function message(data: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(data)}\n\n`);
}

/**
 * The event stream of one watcher. Cancelling it (the browser went away)
 * stops the follow.
 */
export function liveStream(options: LiveOptions): ReadableStream<Uint8Array> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const header = parseCastHeader(options.headerLine);
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (bytes: Uint8Array) => {
        if (!signal.aborted) controller.enqueue(bytes);
      };
      keepAlive = setInterval(
        () => send(encoder.encode(": keep-alive\n\n")),
        options.keepAliveMs ?? 15_000,
      );
      const splitter = new LineSplitter();
      const playback = new PlaybackStream({ follow: true });
      playback.convert([options.headerLine]);
      const initial = new EventParser(header);
      let screen: string[] = [];
      let screenSize = 0;
      let started: number | undefined;
      const begin = () => {
        if (started !== undefined) return;
        send(message({ cols: header.cols, rows: header.rows, init: screen.join("") }));
        screen = [];
        started = performance.now();
      };
      const run = async () => {
        try {
          const result = await followRecording(options.id, {
            ...options,
            signal,
            from: options.from,
            intervalMs: options.intervalMs,
            onBytes: (block, live) => {
              const lines = splitter.push(block);
              if (!live) {
                for (const line of lines) {
                  const event = initial.parse(line);
                  if (event?.kind !== "output") continue;
                  screen.push(event.data);
                  screenSize += event.data.length;
                  while (screenSize > WINDOW_BYTES && screen.length > 1) {
                    screenSize -= screen.shift()!.length;
                  }
                }
                return Promise.resolve();
              }
              begin();
              const now = (performance.now() - started!) / 1000;
              for (const line of playback.convert(lines, now).split("\n")) {
                if (line) send(message(JSON.parse(line)));
              }
              return Promise.resolve();
            },
            onRetry: () => {},
            onRead: begin,
          });
          begin();
          if (result.complete) send(encoder.encode("event: done\ndata: {}\n\n"));
        } catch (error) {
          if (!signal.aborted) {
            begin();
            send(
              encoder.encode(`event: problem\ndata: ${JSON.stringify(errorMessage(error))}\n\n`),
            );
          }
        } finally {
          clearInterval(keepAlive);
          options.onEnd?.();
          if (!stop.signal.aborted) {
            try {
              controller.close();
            } catch {
              // closed already
            }
          }
        }
      };
      run().catch(() => {});
    },
    cancel() {
      clearInterval(keepAlive);
      options.onEnd?.();
      stop.abort(new Error("the viewer went away"));
    },
  });
}
