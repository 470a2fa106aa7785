/**
 * The printers for people escape text from outside (issue 23, point 7),
 * without a subprocess: the log view, the status report, search and text
 * lines. Colours of our own still reach a terminal; data's controls do not.
 */
import assert from "node:assert/strict";
import { parseLogLine, renderLogEntry, renderStatus } from "../../../lib/status/mod.ts";
import type { StatusReport } from "../../../lib/status/mod.ts";
import { formatMatchText, formatTextLine } from "../../../lib/text/mod.ts";
import { termSafe } from "../../../lib/sys/mod.ts";
import { findRawControl, HOSTILE_STRINGS } from "../../support/hostile_text.ts";

const ALL = HOSTILE_STRINGS.map((hostile) => hostile.text).join(" ");

/** Our own colour codes, which are meant for the terminal. */
// deno-lint-ignore no-control-regex -- matching our own SGR codes is the point
const COLOUR = /\x1b\[[0-9;]*m/g;

Deno.test("a log line's message, logger, level and properties, and a raw line, are escaped; colours stay", () => {
  const json = JSON.stringify({
    "@timestamp": "2025-01-31T14:00:00.000Z",
    level: "ERROR",
    logger: `chunker.${HOSTILE_STRINGS[1].text}`,
    message: `push failed: ${ALL}`,
    properties: { remote: ALL, error: { name: "Error", message: ALL } },
  });
  for (const color of [false, true]) {
    const line = renderLogEntry(parseLogLine(json), { color });
    const data = color ? line.replace(COLOUR, "") : line;
    assert.equal(findRawControl(data), undefined, data);
    assert.ok(line.includes(termSafe(HOSTILE_STRINGS[0].text)), line);
  }
  assert.ok(renderLogEntry(parseLogLine(json), { color: true }).includes("\x1b[31m"));
  const raw = renderLogEntry(parseLogLine(`not json ${ALL}`));
  assert.equal(findRawControl(raw), undefined, raw);
  assert.ok(!raw.includes("\n"));
});

Deno.test("every string of the status report is escaped (and redacted) when rendered; the report itself is untouched", () => {
  const key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
  const report = {
    generated_at: "2025-01-31T14:00:00.000Z",
    verdict: "degraded",
    exit_code: 1,
    service: { installed: false, running: true, pid: 1, manager: "none", detail: ALL },
    daemon: {
      health_found: true,
      status: `degraded${HOSTILE_STRINGS[4].text}`,
      message: ALL,
      heartbeat: `never${HOSTILE_STRINGS[0].text}`,
      heartbeat_interval_seconds: 15,
      heartbeat_stale: false,
      last_push: null,
      chunks_pushed: 0,
    },
    problems: [`recording x is held: ${ALL}`, `config.json is invalid: ${key}`],
    recordings: [{
      id: `rec${ALL}`,
      state: "held",
      size: 1,
      bytes_pushed: 0,
      spool_chunks: 0,
      spool_bytes: 0,
      oldest_pending_age_seconds: null,
      last_error: ALL,
    }],
    finished_waiting: [],
    remotes: [{
      url: `/tmp/r${ALL}`,
      branch: `b${HOSTILE_STRINGS[5].text}`,
      last_error: ALL,
      error_kind: "rejected",
      failing_seconds: 5,
      last_push: null,
      queued_chunks: 1,
      next_retry_at: null,
      visibility: null,
    }],
    secrets: [{ service: "asciinema-github-pat", present: null, error: ALL, purpose: "" }],
    notifiers: [{ name: "ntfy", configured: null, detail: ALL }],
    log_tail: [ALL],
    next_steps: [ALL],
  } as unknown as StatusReport;
  const before = JSON.stringify(report);
  for (const color of [false, true]) {
    const text = renderStatus(report, { color });
    const data = color ? text.replace(COLOUR, "") : text;
    assert.equal(findRawControl(data), undefined, data);
    assert.ok(text.includes(`rec${termSafe(ALL)}`), text);
    assert.ok(!text.includes(key.slice(20)), "a key in a problem is redacted");
  }
  assert.equal(JSON.stringify(report), before, "--json prints the report as it is");
});

Deno.test("search and text lines escape the id and the text on a terminal", () => {
  const line = { t: 1, text: ALL };
  const match = { line, number: 1, before: [line], after: [line] };
  const out = formatMatchText(`id${ALL}`, match);
  assert.equal(findRawControl(out), undefined, out);
  assert.equal(out.split("\n").length, 4, "three rows and the final newline: no forged row");
  for (const timestamps of [false, true]) {
    const text = formatTextLine(line, timestamps, { terminal: true });
    assert.equal(findRawControl(text), undefined, text);
    assert.equal(text.split("\n").length, 2);
  }
  // To a file (`text -o`) the text is exact.
  assert.equal(formatTextLine(line, false), `${ALL}\n`);
});
