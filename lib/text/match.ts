/**
 * Matching lines and formatting matches (pure): the pattern (a literal
 * string by default, a regular expression with `regex`, either one
 * case-insensitive), grep-like context around each match, and the output
 * formats of `search` and `text`.
 *
 * @module
 */
import { errorMessage, termSafe } from "../sys/mod.ts";
import type { IndexLine } from "./index_format.ts";

/** How to match. */
export interface MatchOptions {
  /** The pattern is a JavaScript regular expression (default: a literal string). */
  regex?: boolean;
  /** Ignore case. */
  ignoreCase?: boolean;
}

/** Tests one line of text. */
export type Matcher = (text: string) => boolean;

/** A pattern that does not compile. */
export class PatternError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "PatternError";
  }
}

/** Compiles `pattern`; throws {@linkcode PatternError} for an invalid regular expression. */
export function compileMatcher(pattern: string, options: MatchOptions = {}): Matcher {
  if (!options.regex && !options.ignoreCase) return (text) => text.includes(pattern);
  if (!options.regex) {
    const needle = pattern.toLowerCase();
    return (text) => text.toLowerCase().includes(needle);
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern, options.ignoreCase ? "iu" : "u");
  } catch (error) {
    throw new PatternError(
      `invalid regular expression ${JSON.stringify(pattern)}: ${errorMessage(error)}`,
    );
  }
  return (text) => re.test(text);
}

/** One match with its context. */
export interface Match {
  /** The matching line. */
  line: IndexLine;
  /** Its number in the recording's text (1-based). */
  number: number;
  /** Up to `context` lines before it (not already shown with an earlier match). */
  before: IndexLine[];
  /** Up to `context` lines after it (not part of a later match). */
  after: IndexLine[];
}

/**
 * Runs a matcher over one recording's lines, grep-style: `push` each line in
 * order, take the matches it completes (a match is complete once its `after`
 * context is), and `end` for the last ones.
 */
export class MatchScanner {
  #matcher: Matcher;
  #context: number;
  #number = 0;
  #recent: { line: IndexLine; number: number }[] = [];
  #shownUpTo = 0;
  #open: Match | undefined;

  /** Creates the scanner; `context` lines are kept on each side of a match. */
  constructor(matcher: Matcher, context = 0) {
    this.#matcher = matcher;
    this.#context = Math.max(0, Math.floor(context));
  }

  /** Takes the next line; returns the matches completed by it. */
  push(line: IndexLine): Match[] {
    return this.pushTested(line, this.#matcher(line.text));
  }

  /** {@linkcode push} for a line already tested elsewhere (`matched`: a bounded regex's verdict). */
  pushTested(line: IndexLine, matched: boolean): Match[] {
    const number = ++this.#number;
    const done: Match[] = [];
    const open = this.#open;
    if (open) {
      if (!matched) {
        open.after.push(line);
        this.#shownUpTo = number;
      }
      if (matched || open.after.length >= this.#context) {
        done.push(open);
        this.#open = undefined;
      }
    }
    if (matched) {
      const before = this.#recent
        .filter((item) => item.number > this.#shownUpTo)
        .map((item) => item.line);
      const match = { line, number, before, after: [] };
      this.#shownUpTo = number;
      if (this.#context === 0) done.push(match);
      else this.#open = match;
    }
    if (this.#context > 0) {
      this.#recent.push({ line, number });
      if (this.#recent.length > this.#context) this.#recent.shift();
    }
    return done;
  }

  /**
   * Takes `count` lines known not to match without looking at each: `head`
   * (their first lines) may complete a match's context, `tail` (their last)
   * is the context of the next match. Each needs at most `context` lines.
   */
  skip(count: number, head: IndexLine[] = [], tail: IndexLine[] = []): Match[] {
    const done: Match[] = [];
    let fed = 0;
    while (this.#open && fed < head.length && fed < count) done.push(...this.push(head[fed++]));
    this.#number += count - fed;
    if (this.#context > 0 && count > fed) {
      const kept = tail.slice(-Math.min(this.#context, count - fed));
      this.#recent = kept.map((line, i) => ({
        line,
        number: this.#number - kept.length + 1 + i,
      }));
    }
    return done;
  }

  /** Ends the recording: the match still waiting for its context. */
  end(): Match[] {
    const open = this.#open;
    this.#open = undefined;
    return open ? [open] : [];
  }
}

/** True when `next` (of the same recording) does not continue right after `previous`'s context. */
export function needsSeparator(previous: Match, next: Match): boolean {
  return next.number - next.before.length > previous.number + previous.after.length + 1;
}

/** `hh:mm:ss` into the recording (hours grow past 99). */
export function formatOffset(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${
    String(s).padStart(2, "0")
  }`;
}

/**
 * A match as `search` prints it: `<id>  <hh:mm:ss>  <line>`; with context,
 * the context lines as `<id>  <hh:mm:ss>- <line>` around it. Id and text
 * come from recordings: every control in them is shown as an escape
 * (`termSafe`), never sent to the terminal.
 */
export function formatMatchText(id: string, match: Match): string {
  const shown = termSafe(id);
  const row = (line: IndexLine, mark: string) =>
    `${shown}  ${formatOffset(line.t)}${mark}${termSafe(line.text)}`;
  return [
    ...match.before.map((line) => row(line, "- ")),
    row(match.line, "  "),
    ...match.after.map((line) => row(line, "- ")),
  ].join("\n") + "\n";
}

/** Where a match was found, for `--json`. */
export interface MatchPlace {
  /** Recording id. */
  id: string;
  /** The remote (display form). */
  remote: string;
  /** The branch. */
  branch: string;
  /** Where the text came from: the committed index, or rendered from the chunks. */
  source: "index" | "rendered";
  /** The recording has a manifest (ended). */
  complete: boolean;
}

/** A match as one JSON line of `search --json`. */
export function formatMatchJson(place: MatchPlace, match: Match): string {
  return JSON.stringify({
    ...place,
    t: match.line.t,
    offset: formatOffset(match.line.t),
    line_number: match.number,
    line: match.line.text,
    before: match.before,
    after: match.after,
  }) + "\n";
}

/**
 * A line as `text --timestamps` prints it: `[hh:mm:ss] <line>`; with
 * `terminal`, controls in the text are shown as escapes (`termSafe`).
 */
export function formatTextLine(
  line: IndexLine,
  timestamps: boolean,
  options: { terminal?: boolean } = {},
): string {
  const text = options.terminal ? termSafe(line.text) : line.text;
  return timestamps ? `[${formatOffset(line.t)}] ${text}\n` : `${text}\n`;
}
