/**
 * What `play` hands to `asciinema play` (pure): asciicast v2 — asciinema 2.x
 * plays nothing newer — made from a v1, v2 or v3 recording, output events
 * only (a v1 document comes out whole at {@linkcode PlaybackStream.end}).
 *
 * Following a recording that is still being made, the player reads its
 * standard input as it grows, and its clock started when it did. So what was
 * on the branch when it started is shown at once (time 0), and each batch
 * of events that arrives later is shifted to start "now" on the player's
 * clock (or right after the previous batch, while that is still playing),
 * keeping the gaps between its events: the session plays live, behind by
 * the time its chunks took to reach the branch. The header drops
 * `idle_time_limit` there (the player would shorten the wait for a batch
 * and then rush the batch).
 *
 * @module
 */
import {
  type CastEvent,
  CastFormatError,
  type CastHeader,
  EventParser,
  parseCastHeader,
  V1Document,
  v2EventLine,
} from "./events.ts";

/** Options of {@linkcode PlaybackStream}. */
export interface PlaybackOptions {
  /** Live: batches are timed from when they arrive (see the module). */
  follow: boolean;
}

/** Turns a recording's lines into the asciicast v2 text the player reads. */
export class PlaybackStream {
  #follow: boolean;
  #parser?: EventParser;
  #v1?: V1Document;
  #last = 0;
  #shift: number | undefined;

  constructor(options: PlaybackOptions) {
    this.#follow = options.follow;
  }

  /** The recording's header, once read. */
  get header(): CastHeader | undefined {
    return this.#parser?.header;
  }

  /**
   * Converts the next lines of the recording. `now` is the player's clock
   * (seconds since it started) for a batch that arrived live; undefined for
   * what was there before it started (played at once when following, at its
   * own pace otherwise).
   */
  convert(lines: string[], now?: number): string {
    let out = "";
    let shifted = false;
    for (const line of lines) {
      if (this.#v1) {
        this.#v1.push(line);
        continue;
      }
      if (!this.#parser) {
        if (line.trim() === "") continue;
        let header: CastHeader;
        try {
          header = parseCastHeader(line);
        } catch (error) {
          if (!(error instanceof CastFormatError) || !V1Document.opens(line)) throw error;
          this.#v1 = new V1Document();
          this.#v1.push(line);
          continue;
        }
        this.#parser = new EventParser(header);
        out += this.#header(line, header) + "\n";
        continue;
      }
      const event = this.#parser.parse(line);
      if (!event || event.kind !== "output") continue;
      out += this.#line(event, now, shifted);
      shifted = true;
    }
    return out;
  }

  /** What is left at the end of the recording: a whole v1 document, converted. */
  end(now?: number): string {
    const v1 = this.#v1;
    if (!v1) return "";
    this.#v1 = undefined;
    const { header, events } = v1.parse();
    let out = this.#header("{}", header) + "\n";
    let shifted = false;
    for (const event of events) {
      if (event.kind !== "output") continue;
      out += this.#line(event, now, shifted);
      shifted = true;
    }
    return out;
  }

  /** One output event as a v2 line (`shifted`: this batch's shift is already set). */
  #line(
    event: Extract<CastEvent, { kind: "output" }>,
    now: number | undefined,
    shifted: boolean,
  ): string {
    let us = event.us;
    if (this.#follow) {
      if (now === undefined) {
        us = 0;
      } else {
        if (!shifted) {
          // Continues the last batch's timing while the player is still busy with it;
          // starts at "now" once it caught up.
          const fresh = Math.round(now * 1e6) - event.us;
          this.#shift = this.#shift === undefined ? fresh : Math.max(this.#shift, fresh);
        }
        us = event.us + this.#shift!;
      }
      us = Math.max(us, this.#last);
    }
    this.#last = us;
    return v2EventLine(us, "o", event.data) + "\n";
  }

  #header(line: string, header: CastHeader): string {
    const raw = JSON.parse(line) as Record<string, unknown>;
    const out: Record<string, unknown> = {
      version: 2,
      width: header.cols,
      height: header.rows,
    };
    if (header.timestamp !== undefined) out.timestamp = header.timestamp;
    const idle = raw.idle_time_limit ?? raw.idleTimeLimit;
    if (!this.#follow && typeof idle === "number") out.idle_time_limit = idle;
    if (typeof raw.title === "string") out.title = raw.title;
    return JSON.stringify(out);
  }
}
