/**
 * When a remote's waiting work is pushed (lib/engine/publish/push_timing.ts, pure):
 * a backlog (size cuts) goes at once, never after `push_interval_seconds`;
 * a busy terminal's age cuts wait the interval to share a push.
 */
import assert from "node:assert/strict";
import { newState, type PendingChunk, type RecordingState } from "../../../lib/chunk/mod.ts";
import { isUrgent, pushNotBefore } from "../../../lib/engine/publish/push_timing.ts";

const WALL = Date.parse("2024-05-01T12:00:00.000Z");

function waiting(reasons: PendingChunk["reason"][]): RecordingState {
  const pending: PendingChunk[] = reasons.map((reason, seq) => ({
    seq,
    start: seq * 10,
    end: seq * 10 + 10,
    sha256: "0".repeat(64),
    bytes: 5,
    cut_at: new Date(WALL - 100).toISOString(),
    reason,
  }));
  return { ...newState("r"), pending };
}

function when(state: RecordingState, options: { cutting?: boolean; lastSuccess?: number } = {}) {
  return pushNotBefore({
    sources: [state],
    cutting: options.cutting ?? false,
    now: 50_000,
    wallNow: WALL,
    intervalMs: 5000,
    batchBytes: 100,
    lastSuccess: options.lastSuccess ?? 49_000,
  });
}

Deno.test("a backlog (size cuts) is pushed at once, not after push_interval_seconds", () => {
  assert.equal(isUrgent(waiting(["size", "size"])), true);
  assert.equal(when(waiting(["size", "size", "size"])), 0);
  // Still being cut: a push once half a batch waits (here 50 bytes: ten 5-byte chunks), else
  // when the cuts end, at most push_interval_seconds after the oldest cut (100 ms ago).
  assert.equal(when(waiting(["size"]), { cutting: true }), 54_900);
  assert.equal(when(waiting(Array(10).fill("size")), { cutting: true }), 0);
});

Deno.test("a busy terminal's age cuts wait push_interval_seconds after the last push", () => {
  assert.equal(isUrgent(waiting(["age"])), false);
  // The interval after the oldest cut (100 ms ago) and after the last push (1 s ago): the later.
  assert.equal(when(waiting(["age", "age"])), 54_900);
  for (const reason of ["idle", "end", "once"] as const) {
    assert.equal(when(waiting(["age", reason])), 0, reason);
  }
});
