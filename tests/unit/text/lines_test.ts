/** Line collection, pure: the line-time rule, wrapped rows, long lines, rewraps, the final screen. */
import assert from "node:assert/strict";
import { LineCollector, type RowReader } from "../../../lib/text/mod.ts";

/** A buffer of rows `[text, wrapped]` that can change between looks. */
function buffer(list: [string, boolean][]): RowReader & { rows: [string, boolean][] } {
  return {
    rows: list,
    wrapped(i) {
      return this.rows[i]?.[1];
    },
    text(i, trim) {
      const text = this.rows[i]?.[0] ?? "";
      return trim ? text.trimEnd() : text;
    },
  };
}

Deno.test("a row's time is when its text last changed: the cursor passing or the same text again stamps nothing", () => {
  const collector = new LineCollector();
  const rows = buffer([["$ ", false], ["", false]]);
  collector.observe(rows, 0, 0, 1); // the prompt appears
  rows.rows[0][0] = "$ l";
  collector.observe(rows, 0, 0, 2);
  rows.rows[0][0] = "$ ls";
  collector.observe(rows, 0, 1, 3); // typed, then a line feed: row 1 is seen (empty) at 3
  collector.observe(rows, 0, 1, 9); // a redraw of the same text, the cursor passing
  rows.rows[1][0] = "a.txt";
  collector.observe(rows, 1, 1, 10);
  const { lines, rows: used } = collector.take(rows, 2);
  assert.deepEqual(lines, [{ us: 3, text: "$ ls" }, { us: 10, text: "a.txt" }]);
  assert.equal(used, 2);
});

Deno.test("a wrapped line waits until all its rows left the screen, then comes out as one with its latest time", () => {
  const collector = new LineCollector();
  const rows = buffer([["abcd", false], ["efgh", true], ["ij", true], ["next", false]]);
  collector.observe(rows, 0, 1, 5);
  collector.observe(rows, 2, 3, 6);
  assert.deepEqual(collector.take(rows, 2), { lines: [], rows: 0 });
  assert.deepEqual(collector.take(rows, 3).lines, [{ us: 6, text: "abcdefghij" }]);
});

Deno.test("a line longer than the rows allowed is taken as it scrolls off, its start held until its end", () => {
  const collector = new LineCollector({ partialRows: 2 });
  const rows = buffer([["ab", false], ["cd", true], ["ef", true], ["g", true]]);
  collector.observe(rows, 0, 3, 1);
  assert.deepEqual(collector.take(rows, 2), { lines: [], rows: 2 }); // held, not emitted
  // Row numbers now start at "ef"; the line ends on the next row.
  const rest = buffer([["ef", true], ["gh", true], ["$", false]]);
  collector.observe(rest, 1, 2, 4);
  assert.deepEqual(collector.take(rest, 2).lines, [{ us: 4, text: "abcdefgh" }]);
  // Forced (the scrollback is about to be erased): any unfinished line's scrolled rows go.
  const forced = new LineCollector();
  const two = buffer([["xy", false], ["z", true]]);
  forced.observe(two, 0, 1, 2);
  assert.deepEqual(forced.take(two, 1, { partial: true }), { lines: [], rows: 1 });
  assert.deepEqual(forced.take(buffer([["z", true]]), 1, { final: true }).lines, [
    { us: 2, text: "xyz" },
  ]);
});

Deno.test("a line longer than the longest allowed comes out in pieces of that size, never splitting a character", () => {
  const collector = new LineCollector({ maxLineChars: 4 });
  const rows = buffer([["abcdefghij", false], ["xyz😀w", false]]);
  collector.observe(rows, 0, 1, 1);
  const { lines } = collector.take(rows, 2);
  assert.deepEqual(lines.map((line) => line.text), ["abcd", "efgh", "ij", "xyz", "😀w"]);
});

Deno.test("a change of width rewraps rows, not lines: each line keeps its time, and a rewrap is no change", () => {
  const collector = new LineCollector();
  const before = buffer([["one", false], ["two-", false], ["wrap", true], ["$", false]]);
  collector.observe(before, 0, 0, 1);
  collector.observe(before, 1, 2, 2);
  collector.observe(before, 3, 3, 3);
  const times = collector.lineTimes(before, 4);
  assert.deepEqual(times, [1, 2, 3]);
  const after = buffer([["one", false], ["two-wr", false], ["ap", true], ["$", false]]);
  collector.rewrapped(after, 4, times);
  collector.observe(after, 0, 3, 7); // the same text everywhere: nothing changes
  assert.deepEqual(collector.take(after, 4, { final: true }).lines, [
    { us: 1, text: "one" },
    { us: 2, text: "two-wrap" },
    { us: 3, text: "$" },
  ]);
});

Deno.test("the final screen drops trailing blank rows; rows never seen take the previous line's time", () => {
  const collector = new LineCollector();
  const rows = buffer([["x", false], ["", false], ["y", false], ["", false], ["", false]]);
  collector.observe(rows, 0, 0, 7);
  const { lines } = collector.take(rows, 5, { final: true });
  assert.deepEqual(lines, [{ us: 7, text: "x" }, { us: 7, text: "" }, { us: 7, text: "y" }]);
});

Deno.test("a reset forgets the rows and lets a held line start out as it is", () => {
  const collector = new LineCollector({ partialRows: 1 });
  const rows = buffer([["ab", false], ["c", true]]);
  collector.observe(rows, 0, 1, 4);
  collector.take(rows, 1);
  assert.deepEqual(collector.reset(), [{ us: 4, text: "ab" }]);
  assert.deepEqual(collector.reset(), []);
});
