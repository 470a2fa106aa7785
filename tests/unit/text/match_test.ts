/** Matching and formatting, pure: patterns, grep-like context, the output lines. */
import assert from "node:assert/strict";
import {
  compileMatcher,
  formatMatchJson,
  formatMatchText,
  formatOffset,
  formatTextLine,
  type Match,
  MatchScanner,
  needsSeparator,
  PatternError,
} from "../../../lib/text/mod.ts";

const lines = ["alpha", "beta ERROR one", "gamma", "delta", "epsilon", "zeta error two", "eta"]
  .map((text, i) => ({ t: i * 10, text }));

function scan(pattern: string, context: number, options = {}): Match[] {
  const scanner = new MatchScanner(compileMatcher(pattern, options), context);
  return [...lines.flatMap((line) => scanner.push(line)), ...scanner.end()];
}

Deno.test("literal by default (regex characters are plain), case-insensitive, regular expressions", () => {
  assert.equal(compileMatcher("a.b")("a.b"), true);
  assert.equal(compileMatcher("a.b")("axb"), false);
  assert.equal(compileMatcher("ERROR", { ignoreCase: true })("an error"), true);
  assert.equal(compileMatcher("^e.*o$", { regex: true })("echo"), true);
  assert.equal(compileMatcher("err(or)?", { regex: true, ignoreCase: true })("ERR"), true);
  assert.throws(() => compileMatcher("(", { regex: true }), PatternError);
});

Deno.test("matches carry their line number; context around them, not repeated", () => {
  assert.deepEqual(scan("ERROR", 0).map((m) => [m.number, m.line.text]), [[2, "beta ERROR one"]]);
  const two = scan("error", 1, { ignoreCase: true });
  assert.deepEqual(
    two.map((m) => [m.before.map((l) => l.text), m.line.text, m.after.map((l) => l.text)]),
    [
      [["alpha"], "beta ERROR one", ["gamma"]],
      [["epsilon"], "zeta error two", ["eta"]],
    ],
  );
  assert.equal(needsSeparator(two[0], two[1]), true);
  // Overlapping context: the lines between are shown once, no separator.
  const close = scan("a", 2).filter((m) => m.line.text === "gamma" || m.line.text === "delta");
  assert.ok(close.length === 2 && !needsSeparator(close[0], close[1]));
});

Deno.test("offsets as hh:mm:ss, match lines as `<id>  <hh:mm:ss>  <line>`, JSON lines", () => {
  assert.equal(formatOffset(0), "00:00:00");
  assert.equal(formatOffset(3725.9), "01:02:05");
  assert.equal(formatOffset(360_000), "100:00:00");
  const [match] = scan("ERROR", 1);
  assert.equal(
    formatMatchText("rec", match),
    "rec  00:00:00- alpha\nrec  00:00:10  beta ERROR one\nrec  00:00:20- gamma\n",
  );
  const json = JSON.parse(formatMatchJson({
    id: "rec",
    remote: "/r.git",
    branch: "b",
    source: "index",
    complete: true,
  }, match));
  assert.deepEqual(
    [json.id, json.t, json.offset, json.line, json.line_number, json.before.length],
    ["rec", 10, "00:00:10", "beta ERROR one", 2, 1],
  );
  assert.equal(formatTextLine({ t: 61, text: "x" }, true), "[00:01:01] x\n");
  assert.equal(formatTextLine({ t: 61, text: "x" }, false), "x\n");
});
