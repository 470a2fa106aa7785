/**
 * Text fidelity (issue 27): one constructed recording per case whose right
 * answer is known, checked line by line, text and time, as asciicast v2 and
 * as v3 (which must give exactly the same output).
 */
import assert from "node:assert/strict";
import { type Event, renderCast, v2Cast, v3Cast } from "../../support/casts.ts";

type Events = (Event | [number, "r", string])[];
type Size = { cols?: number; rows?: number };

/** Where two lists of lines first differ, briefly (lines can be 400 KB long). */
function difference(
  got: { t: number; text: string }[],
  want: { t: number; text: string }[],
): string | undefined {
  const short = (text: string) =>
    text.length > 80 ? `${text.slice(0, 80)}… (${text.length})` : text;
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const a = got[i];
    const b = want[i];
    if (a?.t === b?.t && a?.text === b?.text) continue;
    let at = 0;
    while (a && b && a.text[at] === b.text[at]) at++;
    return `line ${i} of ${got.length} (want ${want.length}): got ${a?.t} ${
      a ? JSON.stringify(short(a.text.slice(Math.max(0, at - 20)))) : "nothing"
    }, want ${b?.t} ${b ? JSON.stringify(short(b.text.slice(Math.max(0, at - 20)))) : "nothing"}` +
      ` (text differs from ${at})`;
  }
  return undefined;
}

/** Renders `events` as v2 and as v3; both must equal `expected`, line for line. */
async function assertRendered(
  events: Events,
  size: Size,
  expected: { t: number; text: string }[],
): Promise<void> {
  const v2 = await renderCast(v2Cast(events, size), 4093);
  const v3 = await renderCast(v3Cast(events, size), 65_521);
  assert.equal(difference(v2, expected), undefined, "v2");
  assert.equal(difference(v3, v2), undefined, "v3 gives what v2 gives");
}

Deno.test("row 1: 360 lines across five changes of width (and height): each once, in order, with its time", async () => {
  const events: Events = [];
  const expected: { t: number; text: string }[] = [];
  const sizes = ["50x10", "100x30", "30x8", "120x40", "60x24"];
  for (let i = 0; i < 360; i++) {
    if (i > 0 && i % 60 === 0) events.push([i / 2 - 0.25, "r", sizes[i / 60 - 1]]);
    // 5 to 75 characters: some wrap at the narrow widths, none at 80.
    const text = `L${String(i).padStart(3, "0")}` + " abcdefghij".repeat(i % 8);
    events.push([i / 2, `${text}\r\n`]);
    expected.push({ t: i / 2, text });
  }
  events.push([181, "$ "]);
  expected.push({ t: 181, text: "$" });
  await assertRendered(events, { cols: 80, rows: 24 }, expected);
});

Deno.test("row 2: a 400 KB line at 80 columns comes out whole, once, start included", async () => {
  let long = "BEGIN ";
  for (let i = 0; long.length < 400_000; i++) long += String(i).padStart(7, "0") + ";";
  long = long.slice(0, 400_000 - 4) + " END";
  const events: Events = [[0.5, "$ cat min.js\r\n"]];
  for (let at = 0, k = 0; at < long.length; at += 4096, k++) {
    events.push([1 + k / 100, long.slice(at, at + 4096)]);
  }
  const last = 1 + (Math.ceil(long.length / 4096) - 1) / 100;
  events.push([9, "\r\n$ echo ok\r\nok\r\n$ "]);
  await assertRendered(events, { cols: 80, rows: 24 }, [
    { t: 0.5, text: "$ cat min.js" },
    { t: last, text: long },
    { t: 9, text: "$ echo ok" },
    { t: 9, text: "ok" },
    { t: 9, text: "$" },
  ]);
});

Deno.test("row 2 with a resize: a long line being written when the width changes is neither cut nor doubled", async () => {
  const long = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(" "); // ~17 KB
  const events: Events = [[0.5, "$ cat words\r\n"]];
  const half = Math.floor(long.length / 2);
  events.push([1, long.slice(0, half)]);
  events.push([2, "r", "37x9"]);
  events.push([3, long.slice(half)]);
  events.push([4, "r", "101x30"]);
  events.push([5, "\r\n$ "]);
  await assertRendered(events, { cols: 80, rows: 24 }, [
    { t: 0.5, text: "$ cat words" },
    { t: 3, text: long }, // its text was final at 3 (a rewrap is no change)
    { t: 5, text: "$" },
  ]);
  // Far longer than the scrollback at the narrow width, with several width changes mid-line.
  let huge = "";
  for (let i = 0; huge.length < 200_000; i++) huge += `<${i}>`;
  const many: Events = [];
  const step = 10_000;
  for (let at = 0, k = 0; at < huge.length; at += step, k++) {
    many.push([1 + k, huge.slice(at, at + step)]);
    if (k % 4 === 1) many.push([1.5 + k, "r", k % 8 === 1 ? "23x11" : "90x20"]);
  }
  const end = Math.ceil(huge.length / step) + 1;
  many.push([end, "\r\ndone\r\n"]);
  await assertRendered(many, { cols: 80, rows: 24 }, [
    { t: end - 1, text: huge },
    { t: end, text: "done" },
  ]);
});

Deno.test("row 3: docker-pull redraws (cursor up, rewrite, cursor back) take the time of the rewrite", async () => {
  const events: Events = [
    [0.5, "$ docker pull app\r\n"],
    [1, "layer1: Waiting\r\nlayer2: Waiting\r\n"],
    [1.5, "\x1b[2A\x1b[2K\rlayer1: Downloading\x1b[2B\r"],
    [30, "\x1b[1A\x1b[2K\rlayer2: Downloading 50%\x1b[1B\r"],
    [60, "\x1b[2A\x1b[2K\rlayer1: Pull complete\x1b[1B\x1b[2K\rlayer2: Pull complete\x1b[1B\r"],
    [61, "Status: Downloaded\r\n$ "],
  ];
  await assertRendered(events, { cols: 60, rows: 10 }, [
    { t: 0.5, text: "$ docker pull app" },
    { t: 60, text: "layer1: Pull complete" },
    { t: 60, text: "layer2: Pull complete" },
    { t: 61, text: "Status: Downloaded" },
    { t: 61, text: "$" },
  ]);
  // The same with absolute positioning (CUP) and a save/restore of the cursor.
  const cup: Events = [
    [1, "one\r\ntwo\r\nthree\r\n"],
    [2, "\x1b7\x1b[1;1Hone: done\x1b8"],
    [3, "\x1b[2;1H\x1b[Ktwo: done\x1b[4;1H"],
    [4, "four\r\n"],
  ];
  await assertRendered(cup, { cols: 40, rows: 6 }, [
    { t: 2, text: "one: done" },
    { t: 3, text: "two: done" },
    { t: 1, text: "three" },
    { t: 4, text: "four" },
  ]);
});

Deno.test("row 4: lines on the screen when the width changes keep their own times", async () => {
  const events: Events = [
    [1, "one\r\n"],
    [2, "two is a longer line of text\r\n"],
    [3, "$ "],
    [10, "r", "12x6"],
    [11, "r", "50x6"],
    [12, "ls\r\n"],
    [13, "a.txt\r\n$ "],
  ];
  await assertRendered(events, { cols: 40, rows: 6 }, [
    { t: 1, text: "one" },
    { t: 2, text: "two is a longer line of text" },
    { t: 12, text: "$ ls" },
    { t: 13, text: "a.txt" },
    { t: 13, text: "$" },
  ]);
});

Deno.test("row 5: emoji and CJK take two columns, as wcwidth and modern terminals count them", async () => {
  const events: Events = [
    [1, "✅ done\x1b[4GZ\r\n"], // the program puts Z on column 4: after "✅ "
    [2, "🚀 launch\r\x1b[3CL\r\n"],
    [3, "日本語 text\x1b[8GT\r\n"],
    [4, "⚠️ ok\r\n"],
  ];
  await assertRendered(events, { cols: 40, rows: 6 }, [
    { t: 1, text: "✅ Zone" },
    { t: 2, text: "🚀 Launch" },
    { t: 3, text: "日本語 Text" },
    { t: 4, text: "⚠️ ok" },
  ]);
  // A wide character that does not fit at the end of a row wraps whole, without a gap.
  const wrap: Events = [[1, "x".repeat(9) + "日本\r\n"]];
  await assertRendered(wrap, { cols: 10, rows: 4 }, [{ t: 1, text: "x".repeat(9) + "日本" }]);
});

Deno.test("row 6: an idle prompt keeps the time it was shown while title, cursor and same-text redraws arrive", async () => {
  const events: Events = [
    [1, "$ ls\r\na.txt\r\n"],
    [2, "$ "],
  ];
  for (let t = 10; t <= 60; t += 10) {
    events.push([t, `\x1b]0;idle ${t}\x07\x1b[?25l\x1b[?25h`]);
    events.push([t + 0.5, "\r$ "]); // the shell redraws the same prompt
  }
  await assertRendered(events, { cols: 40, rows: 6 }, [
    { t: 1, text: "$ ls" },
    { t: 1, text: "a.txt" },
    { t: 2, text: "$" },
  ]);
});

Deno.test("a resize while a full-screen program runs on the alternate screen keeps the normal screen's lines and times", async () => {
  const events: Events = [
    [1, "first line of the session\r\n"],
    [2, "$ vim\r\n"],
    [3, "\x1b[?1049h\x1b[H\x1b[2Jediting"],
    [4, "r", "15x5"],
    [5, "r", "70x8"],
    [6, "\x1b[?1049l$ "],
    [7, "exit\r\n"],
  ];
  await assertRendered(events, { cols: 40, rows: 6 }, [
    { t: 1, text: "first line of the session" },
    { t: 2, text: "$ vim" },
    { t: 7, text: "$ exit" },
  ]);
});

Deno.test("apt-style output in a scroll region above a progress bar: each line with its time, the bar gone", async () => {
  const events: Events = [[0.5, "$ apt install x\r\n"], [1, "\n\x1b7\x1b[0;5r\x1b8\x1b[1A"]];
  const expected = [{ t: 0.5, text: "$ apt install x" }];
  for (let i = 0; i < 12; i++) {
    const t = 2 + i;
    events.push([t, `Unpacking pkg${i} ...\r\n`]);
    events.push([t + 0.5, `\x1b7\x1b[6;1H\x1b[KProgress: [${"#".repeat(i)}]\x1b8`]);
    expected.push({ t, text: `Unpacking pkg${i} ...` });
  }
  events.push([20, "\x1b7\x1b[0;6r\x1b8\x1b[6;1H\x1b[K\x1b[5;1H$ "]);
  expected.push({ t: 20, text: "$" });
  await assertRendered(events, { cols: 40, rows: 6 }, expected);
});

Deno.test("a full reset (ESC c) keeps every line shown before it, with its time", async () => {
  const events: Events = [
    [1, "one\r\ntwo\r\n"],
    [2, "three\x1bc"],
    [3, "after\r\n$ "],
  ];
  await assertRendered(events, { cols: 40, rows: 6 }, [
    { t: 1, text: "one" },
    { t: 1, text: "two" },
    { t: 2, text: "three" },
    { t: 3, text: "after" },
    { t: 3, text: "$" },
  ]);
});
