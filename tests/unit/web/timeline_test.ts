import assert from "node:assert/strict";
import { EventParser, LineSplitter, parseCastHeader } from "../../../lib/text/mod.ts";
import { readLineHead, TimeScanner } from "../../../lib/web/timeline.ts";
import {
  buildIndex,
  buildSegment,
  seconds,
  segmentStarts,
  WINDOW_BYTES,
} from "../../../lib/web/segments.ts";
import { prng } from "../../../bench/recordings.ts";

const encoder = new TextEncoder();

/** A recording with odd lines: comments, resizes, markers, input, malformed and big jumps. */
function sampleCast(version: 2 | 3, events: number, seed = 7): Uint8Array {
  const random = prng(seed);
  const header = version === 2
    ? { version: 2, width: 100, height: 30, timestamp: 1_700_000_000 }
    : { version: 3, term: { cols: 100, rows: 30 }, timestamp: 1_700_000_000 };
  const out = [JSON.stringify(header)];
  let t = 0;
  for (let i = 0; i < events; i++) {
    const step = random() < 0.1 ? 0 : Number((random() * 0.4).toFixed(6));
    t += step;
    const time = version === 2 ? Number(t.toFixed(6)) : step;
    const kind = random();
    if (kind < 0.02) out.push(JSON.stringify([time, "r", `${80 + (i % 40)}x${20 + (i % 10)}`]));
    else if (kind < 0.03) out.push(JSON.stringify([time, "m", "a marker"]));
    else if (kind < 0.04) out.push(JSON.stringify([time, "i", "secret typed\r"]));
    else if (kind < 0.05 && version === 3) out.push("# a comment line");
    else if (kind < 0.06) out.push("this is not json");
    else if (kind < 0.07) out.push(`[${time}e0, "o", "exponent form\\r\\n"]`);
    else out.push(JSON.stringify([time, "o", `line ${i} <b>é€ \u001b[1mbold\u001b[0m\r\n`]));
  }
  return encoder.encode(out.join("\n") + "\n");
}

/** The text engine's events of a recording: [us, code, data]. */
function engineEvents(bytes: Uint8Array): { us: number; kind: string; data: string }[] {
  const lines = new LineSplitter().push(bytes);
  const parser = new EventParser(parseCastHeader(lines[0]));
  const out: { us: number; kind: string; data: string }[] = [];
  for (const line of lines.slice(1)) {
    const event = parser.parse(line);
    if (event?.kind === "output") out.push({ us: event.us, kind: "o", data: event.data });
    if (event?.kind === "resize") {
      out.push({ us: event.us, kind: "r", data: `${event.cols}x${event.rows}` });
    }
  }
  return out;
}

function scan(bytes: Uint8Array, spacing: number, blockSize = 997): TimeScanner {
  const scanner = new TimeScanner({ spacing });
  for (let at = 0; at < bytes.length; at += blockSize) {
    scanner.push(bytes.subarray(at, at + blockSize));
  }
  return scanner;
}

/** The checks asciinema-player 3.18 makes on a segmented recording (normalizeSegment, validateIndex). */
function playerChecks(
  index: ReturnType<typeof buildIndex>,
  segments: ReturnType<typeof buildSegment>[],
): void {
  assert.deepEqual(index.segments[0].start, 0);
  for (let i = 1; i < index.segments.length; i++) {
    assert.ok(
      index.segments[i].start > index.segments[i - 1].start,
      `segment ${i} start increases`,
    );
    assert.ok(index.segments[i].start < index.duration, `segment ${i} starts before the end`);
  }
  for (const [i, segment] of segments.entries()) {
    const start = index.segments[i].start * 1000;
    const end = index.segments[i + 1]?.start * 1000 || index.duration * 1000;
    assert.ok(segment.events.length > 0);
    let previous = -1;
    for (const [time] of segment.events) {
      const ms = time * 1000;
      assert.ok(ms >= previous && ms >= start, `event time in order in segment ${i}`);
      assert.ok(
        i + 1 < segments.length ? ms < end : ms <= end,
        `event time in range in segment ${i}`,
      );
      previous = ms;
    }
    if (i > 0) {
      assert.deepEqual(segment.events[0][0] * 1000, start, `segment ${i} starts with its start`);
    }
  }
  const last = segments[segments.length - 1].events;
  assert.deepEqual(last[last.length - 1][0] * 1000, index.duration * 1000);
}

function segmentsOf(bytes: Uint8Array, scanner: TimeScanner) {
  const starts = segmentStarts(scanner.points, scanner.us);
  const index = buildIndex({
    header: scanner.header!,
    starts,
    lastUs: scanner.us,
    url: (i) => `s${i}`,
    markers: [{ t: 1, label: "hit" }, { t: 1e9, label: "beyond the end" }],
  });
  const segments = starts.map((point, i) =>
    buildSegment({
      header: scanner.header!,
      point,
      first: i === 0,
      lastUs: i === starts.length - 1 ? scanner.us : undefined,
      window: bytes.subarray(Math.max(0, point.byte - WINDOW_BYTES), point.byte),
      body: bytes.subarray(point.byte, starts[i + 1]?.byte ?? scanner.bytes),
    })
  );
  return { index, segments, starts };
}

for (const version of [2, 3] as const) {
  Deno.test(`timeline v${version}: seek points carry the text engine's time of their line`, () => {
    const bytes = sampleCast(version, 3000);
    const scanner = scan(bytes, 2000);
    assert.deepEqual(scanner.bytes, bytes.length);
    assert.ok(scanner.points.length > 20, `${scanner.points.length} points`);
    const events = engineEvents(bytes);
    assert.deepEqual(scanner.us, events[events.length - 1].us);
    for (const point of scanner.points) {
      const line = new TextDecoder().decode(
        bytes.subarray(point.byte, bytes.indexOf(10, point.byte)),
      );
      assert.ok(line.startsWith("["), `a point starts an event line: ${line}`);
    }
    for (let i = 1; i < scanner.points.length; i++) {
      assert.ok(scanner.points[i].us > scanner.points[i - 1].us);
    }
  });

  Deno.test(`segments v${version}: what the player takes, and every event of the engine`, () => {
    const bytes = sampleCast(version, 3000);
    const scanner = scan(bytes, 2000);
    const { index, segments } = segmentsOf(bytes, scanner);
    playerChecks(index, segments);
    assert.deepEqual(index.markers, [[1, "hit"]]);
    const played = segments.flatMap((segment) => segment.events)
      .filter(([, code, data]) => code === "r" || data !== "")
      .map(([t, code, data]) => ({ us: Math.round(t * 1e6), kind: code, data }));
    assert.deepEqual(played, engineEvents(bytes).filter((e) => e.kind === "r" || e.data !== ""));
    assert.ok(!JSON.stringify(segments).includes("secret typed"), "input events are never sent");
  });
}

Deno.test("segments: a snapshot replays the output just before the segment, at its size", () => {
  const bytes = sampleCast(2, 3000);
  const scanner = scan(bytes, 4000);
  const { segments, starts } = segmentsOf(bytes, scanner);
  assert.deepEqual(segments[0].snapshot, { cols: 100, rows: 30, init: "" });
  const third = segments[3];
  assert.deepEqual([third.snapshot.cols, third.snapshot.rows], [starts[3].cols, starts[3].rows]);
  const before = engineEvents(bytes.subarray(0, starts[3].byte))
    .filter((e) => e.kind === "o").map((e) => e.data).join("");
  assert.ok(third.snapshot.init.length > 1000);
  assert.ok(before.endsWith(third.snapshot.init), "the snapshot is the latest output before it");
});

Deno.test("timeline: resizes set the size of later points", () => {
  const lines = [JSON.stringify({ version: 2, width: 80, height: 24 })];
  lines.push(JSON.stringify([0, "o", "a"]), JSON.stringify([1, "r", "132x43"]));
  lines.push(JSON.stringify([2, "o", "b"]), JSON.stringify([3, "r", "bad"]));
  lines.push(JSON.stringify([4, "o", "c"]));
  const scanner = scan(encoder.encode(lines.join("\n") + "\n"), 1);
  assert.deepEqual(
    scanner.points.map((p) => [p.us, p.cols, p.rows]),
    [[0, 80, 24], [1e6, 80, 24], [2e6, 132, 43], [3e6, 132, 43], [4e6, 132, 43]],
  );
});

Deno.test("timeline: a v2 clock never goes back, a point starts where time moved on", () => {
  const lines = [JSON.stringify({ version: 2, width: 80, height: 24 })];
  for (const t of [0, 1, 1, 0.5, 2, 2, 3]) lines.push(JSON.stringify([t, "o", "x"]));
  const scanner = scan(encoder.encode(lines.join("\n") + "\n"), 1);
  assert.deepEqual(scanner.points.map((p) => p.us), [0, 1e6, 2e6, 3e6]);
  assert.deepEqual(scanner.us, 3e6);
});

Deno.test("timeline: a header only, and a header that is not asciicast", () => {
  const scanner = scan(encoder.encode('{"version": 2, "width": 10, "height": 5}\n'), 10);
  assert.deepEqual(scanner.points, []);
  const { index, segments } = (() => {
    const index = buildIndex({ header: scanner.header!, starts: [], lastUs: 0, url: () => "s0" });
    const point = { byte: scanner.bytes, us: 0, cols: 10, rows: 5 };
    const segment = buildSegment({
      header: scanner.header!,
      point,
      first: true,
      lastUs: 0,
      window: new Uint8Array(),
      body: new Uint8Array(),
    });
    return { index, segments: [segment] };
  })();
  playerChecks(index, segments);
  assert.throws(() => scan(encoder.encode("<html>\n"), 10));
});

Deno.test("readLineHead: plain, exponent, negative and broken times", () => {
  const head = (text: string) => {
    const bytes = encoder.encode(text);
    return readLineHead(bytes, 0, bytes.length);
  };
  assert.deepEqual(head('[1.5, "o", "x"]'), { seconds: 1.5, code: 0x6f });
  assert.deepEqual(head('[ 12 ,"r","80x24"]'), { seconds: 12, code: 0x72 });
  assert.deepEqual(head('[1.5e2, "o", "x"]')?.seconds, 150);
  assert.deepEqual(head('[-1, "o", "x"]'), undefined);
  assert.deepEqual(head('["1", "o", "x"]'), undefined);
  assert.deepEqual(head("[1.5"), undefined);
  assert.deepEqual(head("{}"), undefined);
  assert.deepEqual(seconds(1_500_000), 1.5);
});
