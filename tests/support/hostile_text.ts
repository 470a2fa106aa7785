/**
 * One list of hostile strings for the terminal-escape rule: each would act on
 * a terminal if printed raw (clipboard write, title, clear, forged line, CSI
 * and OSC in their one-byte C1 forms, bidi reordering).
 *
 * @module
 */

/** Hostile strings, each with a name for messages. */
export const HOSTILE_STRINGS: ReadonlyArray<{ name: string; text: string }> = [
  { name: "OSC 52 clipboard", text: "\x1b]52;c;ZWNobyBwd25lZA==\x07" },
  { name: "OSC 0 title", text: "\x1b]0;owned\x1b\\" },
  { name: "clear screen", text: "\x1b[2J\x1b[H" },
  { name: "forged line", text: "x\nok   a   forged\r" },
  { name: "C1 CSI", text: "\u009b2J" },
  { name: "C1 OSC", text: "\u009d0;t\u009c" },
  { name: "bell and backspace", text: "\x07\x08\x08" },
  { name: "bidi override", text: "\u202egnp.exe" },
];

/** The raw control characters none of the printed output may contain. */
// deno-lint-ignore no-control-regex -- matching controls is the point
export const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * The first raw control in `output` outside of the plain newlines and tabs
 * that separate its lines, with its context, or undefined.
 */
export function findRawControl(output: string): string | undefined {
  const match = RAW_CONTROL.exec(output);
  if (!match) return undefined;
  const at = match.index;
  return JSON.stringify(output.slice(Math.max(0, at - 20), at + 20));
}
