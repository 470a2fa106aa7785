/**
 * The one escaping function for text from outside that reaches a terminal.
 *
 * Recordings, branches, manifests, text indexes, remotes' error messages, ids
 * and URLs are data: printed raw, an `ESC ] 52` sets the clipboard, an
 * `ESC ] 0` the title, `ESC [ 2 J` clears the screen and a newline inside an
 * id forges a line of output. {@linkcode termSafe} shows every C0 and C1
 * control (and DEL) as a visible escape, and also the Unicode bidirectional
 * overrides that reorder what is shown. `--json` output is exact and never
 * goes through it; `play` replays a recording's own output on purpose.
 *
 * @module
 */
import { redact } from "./redact.ts";

// C0 controls, DEL, C1 controls, and the bidi embeddings/overrides/isolates.
// deno-lint-ignore no-control-regex -- matching controls is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Options for {@linkcode termSafe}. */
export interface TermSafeOptions {
  /** Keep line feeds (for multi-line text whose every line is data); default false. */
  keepNewlines?: boolean;
  /** Keep tabs; default false. */
  keepTabs?: boolean;
}

/**
 * `text` with every terminal control shown as an escape (`\x1b`, `\n`,
 * `\u009b`, `\u202e`): nothing in it can move the cursor, set the clipboard or
 * the title, or start a new line of output.
 */
export function termSafe(text: string, options: TermSafeOptions = {}): string {
  return text.replace(UNSAFE, (char) => {
    if (char === "\n" && options.keepNewlines) return char;
    if (char === "\t" && options.keepTabs) return char;
    return visibleEscape(char);
  });
}

function visibleEscape(char: string): string {
  switch (char) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
  }
  const code = char.codePointAt(0)!;
  if (code < 0x80) return `\\x${code.toString(16).padStart(2, "0")}`;
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Writes one line for people to stderr, redacted (no secret, token or key
 * shape) and with every control in it escaped (`termSafe`).
 */
export function printLine(text: string): void {
  console.error(termSafe(redact(text)));
}
