/** Event parsing: v2 absolute and v3 interval times on one clock, comments, resizes, lines. */
import assert from "node:assert/strict";
import {
  CastFormatError,
  EventParser,
  LineSplitter,
  parseCastHeader,
  parseResize,
} from "../../../lib/text/mod.ts";

Deno.test("headers: v2 width/height, v3 term.cols/rows, timestamp, defaults and clamps", () => {
  assert.deepEqual(parseCastHeader('{"version": 2, "width": 100, "height": 30, "timestamp": 5}'), {
    version: 2,
    cols: 100,
    rows: 30,
    timestamp: 5,
  });
  assert.deepEqual(parseCastHeader('{"version": 3, "term": {"cols": 120, "rows": 40}}'), {
    version: 3,
    cols: 120,
    rows: 40,
  });
  assert.deepEqual(parseCastHeader('{"version": 3}'), { version: 3, cols: 80, rows: 24 });
  assert.equal(parseCastHeader('{"version": 2, "width": 1e9, "height": 24}').cols, 1000);
  assert.throws(() => parseCastHeader('{"version": 1}'), CastFormatError);
  assert.throws(() => parseCastHeader("[1, 2]"), CastFormatError);
});

Deno.test("v2 times are absolute, v3 times are intervals (summed in microseconds, exactly)", () => {
  const v2 = new EventParser({ version: 2, cols: 80, rows: 24 });
  assert.deepEqual(v2.parse('[0.1, "o", "a"]'), { kind: "output", us: 100_000, data: "a" });
  assert.deepEqual(v2.parse('[0.3, "o", "b"]'), { kind: "output", us: 300_000, data: "b" });
  const v3 = new EventParser({ version: 3, cols: 80, rows: 24 });
  v3.parse('[0.1, "o", "a"]');
  v3.parse('[0.2, "i", "typed"]'); // input events still move the clock
  assert.deepEqual(v3.parse('[0.000001, "o", "b"]'), { kind: "output", us: 300_001, data: "b" });
});

Deno.test("comments, blank and broken lines give nothing; resizes are parsed", () => {
  const v3 = new EventParser({ version: 3, cols: 80, rows: 24 });
  assert.equal(v3.parse("# a comment"), undefined);
  assert.equal(v3.parse(""), undefined);
  assert.equal(v3.parse("[1, "), undefined);
  assert.equal(v3.parse('[-1, "o", "x"]'), undefined);
  assert.equal(v3.skipped, 2);
  assert.deepEqual(v3.parse('[1, "r", "100x50"]'), {
    kind: "resize",
    us: 1_000_000,
    cols: 100,
    rows: 50,
  });
  assert.equal(parseResize("100 x 50")?.cols, 100);
  assert.equal(parseResize("wide"), undefined);
  assert.equal(parseResize("0x10"), undefined);
});

Deno.test("lines split across blocks, a UTF-8 character split between two blocks stays whole", () => {
  const bytes = new TextEncoder().encode("caf\u00e9 \u2603\nsecond\nthird");
  const splitter = new LineSplitter();
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 3) {
    lines.push(...splitter.push(bytes.slice(at, at + 3)));
  }
  assert.deepEqual(lines, ["caf\u00e9 \u2603", "second"]);
  assert.equal(splitter.end(), "third");
  assert.equal(splitter.end(), undefined);
});
