/** What `play` feeds asciinema 2.x: v2 from v2 or v3, and live timing when following. */
import assert from "node:assert/strict";
import { PlaybackStream } from "../../../lib/text/mod.ts";
import { type Event, SESSION, v1Cast, v3Cast } from "../../support/casts.ts";

function parse(text: string): unknown[] {
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("a v3 recording becomes v2: header size, absolute times, output events only", () => {
  const stream = new PlaybackStream({ follow: false });
  const out = parse(stream.convert(v3Cast(SESSION, { cols: 90, rows: 30 }).trim().split("\n")));
  assert.deepEqual(out[0], { version: 2, width: 90, height: 30 });
  const events = out.slice(1) as [number, string, string][];
  assert.equal(events.length, SESSION.length);
  assert.deepEqual(events.map((e) => e[0]), SESSION.map((e) => e[0]));
  assert.ok(events.every((e) => e[1] === "o"));
});

Deno.test("an asciicast v1 document becomes v2 once it is whole: its size, absolute times, its output", () => {
  const stream = new PlaybackStream({ follow: false });
  const session = SESSION.filter((e): e is Event => e.length === 2);
  const lines = v1Cast(session, { cols: 90, rows: 30 }).trim().split("\n");
  assert.equal(stream.convert(lines.slice(0, 5)), "", "nothing before the document is whole");
  assert.equal(stream.convert(lines.slice(5)), "");
  const out = parse(stream.end());
  assert.deepEqual(out[0], { version: 2, width: 90, height: 30 });
  const events = out.slice(1) as [number, string, string][];
  assert.deepEqual(events.map((e) => e[0]), session.map((e) => e[0]));
  assert.deepEqual(events.map((e) => e[2]), session.map((e) => e[1]));
  assert.equal(new PlaybackStream({ follow: false }).end(), "", "v2 and v3 leave nothing");
});

Deno.test("following: what was there plays at once, a later batch starts now and keeps its gaps", () => {
  const stream = new PlaybackStream({ follow: true });
  const header = '{"version": 2, "width": 80, "height": 24, "idle_time_limit": 2}';
  const first = parse(stream.convert([header, '[1, "o", "a"]', '[5, "o", "b"]']));
  assert.deepEqual(first[0], { version: 2, width: 80, height: 24 }, "no idle_time_limit");
  assert.deepEqual(first.slice(1).map((e) => (e as number[])[0]), [0, 0]);
  // Arrives when the player has run 30 s: starts at 30, 1.5 s apart as recorded.
  const live = parse(stream.convert(['[7, "o", "c"]', '[8.5, "o", "d"]'], 30));
  assert.deepEqual(live.map((e) => (e as number[])[0]), [30, 31.5]);
  // The next batch arrives while that one still plays (player at 31): it follows on.
  const next = parse(stream.convert(['[9, "o", "e"]'], 31));
  assert.deepEqual(next.map((e) => (e as number[])[0]), [32]);
});
