/**
 * `daemon.ts logs`: -n, --errors, --since, --json, raw lines, and --follow
 * across rotation (by renaming, as LogTape's rotating file sink does, and
 * with the real sink).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runLogs } from "../../../lib/cli/mod.ts";
import { log, setupLogging, shutdownLogging } from "../../../lib/sys/mod.ts";
import {
  followLog,
  parseLogLine,
  parseSince,
  readLinesBackward,
  tailLog,
} from "../../../lib/status/mod.ts";
import { makeTestHome, type TestHome, waitFor } from "../../support/env.ts";

const NOW = Date.parse("2025-03-01T12:00:00Z");

function line(
  message: string,
  options: { level?: string; at?: number; logger?: string; properties?: object } = {},
): string {
  return JSON.stringify({
    "@timestamp": new Date(options.at ?? NOW).toISOString(),
    level: options.level ?? "INFO",
    message,
    logger: options.logger ?? "chunker.publisher",
    properties: options.properties ?? {},
  }) + "\n";
}

async function setup(): Promise<TestHome> {
  const home = await makeTestHome();
  await Deno.mkdir(home.paths.logs, { recursive: true });
  return home;
}

async function logs(
  home: TestHome,
  options: Parameters<typeof runLogs>[0],
): Promise<{ code: number; lines: string[]; errors: string[] }> {
  let out = "";
  const errors: string[] = [];
  const code = await runLogs(options, {
    paths: home.paths,
    write: (text) => {
      out += text;
    },
    writeError: (text) => errors.push(text),
    color: false,
    now: NOW,
  });
  return { code, lines: out.split("\n").filter((item) => item !== ""), errors };
}

Deno.test("-n shows the last N lines, reaching into the rotated file; default 50", async () => {
  const home = await setup();
  try {
    let older = "";
    for (let i = 0; i < 40; i++) older += line(`message ${i}`, { at: NOW - 100_000 + i });
    let newer = "";
    for (let i = 40; i < 70; i++) newer += line(`message ${i}`, { at: NOW - 100_000 + i });
    await Deno.writeTextFile(`${home.paths.logFile}.1`, older);
    await Deno.writeTextFile(home.paths.logFile, newer);

    let result = await logs(home, { lines: 3 });
    assert.equal(result.code, 0);
    assert.equal(result.lines.length, 3);
    assert.match(result.lines[0], /INFO {2}publisher: message 67$/);
    assert.match(result.lines[2], /message 69$/);

    result = await logs(home, {});
    assert.equal(result.lines.length, 50);
    assert.match(result.lines[0], /message 20$/);
    assert.match(result.lines[49], /message 69$/);

    result = await logs(home, { lines: 500 });
    assert.equal(result.lines.length, 70);

    result = await logs(home, { lines: 2, json: true });
    assert.deepEqual(result.lines, newer.trimEnd().split("\n").slice(-2));
  } finally {
    await home.cleanup();
  }
});

Deno.test("lines that are not JSON are shown as they are; properties not in the message are shown", async () => {
  const home = await setup();
  try {
    await Deno.writeTextFile(
      home.paths.logFile,
      line('Pushed 2 chunk(s) to "main"', { properties: { count: 2, branch: "main" } }) +
        "plain text from somewhere\n" +
        line("scan failed", {
          level: "ERROR",
          properties: { error: { name: "TypeError", message: "bad thing" }, id: "rec-1" },
        }) +
        '{"not": "a log record"\n',
    );
    const result = await logs(home, {});
    assert.equal(result.lines.length, 4);
    assert.match(
      result.lines[0],
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO {2}publisher: Pushed 2 chunk\(s\) to "main"$/,
    );
    assert.equal(result.lines[1], "plain text from somewhere");
    assert.match(
      result.lines[2],
      /ERROR publisher: scan failed {2}error=TypeError: bad thing id=rec-1$/,
    );
    assert.equal(result.lines[3], '{"not": "a log record"');
  } finally {
    await home.cleanup();
  }
});

Deno.test("--errors keeps warnings and errors (with their continuation lines)", async () => {
  const home = await setup();
  try {
    await Deno.writeTextFile(
      home.paths.logFile,
      line("started") +
        line("push failed", { level: "WARNING" }) +
        line("checked", { level: "DEBUG" }) +
        line("health write failed", { level: "ERROR" }) +
        "  at stack frame 1\n" +
        line("pushed") +
        "  unrelated continuation\n" +
        line("other warning", { level: "WARN" }),
    );
    const result = await logs(home, { errors: true });
    assert.equal(result.lines.length, 4);
    assert.match(result.lines[0], /WARN {2}publisher: push failed$/);
    assert.match(result.lines[1], /ERROR publisher: health write failed$/);
    assert.equal(result.lines[2], "  at stack frame 1");
    assert.match(result.lines[3], /WARN {2}publisher: other warning$/);

    const last = await logs(home, { errors: true, lines: 1 });
    assert.equal(last.lines.length, 1);
    assert.match(last.lines[0], /other warning/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("--since takes 10m, 2h and ISO times", async () => {
  const home = await setup();
  try {
    let text = "";
    for (const minutes of [180, 90, 30, 9, 1]) {
      text += line(`${minutes} minutes ago`, { at: NOW - minutes * 60_000 });
    }
    // The oldest ones are in the rotated file.
    await Deno.writeTextFile(
      `${home.paths.logFile}.1`,
      line("a day ago", { at: NOW - 86_400_000 }),
    );
    await Deno.writeTextFile(home.paths.logFile, text);

    let result = await logs(home, { since: "10m" });
    assert.deepEqual(result.lines.map((item) => item.replace(/^.*: /, "")), [
      "9 minutes ago",
      "1 minutes ago",
    ]);
    result = await logs(home, { since: "2h" });
    assert.equal(result.lines.length, 4);
    result = await logs(home, { since: new Date(NOW - 31 * 60_000).toISOString() });
    assert.equal(result.lines.length, 3);
    result = await logs(home, { since: "2d" });
    assert.equal(result.lines.length, 6);
    result = await logs(home, { since: "1h", errors: true });
    assert.equal(result.lines.length, 0);

    result = await logs(home, { since: "yesterday" });
    assert.equal(result.code, 2);
    assert.match(result.errors[0], /expected a duration such as 30s, 10m/);
    assert.throws(() => parseSince("10 parsecs"));
    assert.equal(parseSince("90s", NOW).getTime(), NOW - 90_000);
  } finally {
    await home.cleanup();
  }
});

Deno.test("no log yet: says so and exits 0", async () => {
  const home = await setup();
  try {
    const result = await logs(home, {});
    assert.equal(result.code, 0);
    assert.equal(result.lines.length, 0);
    assert.match(result.errors[0], /No log yet/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("reading backwards handles long lines, multi-byte text and a missing newline", async () => {
  const home = await setup();
  try {
    const long = "é".repeat(100_000);
    const path = join(home.root, "x.log");
    await Deno.writeTextFile(path, `first\n${long}\n\n\nlast without newline`);
    const lines: string[] = [];
    for await (const item of readLinesBackward(path)) lines.push(item);
    assert.deepEqual(lines, ["last without newline", long, "first"]);
    assert.equal(parseLogLine(line("x")).message, "x");
    assert.deepEqual(await tailLog(join(home.root, "absent.log")), []);
  } finally {
    await home.cleanup();
  }
});

Deno.test("--follow keeps following across a rotation", async () => {
  const home = await setup();
  const controller = new AbortController();
  try {
    const file = home.paths.logFile;
    await Deno.writeTextFile(file, line("before 1") + line("before 2"));
    let out = "";
    const following = runLogs({ lines: 1, follow: true }, {
      paths: home.paths,
      write: (text) => {
        out += text;
      },
      writeError: () => {},
      color: false,
      signal: controller.signal,
      pollMs: 20,
    });
    const seen = () =>
      out.split("\n").filter((item) => item !== "").map((item) => item.replace(/^.*: /, ""));
    await waitFor(() => seen().includes("before 2"), { what: "the tail", timeoutMs: 60_000 });

    await Deno.writeTextFile(file, line("appended 1"), { append: true });
    await waitFor(() => seen().includes("appended 1"), {
      what: "appended line",
      timeoutMs: 60_000,
    });

    // A line half written, then completed: shown once, whole.
    await Deno.writeTextFile(file, line("split line").slice(0, 30), { append: true });
    await Deno.writeTextFile(file, line("split line").slice(30) + line("last of old file"), {
      append: true,
    });
    // Rotation the way @logtape/file does it: rename to .1, create a new file.
    await Deno.rename(file, `${file}.1`);
    await Deno.writeTextFile(file, line("new file 1") + line("new file 2", { level: "ERROR" }));
    await waitFor(() => seen().includes("new file 2"), {
      what: "lines after rotation",
      timeoutMs: 60_000,
    });

    // And once more, twice in a row between polls.
    await Deno.writeTextFile(file, line("gen2 tail"), { append: true });
    await Deno.rename(`${file}.1`, `${file}.2`);
    await Deno.rename(file, `${file}.1`);
    await Deno.writeTextFile(file, line("gen3"));
    await Deno.rename(`${file}.2`, `${file}.3`);
    await Deno.rename(`${file}.1`, `${file}.2`);
    await Deno.rename(file, `${file}.1`);
    await Deno.writeTextFile(file, line("gen4"));
    await waitFor(() => seen().includes("gen4"), {
      what: "lines after two rotations",
      timeoutMs: 60_000,
    });

    controller.abort();
    assert.equal(await following, 0);
    assert.deepEqual(seen(), [
      "before 2",
      "appended 1",
      "split line",
      "last of old file",
      "new file 1",
      "new file 2",
      "gen2 tail",
      "gen3",
      "gen4",
    ]);
  } finally {
    controller.abort();
    await home.cleanup();
  }
});

Deno.test("--follow --errors with the real rotating sink: every line once, in order", async () => {
  const home = await setup();
  const controller = new AbortController();
  try {
    const file = home.paths.logFile;
    await setupLogging({ logFile: file, maxBytes: 4096 });
    log("test").info("startup");
    log("test").warn("warning {i}", { i: -1 });
    const expected: string[] = ["warning -1"];
    const got: string[] = [];
    const following = runLogs({ lines: 1000, follow: true, errors: true, json: true }, {
      paths: home.paths,
      write: (text) => {
        for (const item of text.split("\n")) if (item) got.push(JSON.parse(item).message);
      },
      writeError: () => {},
      signal: controller.signal,
      pollMs: 20,
    });
    // Shown by the tail: following has started from there.
    await waitFor(() => got.length >= 1, { what: "the tail", timeoutMs: 10_000 });
    for (let i = 0; i < 60; i++) {
      log("test").info("filler line {i} {pad}", { i, pad: "x".repeat(100) });
      log("test").warn("warning {i}", { i });
      expected.push(`warning ${i}`);
      if (i % 10 === 9) {
        // About two rotations per batch (the real sink rotates at 10 MiB).
        await waitFor(() => got.length >= expected.length, {
          what: `warnings up to ${i} (got ${got.length})`,
          timeoutMs: 10_000,
        });
      }
    }
    controller.abort();
    await following;
    assert.deepEqual(got, expected);
    assert.ok((await Deno.stat(`${file}.1`)).isFile, "the sink rotated");
  } finally {
    controller.abort();
    await shutdownLogging();
    await home.cleanup();
  }
});

Deno.test("--follow that starts after two rotations still reads the rest of the tailed file and the one between", async () => {
  const home = await setup();
  const controller = new AbortController();
  try {
    const file = home.paths.logFile;
    // The tail read up to "a1" of the file that was the log then.
    await Deno.writeTextFile(file, line("a1"));
    const tailed = await Deno.stat(file);
    await Deno.writeTextFile(file, line("a2"), { append: true });
    // Two rotations before following starts (as on a busy machine): that file is now `.2`.
    await Deno.rename(file, `${file}.1`);
    await Deno.writeTextFile(file, line("b1"));
    await Deno.rename(`${file}.1`, `${file}.2`);
    await Deno.rename(file, `${file}.1`);
    await Deno.writeTextFile(file, line("c1"));
    const got: string[] = [];
    const following = followLog(file, {
      signal: controller.signal,
      start: { ino: tailed.ino, offset: tailed.size },
      pollMs: 20,
      onLine: (entry) => {
        got.push(JSON.parse(entry.raw).message);
      },
    });
    await waitFor(() => got.includes("c1"), { what: "the current file's line", timeoutMs: 60_000 });
    controller.abort();
    await following;
    assert.deepEqual(got, ["a2", "b1", "c1"]);
  } finally {
    controller.abort();
    await home.cleanup();
  }
});
