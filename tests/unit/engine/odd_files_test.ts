/**
 * Odd files hold only themselves (issue 24, row 7): a `.json` that is a
 * FIFO, a folder or huge is never opened; its recording is held with a
 * clear message. And health never says "all backed up" while a recording
 * waits for its branch or chunks wait for their push (rows 2 and 6).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newMemo, readFacts } from "../../../lib/engine/watch/tracker.ts";
import { buildHealth, type HealthSnapshot } from "../../../lib/engine/health/health_view.ts";
import { newState } from "../../../lib/chunk/mod.ts";
import { HOLDER_LIMIT_SECONDS, holderArgs, Watcher } from "../../../lib/engine/watch/watcher.ts";
import { run } from "../../../lib/sys/mod.ts";
import { V2_HEADER } from "../../support/recording.ts";

async function facts(dir: string, id: string) {
  const memo = newMemo();
  const found = await readFacts(id, { activeDir: dir, memo, now: 0, pidCheckMs: 1000 });
  return { found, memo };
}

Deno.test("a .json that is a FIFO, a folder or huge is not read: its recording is held, with why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "odd-files-" });
  try {
    for (const id of ["fifo", "folder", "huge"]) {
      await Deno.writeTextFile(join(dir, `${id}.cast`), V2_HEADER);
    }
    const made = await run("mkfifo", { args: [join(dir, "fifo.json")] });
    assert.ok(made.success, made.stderr);
    await Deno.mkdir(join(dir, "folder.json"));
    await Deno.writeTextFile(join(dir, "huge.json"), JSON.stringify({ pad: "x".repeat(100_000) }));
    // A read of the FIFO would block forever; this returns.
    const fifo = await facts(dir, "fifo");
    assert.equal(fifo.found.headerReady, true);
    assert.match(fifo.memo.configError ?? "", /fifo\.json is not a regular file .*FIFO/);
    assert.match((await facts(dir, "folder")).memo.configError ?? "", /a folder/);
    assert.match((await facts(dir, "huge")).memo.configError ?? "", /bytes, more than/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function snapshot(patch: Partial<HealthSnapshot["recordings"][number]>): HealthSnapshot {
  const state = newState("r");
  return {
    now: new Date(),
    pid: 1,
    startedAt: new Date(),
    settings: { idle_threshold: 30, zstd_level: 3, heartbeat_seconds: 15 },
    chunksPushed: 0,
    lastPush: null,
    lastError: null,
    recordings: [{
      key: "r",
      state,
      current: true,
      size: 10,
      held: null,
      waiting: null,
      problem: null,
      note: null,
      error: null,
      pendingSince: null,
      unpushedSince: null,
      remote: { url: "/r.git", branch: "b", key: "k" },
      ...patch,
    }],
    remotes: [{
      key: "k",
      url: "/r.git",
      branch: "b",
      lastPush: null,
      lastError: null,
      errorKind: null,
      failingSince: null,
      nextRetryAt: null,
    }],
  };
}

Deno.test("health: a recording waiting for its branch is shown and degrades; queued chunks are never 'all backed up'", () => {
  const waiting = buildHealth(snapshot({ waiting: "where r starts on /r.git is not known yet" }));
  assert.equal(waiting.status, "degraded");
  assert.match(waiting.message, /wait for their remote's branch/);
  assert.equal(waiting.recordings.r.waiting, "where r starts on /r.git is not known yet");
  const state = newState("r");
  state.pending = [{ seq: 0, start: 0, end: 10, sha256: "0".repeat(64), bytes: 5, cut_at: "x" }];
  const queued = buildHealth(snapshot({ state }));
  assert.equal(queued.status, "ok");
  assert.match(queued.message, /1 chunk\(s\) cut and waiting for their push/);
  assert.equal(buildHealth(snapshot({})).message, "1 recording(s), all backed up as they go");
});

Deno.test("a FIFO's holder ends by itself when nobody reads, also if whoever started it is gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "odd-files-" });
  try {
    const fifo = join(dir, "r.json");
    const made = await run("mkfifo", { args: [fifo] });
    assert.ok(made.success, made.stderr);
    // Started without any timeout of ours, as when the daemon was killed meanwhile.
    const holder = new Deno.Command("sh", {
      args: holderArgs(fifo),
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    // A guard far beyond the holder's own limit: only a holder that never ends meets it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      holder.status,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), (HOLDER_LIMIT_SECONDS + 55) * 1000);
      }),
    ]);
    clearTimeout(timer);
    if (!ended) {
      holder.kill("SIGKILL");
      await holder.status;
    }
    assert.ok(ended, "the holder was still waiting for a reader");
    // Its own watchdog ended it (kill -9 of a shell blocked in its open): it waited for a reader
    // rather than failing at once, and nobody but itself stopped it.
    assert.equal(
      ended.signal,
      "SIGKILL",
      `the holder ended by itself with ${JSON.stringify(ended)}`,
    );
    // With a reader it holds the FIFO for a moment and ends on its own.
    const again = new Deno.Command("sh", { args: holderArgs(fifo), stdout: "null", stderr: "null" })
      .spawn();
    const reader = await Deno.open(fifo, { read: true });
    reader.close();
    assert.equal((await again.status).success, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a FIFO's holder never truncates or creates: a .json renamed over the FIFO keeps its bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "odd-files-" });
  try {
    // The FIFO was listed, then a recording's .json replaced it before the holder opened it.
    const json = join(dir, "r.json");
    await Deno.writeTextFile(json, '{"ended": "2026-12-07T00:00:00Z"}');
    const held = await run("sh", { args: holderArgs(json), timeoutMs: 10_000 });
    assert.equal(held.success, true, held.stderr);
    assert.equal(await Deno.readTextFile(json), '{"ended": "2026-12-07T00:00:00Z"}');
    // Removed meanwhile: nothing is created in its place.
    const gone = join(dir, "gone.json");
    assert.equal((await run("sh", { args: holderArgs(gone), timeoutMs: 10_000 })).success, true);
    await assert.rejects(() => Deno.lstat(gone), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the watcher lists recordings in name order whatever order the file system gives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "watch-order-" });
  try {
    // Enough names that readdir's own order (ext4's hash, tmpfs's newest first) is not sorted.
    const ids = Array.from(
      { length: 40 },
      (_, i) => `rec-${String((i * 17) % 40).padStart(2, "0")}`,
    );
    for (const id of ids) await Deno.writeTextFile(join(dir, `${id}.cast`), V2_HEADER);
    await Deno.writeTextFile(join(dir, ".hidden.cast"), V2_HEADER);
    await Deno.writeTextFile(join(dir, "rec-00.json"), "{}");
    const listed = await new Watcher(dir, { onIds: () => {}, onError: () => {} }).list();
    assert.deepEqual(listed, [...ids].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
