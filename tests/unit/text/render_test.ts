/**
 * The renderer (acceptance 1 and 2 at the source): what the screen showed,
 * with the time of the event that gave each line its final text.
 */
import assert from "node:assert/strict";
import { CastRenderer } from "../../../lib/text/mod.ts";
import { type Event, renderCast, SESSION, v1Cast, v2Cast, v3Cast } from "../../support/casts.ts";

const encoder = new TextEncoder();

const render = renderCast;

Deno.test("typo, backspace and correction, colour mid-word, a word split across events: one line with the time of its last event", async () => {
  const lines = await render(v2Cast(SESSION));
  assert.deepEqual(lines.find((line) => line.text.includes("deploy staging")), {
    t: 3,
    text: "$ echo deploy staging",
  });
  assert.deepEqual(lines.find((line) => line.text === "deploy staging"), {
    t: 3.125,
    text: "deploy staging",
  });
  assert.ok(!lines.some((line) => line.text.includes("deplp")), "the typo is gone");
});

Deno.test("a line overwritten by \\r shows only its final text", async () => {
  const lines = await render(v2Cast(SESSION));
  const progress = lines.filter((line) => line.text.includes("progress"));
  assert.deepEqual(progress, [{ t: 6.5, text: "progress 100%" }]);
});

Deno.test("text drawn on the alternate screen does not leak into the text", async () => {
  const lines = await render(v2Cast(SESSION));
  assert.ok(!lines.some((line) => line.text.includes("ALTSCREEN-SECRET")), JSON.stringify(lines));
  // What was on the normal screen before and after is all there, in order.
  assert.deepEqual(lines.map((line) => line.text), [
    "$ echo deploy staging",
    "deploy staging",
    "$ make",
    "progress 100%",
    "$ vim notes.txt",
    "$ ls",
    "a.txt  b.txt",
    "$ echo done",
    "done",
    "$",
  ]);
});

Deno.test("v2 and v3 recordings of the same session give the same lines and offsets", async () => {
  const v2 = await render(v2Cast(SESSION));
  const v3 = await render(v3Cast(SESSION), 5);
  assert.deepEqual(v3, v2);
  assert.equal(v2.length, 10);
});

Deno.test("lines that scroll off are emitted as they go, wrapped lines as one, `clear` keeps what was shown", async () => {
  const events: [number, string][] = [];
  for (let i = 0; i < 30; i++) events.push([i, `line ${i}\r\n`]);
  events.push([40, "x".repeat(95) + "\r\n"]); // wraps over three rows of 40
  events.push([41, "before clear\r\n"]);
  events.push([42, "\x1b[H\x1b[2J\x1b[3J$ cleared\r\n"]);
  // A long recording's lines come out while it is being fed, not only at its end.
  const many: [number, string][] = [];
  for (let i = 0; i < 40_000; i++) many.push([i / 100, `row ${i} ${"=".repeat(20)}\r\n`]);
  const renderer = new CastRenderer();
  const early = await renderer.push(encoder.encode(v2Cast(many)));
  const { lines: rest } = await renderer.end();
  assert.ok(early.length > 10_000, `lines come out before the end (${early.length})`);
  assert.equal([...early, ...rest].length, 40_000);
  const lines = await render(v2Cast(events));
  assert.equal(lines.length, 33);
  assert.deepEqual(lines[30], { t: 40, text: "x".repeat(95) });
  assert.deepEqual(lines.slice(31), [
    { t: 41, text: "before clear" },
    { t: 42, text: "$ cleared" },
  ]);
  for (let i = 0; i < 30; i++) assert.deepEqual(lines[i], { t: i, text: `line ${i}` });
});

Deno.test("resize events are honoured: a column past the old width exists after a resize", async () => {
  const wide = await render(v2Cast([[0, "a"], [1, "r", "80x6"], [2, "\x1b[70Gb\r\n"]]));
  assert.deepEqual(wide, [{ t: 2, text: "a" + " ".repeat(68) + "b" }]);
  const narrow = await render(v2Cast([[0, "a"], [2, "\x1b[70Gb\r\n"]]));
  assert.deepEqual(narrow, [{ t: 2, text: "a" + " ".repeat(38) + "b" }]);
});

Deno.test("an asciicast v1 document (asciinema 1.x) renders like the same session in v2", async () => {
  const session = SESSION.filter((e): e is Event => e.length === 2);
  const v1 = await render(v1Cast(session), 11);
  assert.deepEqual(v1, await render(v2Cast(session)));
  assert.equal(v1.length, 10);
  const renderer = new CastRenderer();
  await renderer.push(encoder.encode(v1Cast(session, { cols: 90, rows: 30 })));
  const { summary } = await renderer.end();
  assert.deepEqual(summary.header, { version: 1, cols: 90, rows: 30 });
});

Deno.test("a file that is not an asciicast recording is refused", async () => {
  await assert.rejects(() => render("not a header\n"), /asciicast header/);
  await assert.rejects(
    () => render('{"version": 9,\n"stdout": []}\n'),
    /unsupported asciicast version 9/,
  );
  await assert.rejects(() => render("{ not json\n"), /not a JSON asciicast header/);
});
