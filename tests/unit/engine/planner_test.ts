/**
 * The planner's rules, one test each, through the pure function: no
 * subprocess, no file, no sleep. Times are monotonic milliseconds.
 */
import assert from "node:assert/strict";
import {
  type CheckpointView,
  type FileFacts,
  newProgress,
  plan,
  type PlanInput,
  type Progress,
} from "../../../lib/engine/watch/planner.ts";
import { backoffMs, nextRetry } from "../../../lib/sys/async.ts";
import { pushTimeoutMs, selectBatch } from "../../../lib/engine/publish/batch.ts";
import type { PendingChunk } from "../../../lib/chunk/state.ts";

const LIMITS = { idleMs: 1000, maxAgeMs: 10_000, maxBytes: 100 };

function facts(patch: Partial<FileFacts> = {}): FileFacts {
  return {
    present: true,
    problem: null,
    headerReady: true,
    ino: 7,
    size: 50,
    ended: null,
    ...patch,
  };
}

function checkpoint(patch: Partial<CheckpointView> = {}): CheckpointView {
  return { cut_offset: 20, ino: 7, final: false, manifest_pushed: false, done: false, ...patch };
}

function input(
  patch: {
    facts?: Partial<FileFacts>;
    checkpoint?: Partial<CheckpointView> | null;
    progress?: Partial<Progress>;
    onceUpTo?: number;
  } = {},
): PlanInput {
  return {
    facts: facts(patch.facts),
    checkpoint: patch.checkpoint === null ? undefined : checkpoint(patch.checkpoint ?? {}),
    progress: { ...newProgress(0), ...patch.progress },
    limits: { ...LIMITS, onceUpTo: patch.onceUpTo },
  };
}

Deno.test("rule 1: a pushed manifest means finish, unless a failed finish backs off", () => {
  assert.deepEqual(plan(input({ checkpoint: { manifest_pushed: true, final: true } }), 5), {
    type: "finish",
  });
  const retry = { failures: 1, at: 9000, error: "EXDEV" };
  assert.deepEqual(
    plan(input({ checkpoint: { manifest_pushed: true }, progress: { finishRetry: retry } }), 5),
    { type: "wait", until: 9000 },
  );
  // Finished even when the file is gone (a crash after the move).
  assert.equal(
    plan(input({ facts: { present: false }, checkpoint: { manifest_pushed: true } }), 5).type,
    "finish",
  );
});

Deno.test("rule 1: a provisional generation whose answer from the branch has come settles first; without one it is cut as usual", () => {
  const provisional = { provisional: true };
  assert.deepEqual(plan({ ...input({ checkpoint: provisional }), answered: true }, 5_000), {
    type: "settle",
  });
  // Even gone or final: it still needs to learn where it goes on the branch.
  assert.deepEqual(
    plan({
      ...input({ checkpoint: { ...provisional, final: true }, facts: { present: false } }),
      answered: true,
    }, 5),
    { type: "settle" },
  );
  // No answer yet: cut into the spool like any other (nothing is published meanwhile).
  assert.deepEqual(plan(input({ checkpoint: provisional }), 5_000), {
    type: "cut",
    upTo: 50,
    final: false,
    reason: "idle",
  });
});

Deno.test("rule 2: a file gone before its end closes the generation; once final, nothing", () => {
  assert.deepEqual(plan(input({ facts: { present: false } }), 5), { type: "close" });
  assert.deepEqual(
    plan(input({ facts: { present: false }, checkpoint: { final: true } }), 5),
    { type: "idle" },
  );
  assert.deepEqual(plan(input({ facts: { present: false }, checkpoint: null }), 5), {
    type: "idle",
  });
});

Deno.test("rule 3: a file that is no recording is held; a header still being written waits", () => {
  assert.deepEqual(plan(input({ facts: { problem: "a symlink" } }), 5), {
    type: "hold",
    reason: "a symlink",
  });
  assert.deepEqual(plan(input({ facts: { headerReady: false } }), 5), { type: "idle" });
});

Deno.test("rule 3: a file that ended before its header was whole (empty, one line without its newline) is backed up as it is", () => {
  const ended = { headerReady: false, ended: "its .json says it ended" };
  assert.deepEqual(plan(input({ facts: { ...ended, size: 0 }, checkpoint: null }), 5), {
    type: "resolve",
  });
  assert.deepEqual(
    plan(input({ facts: { ...ended, size: 0 }, checkpoint: { cut_offset: 0 } }), 5),
    { type: "cut", upTo: 0, final: true, reason: "end" },
  );
  assert.deepEqual(
    plan(input({ facts: { ...ended, size: 41 }, checkpoint: { cut_offset: 0 } }), 5),
    { type: "cut", upTo: 41, final: true, reason: "end" },
  );
  // Once final, it waits for publishing and then finishes like any other.
  assert.deepEqual(plan(input({ facts: { ...ended, size: 20 }, checkpoint: { final: true } }), 5), {
    type: "idle",
  });
});

Deno.test("rule 4: no checkpoint yet means resolve (where to start) before any cut", () => {
  assert.deepEqual(plan(input({ checkpoint: null }), 5), { type: "resolve" });
  // A look-up under way: nothing to do (no task started and ended on every tick) until it ends.
  assert.deepEqual(plan({ ...input({ checkpoint: null }), resolving: true }, 5), { type: "idle" });
});

Deno.test("rule 5: another inode, a shorter file, a fingerprint mismatch or growth after the end is a new generation", () => {
  assert.equal(plan(input({ facts: { ino: 8 } }), 5).type, "new-generation");
  assert.equal(plan(input({ facts: { size: 10 } }), 5).type, "new-generation");
  assert.equal(
    plan(input({ progress: { mismatch: "rewritten" } }), 5).type,
    "new-generation",
  );
  assert.equal(
    plan(input({ checkpoint: { final: true, cut_offset: 40 }, facts: { size: 41 } }), 5).type,
    "new-generation",
  );
  // Unknown inodes (platforms without them) compare by size and fingerprint only.
  assert.notEqual(plan(input({ facts: { ino: null } }), 5).type, "new-generation");
});

Deno.test("rule 6: a final generation waits for publishing", () => {
  assert.deepEqual(plan(input({ checkpoint: { final: true, cut_offset: 50 } }), 5), {
    type: "idle",
  });
});

Deno.test("rule 7: a failed cut is retried only when its backoff ends, not before", () => {
  const retry = nextRetry(null, { now: 100, error: "disk full", capSeconds: 300 });
  assert.equal(retry.at, 2100);
  assert.deepEqual(plan(input({ progress: { cutRetry: retry } }), 2000), {
    type: "wait",
    until: 2100,
  });
  assert.equal(plan(input({ progress: { cutRetry: retry } }), 2100).type, "cut");
  // Even an ended recording's final cut backs off (no busy loop).
  assert.equal(
    plan(input({ facts: { ended: "exit event" }, progress: { cutRetry: retry } }), 2000).type,
    "wait",
  );
});

Deno.test("rule 8: an ended recording is cut to its end, final, even with nothing new", () => {
  assert.deepEqual(plan(input({ facts: { ended: "exit event" } }), 5), {
    type: "cut",
    upTo: 50,
    final: true,
    reason: "end",
  });
  assert.deepEqual(plan(input({ facts: { ended: "gone", size: 20 } }), 5), {
    type: "cut",
    upTo: 20,
    final: true,
    reason: "end",
  });
});

Deno.test("rule 9: run --once cuts up to the size it started with, never beyond", () => {
  assert.deepEqual(plan(input({ onceUpTo: 40, facts: { size: 90 } }), 5), {
    type: "cut",
    upTo: 40,
    final: false,
    reason: "once",
  });
  assert.deepEqual(plan(input({ onceUpTo: 20, facts: { size: 90 } }), 5), { type: "idle" });
  // What it cut already (a partial line left) is not cut again: the pass ends.
  assert.deepEqual(
    plan(input({ onceUpTo: 40, progress: { noLineUntil: 40 }, facts: { size: 90 } }), 5),
    { type: "idle" },
  );
});

Deno.test("rule 10: pending bytes without a complete line wait for growth, not a rescan per tick", () => {
  assert.deepEqual(
    plan(input({ progress: { noLineUntil: 50, grewAt: -5000 }, facts: { size: 50 } }), 5),
    { type: "idle" },
  );
  // Growth beyond what was searched: planned again.
  assert.equal(
    plan(input({ progress: { noLineUntil: 50, grewAt: -5000 }, facts: { size: 60 } }), 5).type,
    "cut",
  );
  // A partial line longer than max_chunk_bytes does not trigger size cuts either.
  assert.deepEqual(
    plan(input({ progress: { noLineUntil: 500 }, facts: { size: 500 } }), 5),
    { type: "idle" },
  );
});

Deno.test("rule 11: size, idle and age trigger a cut up to the size seen now; otherwise wait for the earlier deadline", () => {
  assert.deepEqual(plan(input({ facts: { size: 120 }, progress: { grewAt: 5 } }), 5), {
    type: "cut",
    upTo: 120,
    final: false,
    reason: "size",
  });
  assert.deepEqual(plan(input({ progress: { grewAt: 0 } }), 1000), {
    type: "cut",
    upTo: 50,
    final: false,
    reason: "idle",
  });
  assert.deepEqual(
    plan(input({ progress: { grewAt: 20_000, pendingSince: 10_000 } }), 20_000),
    { type: "cut", upTo: 50, final: false, reason: "age" },
  );
  assert.deepEqual(
    plan(input({ progress: { grewAt: 500, pendingSince: 0 } }), 600),
    { type: "wait", until: 1500 },
  );
  assert.deepEqual(
    plan(input({ progress: { grewAt: 9500, pendingSince: 0 } }), 9600),
    { type: "wait", until: 10_000 },
  );
  assert.deepEqual(plan(input({ facts: { size: 20 } }), 5), { type: "idle" });
});

Deno.test("backoff doubles from two seconds up to the cap", () => {
  assert.deepEqual([1, 2, 3, 4, 10].map((n) => backoffMs(n, { capSeconds: 10 })), [
    2000,
    4000,
    8000,
    10_000,
    10_000,
  ]);
  const first = nextRetry(null, { now: 0, error: "x", capSeconds: 300 });
  assert.equal(nextRetry(first, { now: 2000, error: "y", capSeconds: 300 }).at, 6000);
});

function chunk(seq: number, bytes: number): PendingChunk {
  return { seq, start: seq * 10, end: seq * 10 + 10, sha256: "0".repeat(64), bytes, cut_at: "" };
}

Deno.test("batches stop at push_batch_bytes (at least one chunk); a manifest rides with its last chunk", () => {
  const a = { id: "a", pending: [chunk(0, 40), chunk(1, 40)], final: true, manifest_pushed: false };
  const b = { id: "b", pending: [chunk(0, 30)], final: false, manifest_pushed: false };
  const small = selectBatch([a, b], { maxBytes: 50 });
  assert.deepEqual(small.items.map((item) => [item.source.id, item.chunks.length, item.manifest]), [
    ["a", 1, false],
  ]);
  assert.equal(small.more, true);
  const big = selectBatch([a, b], { maxBytes: 1000 });
  assert.deepEqual(big.items.map((item) => [item.source.id, item.chunks.length, item.manifest]), [
    ["a", 2, true],
    ["b", 1, false],
  ]);
  assert.equal(big.more, false);
  const huge = selectBatch([{ ...b, pending: [chunk(0, 5000)] }], { maxBytes: 50 });
  assert.equal(huge.items[0].chunks.length, 1);
  const manifestOnly = selectBatch([{ ...a, pending: [] }], { maxBytes: 50 });
  assert.deepEqual(manifestOnly.items.map((item) => item.manifest), [true]);
});

Deno.test("a push's timeout grows with its bytes", () => {
  const options = { baseSeconds: 120, minBytesPerSecond: 16 * 1024 };
  assert.equal(pushTimeoutMs(0, options), 120_000);
  // 1.96 MB over a link given 16 KiB/s: 120 s + 120 s.
  assert.equal(pushTimeoutMs(1_966_080, options), 240_000);
});
