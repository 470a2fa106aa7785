/**
 * Handcrafted recordings for the text tests: one terminal session written as
 * asciicast v2 (absolute times) and as v3 (intervals, comment lines), with
 * the things that make terminal output unlike text.
 *
 * @module
 */
import { indexTime, renderFeed, type TextLine } from "../../lib/text/mod.ts";

/** One output event: seconds since the start, and what was written. */
export type Event = [number, string];

/** asciicast v2 text of `events` (output only, plus resizes as `[t, "r", "CxR"]`). */
export function v2Cast(
  events: (Event | [number, "r", string])[],
  size: { cols?: number; rows?: number; timestamp?: number } = {},
): string {
  const header = {
    version: 2,
    width: size.cols ?? 40,
    height: size.rows ?? 6,
    ...(size.timestamp === undefined ? {} : { timestamp: size.timestamp }),
  };
  return [
    JSON.stringify(header),
    ...events.map((event) =>
      event.length === 3
        ? JSON.stringify([event[0], event[1], event[2]])
        : JSON.stringify([event[0], "o", event[1]])
    ),
  ].join("\n") + "\n";
}

/**
 * The same session as asciicast v3: intervals between events (rounded to the
 * microsecond as asciinema 3 writes them), a comment line, an input event
 * and the exit event.
 */
export function v3Cast(
  events: (Event | [number, "r", string])[],
  size: { cols?: number; rows?: number; timestamp?: number } = {},
): string {
  const header = {
    version: 3,
    term: { cols: size.cols ?? 40, rows: size.rows ?? 6, type: "xterm-256color" },
    ...(size.timestamp === undefined ? {} : { timestamp: size.timestamp }),
  };
  const lines = [JSON.stringify(header), "# recorded for the text tests"];
  let previous = 0;
  for (const event of events) {
    const interval = Number((event[0] - previous).toFixed(6));
    previous = event[0];
    lines.push(
      event.length === 3
        ? JSON.stringify([interval, event[1], event[2]])
        : JSON.stringify([interval, "o", event[1]]),
    );
    if (lines.length === 5) lines.push(JSON.stringify([0, "i", "x"]), "# a comment mid-way");
  }
  lines.push(JSON.stringify([0.25, "x", "0"]));
  return lines.join("\n") + "\n";
}

/**
 * A shell session with everything acceptance 1 names: a word typed with a
 * typo, backspaced and corrected, coloured mid-word and split across events;
 * a progress line overwritten by `\r`; a full-screen program on the
 * alternate screen; then enough output to scroll everything off.
 */
export const SESSION: (Event | [number, "r", string])[] = [
  [0.5, "$ "],
  // "deploy" typed as "depl" + "p" (typo), backspace (the shell echoes \b, erase), "oy".
  [1.25, "ec"],
  [1.5, "ho dep"],
  [1.75, "lp"],
  [2.0, "\b\x1b[K"],
  [2.25, "oy"],
  [2.5, " sta"],
  // "staging" coloured mid-word, split across two events.
  [2.75, "\x1b[1;32mgi\x1b[0m"],
  [3.0, "ng\r\n"],
  [3.125, "deploy staging\r\n"],
  [4.0, "$ "],
  [5.0, "make\r\n"],
  [5.5, "progress 10%"],
  [6.0, "\rprogress 55%"],
  [6.5, "\rprogress 100%\r\n"],
  [7.0, "$ "],
  [8.0, "vim notes.txt\r\n"],
  [8.5, "\x1b[?1049h\x1b[H\x1b[2JALTSCREEN-SECRET draft\r\n~\r\n~"],
  [9.0, "\x1b[2;1HALTSCREEN-SECRET more"],
  [9.5, "\x1b[?1049l"],
  [10.0, "$ "],
  [11.0, "ls\r\n"],
  [11.5, "a.txt  b.txt\r\n"],
  [12.0, "$ "],
  [13.0, "echo done\r\n"],
  [13.5, "done\r\n"],
  [14.0, "$ "],
];

/**
 * The same session as asciicast v1 (asciinema 1.x): one JSON document,
 * indented as asciinema 1.x wrote it, delays since the previous frame
 * (output only: v1 records no resizes).
 */
export function v1Cast(events: Event[], size: { cols?: number; rows?: number } = {}): string {
  let previous = 0;
  const stdout = events.map(([time, data]) => {
    const delay = Number((time - previous).toFixed(6));
    previous = time;
    return [delay, data];
  });
  return JSON.stringify(
    {
      version: 1,
      width: size.cols ?? 40,
      height: size.rows ?? 6,
      duration: previous,
      command: "/bin/bash",
      title: null,
      env: { TERM: "xterm-256color", SHELL: "/bin/bash" },
      stdout,
    },
    null,
    2,
  ) + "\n";
}

/**
 * Renders `cast` through the renderer, fed in blocks of `block` bytes (a
 * character may be split between two): its lines with seconds into it.
 */
export async function renderCast(cast: string, block = 7): Promise<{ t: number; text: string }[]> {
  const bytes = new TextEncoder().encode(cast);
  const lines: TextLine[] = [];
  await renderFeed(async (sink) => {
    for (let at = 0; at < bytes.length; at += block) await sink(bytes.slice(at, at + block));
  }, (batch) => {
    lines.push(...batch);
  });
  return lines.map((line) => ({ t: indexTime(line.us), text: line.text }));
}
