/** Line collection, pure: row times, wrapped rows held until whole, the final screen. */
import assert from "node:assert/strict";
import { LineCollector, type RowReader } from "../../../lib/text/mod.ts";

function rows(list: [string, boolean][]): RowReader {
  return {
    wrapped: (i) => list[i]?.[1],
    text: (i, trim) => trim ? (list[i]?.[0] ?? "").trimEnd() : list[i]?.[0] ?? "",
  };
}

Deno.test("a row's time is the last event during which the cursor was on it", () => {
  const collector = new LineCollector();
  collector.touch(0, 1); // typing on row 0
  collector.touch(0, 2);
  collector.touch(2, 3); // two line feeds: rows 0..2 touched at 3
  collector.touch(2, 4);
  const { lines, rows: used } = collector.take(
    rows([["a   ", false], ["b", false], ["c", false]]),
    2,
  );
  assert.deepEqual(lines, [{ us: 3, text: "a" }, { us: 3, text: "b" }]);
  assert.equal(used, 2);
  // Row numbers now start at the old row 2, still with its time.
  assert.deepEqual(collector.take(rows([["c", false]]), 1, true).lines, [{ us: 4, text: "c" }]);
});

Deno.test("a wrapped line waits until all its rows left the screen, then comes out as one", () => {
  const collector = new LineCollector();
  collector.touch(3, 5);
  const buffer = rows([["abcd", false], ["efgh", true], ["ij", true], ["next", false]]);
  assert.deepEqual(collector.take(buffer, 2), { lines: [], rows: 0 });
  assert.deepEqual(collector.take(buffer, 3).lines, [{ us: 5, text: "abcdefghij" }]);
});

Deno.test("the final screen drops trailing blank rows; rows never touched take the previous time", () => {
  const collector = new LineCollector();
  collector.touch(0, 7);
  const { lines } = collector.take(
    rows([["x", false], ["", false], ["y", false], ["", false], ["", false]]),
    5,
    true,
  );
  assert.deepEqual(lines, [{ us: 7, text: "x" }, { us: 7, text: "" }, { us: 7, text: "y" }]);
});

Deno.test("after a reset rows down to the cursor get the reset's time", () => {
  const collector = new LineCollector();
  collector.touch(5, 1);
  collector.reset(2, 9);
  assert.deepEqual(
    collector.take(rows([["p", false], ["q", false], ["r", false]]), 3, true).lines.map((l) =>
      l.us
    ),
    [9, 9, 9],
  );
});
