/**
 * A `Remote` (lib/engine/publish/remotes.ts) owns its batches: its queue
 * calls it, it publishes to its own target through its own clone, and it
 * asks the engine only through the typed `RemoteHost`. Here a fake host
 * stands in for the engine (no daemon, no engine): it is the only source of
 * work, and every question the remote asks of it is recorded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Remotes } from "../../../lib/engine/publish/remotes.ts";
import type { RemoteHost } from "../../../lib/engine/publish/remotes.ts";
import type { PublishRemote, PublishResult } from "../../../lib/engine/publish/publish.ts";
import type { QueueFailure } from "../../../lib/engine/publish/remote_queue.ts";
import { spoolFileFor, type StateChange } from "../../../lib/engine/cut/mod.ts";
import {
  compressRange,
  manifestPathOnBranch,
  newState,
  type PendingChunk,
  type RecordingState,
} from "../../../lib/chunk/mod.ts";
import { git, PublishError } from "../../../lib/git/mod.ts";
import { ensureHome, parseSettings, systemClock } from "../../../lib/sys/mod.ts";
import { assertTools, ignoreWithout, makeTestHome, type TestHome } from "../../support/env.ts";
import { bareRemote, remoteIds, V3_HEADER } from "../../support/recording.ts";

const TOOLS = ["git", "zstd"];
const BRANCH = "asciinema-recordings";

/** The engine's side, faked: a list of generations, and a log of what the remote asked. */
class FakeHost implements RemoteHost {
  states: RecordingState[] = [];
  asked: string[] = [];
  results: PublishResult[] = [];
  failures: (QueueFailure | null)[] = [];
  prepareFails: Error | null = null;

  sources(remote: PublishRemote): RecordingState[] {
    this.asked.push(`sources ${remote.key}`);
    return this.states.filter((state) =>
      state.pending.length > 0 || (state.final && !state.manifest_pushed)
    );
  }
  prepare(remote: PublishRemote): Promise<void> {
    this.asked.push(`prepare ${remote.key}`);
    return this.prepareFails ? Promise.reject(this.prepareFails) : Promise.resolve();
  }
  manifestExtra(state: RecordingState): Record<string, unknown> {
    this.asked.push(`manifestExtra ${state.id}`);
    return { started: "from the host", asciicast_version: 3 };
  }
  recut(state: RecordingState, chunk: PendingChunk): Promise<void> {
    this.asked.push(`recut ${state.id} #${chunk.seq}`);
    return Promise.resolve();
  }
  update(state: RecordingState, change: StateChange): Promise<void> {
    this.asked.push(`update ${state.id}`);
    Object.assign(state, change(state));
    return Promise.resolve();
  }
  published(remote: { key: string }, result: PublishResult): void {
    this.asked.push(`published ${remote.key}`);
    this.results.push(result);
  }
  notBefore(remote: { key: string }): number {
    this.asked.push(`notBefore ${remote.key}`);
    return 0;
  }
  changed(remote: { key: string }, failure: QueueFailure | null): void {
    this.asked.push(`changed ${remote.key}`);
    this.failures.push(failure);
  }
  absorb(remote: { key: string }): Promise<void> {
    this.asked.push(`absorb ${remote.key}`);
    return Promise.resolve();
  }
  live(remote: { key: string }): ReadonlyMap<string, string> {
    this.asked.push(`live ${remote.key}`);
    return new Map();
  }
}

async function rig(t: TestHome) {
  await ensureHome(t.paths);
  await Deno.writeTextFile(t.paths.gitConfig, "");
  const abort = new AbortController();
  const host = new FakeHost();
  const remotes = new Remotes({
    paths: t.paths,
    settings: parseSettings({ retry_max_seconds: 60, verify_interval_seconds: 86400 }),
    clock: systemClock,
    signal: abort.signal,
    host,
  });
  const url = bareRemote(t, "remote.git");
  const remote = remotes.get({ url, branch: BRANCH });
  return {
    host,
    remote,
    url,
    async close() {
      abort.abort();
      await remotes.stop();
    },
  };
}

/** A finished generation `id` with its one chunk cut into the spool. */
async function finishedGeneration(t: TestHome, id: string): Promise<RecordingState> {
  const text = V3_HEADER + '[0.5, "o", "published by its own remote\\r\\n"]\n';
  const cast = join(t.paths.active, `${id}.cast`);
  await Deno.writeTextFile(cast, text);
  const state = newState(id);
  const end = new TextEncoder().encode(text).length;
  const chunk0 = { seq: 0, start: 0, end, sha256: "", bytes: 0, cut_at: new Date().toISOString() };
  const file = spoolFileFor(t.paths.spool, id, chunk0);
  await Deno.mkdir(join(t.paths.spool, id), { recursive: true });
  const done = await compressRange(cast, { start: 0, end, output: file }, { level: 3 });
  const chunk: PendingChunk = { ...chunk0, sha256: done.sha256, bytes: done.bytes };
  return {
    ...state,
    cut_offset: end,
    next_seq: 1,
    pending: [chunk],
    final: true,
    ended_at: new Date().toISOString(),
  };
}

async function manifestOnBranch(gitDir: string, id: string): Promise<Record<string, unknown>> {
  const path = manifestPathOnBranch(id);
  const show = await git(["show", `refs/heads/${BRANCH}:${path}`], { gitDir });
  assert.ok(show.success, `no manifest of ${id} on the branch`);
  return JSON.parse(show.stdout);
}

Deno.test({
  name:
    "a Remote publishes its own batch through its queue, asking the engine only through RemoteHost",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome();
    const { host, remote, url, close } = await rig(t);
    try {
      // Nothing from the host and nothing committed: idle, and the engine hears of the clone.
      assert.equal(await remote.publish(), "idle");
      assert.deepEqual(host.asked, [`sources ${remote.key}`, `absorb ${remote.key}`]);
      assert.equal(host.results.length, 0);
      assert.equal(remote.lastPush, null);

      const state = await finishedGeneration(t, "rec");
      const spooled = spoolFileFor(t.paths.spool, "rec", state.pending[0]);
      host.states.push(state);
      host.asked = [];
      // Not forced: the queue asks its owner when the work may go, which asks the host.
      remote.queue.kick();
      await remote.queue.settle();

      assert.ok(host.asked.includes(`notBefore ${remote.key}`), host.asked.join(", "));
      const order = host.asked.filter((one) => !one.startsWith("notBefore"));
      assert.deepEqual(order.slice(0, 3), [
        `sources ${remote.key}`,
        `prepare ${remote.key}`,
        `sources ${remote.key}`,
      ]);
      assert.ok(order.includes("manifestExtra rec"), order.join(", "));
      assert.ok(order.includes("update rec"), order.join(", "));
      assert.deepEqual(order.slice(-2), [`published ${remote.key}`, `absorb ${remote.key}`]);

      assert.equal(host.results.length, 1);
      const [result] = host.results;
      assert.equal(result.chunks, 1);
      assert.deepEqual(result.finished.map((one) => one.id), ["rec"]);
      assert.equal(result.more, false);
      // The checkpoint went through the host's writer: pushed, and bound to this remote.
      assert.deepEqual(state.pending, []);
      assert.equal(state.pushed_offset, state.cut_offset);
      assert.equal(state.manifest_pushed, true);
      assert.deepEqual(state.remote, { url, branch: BRANCH });
      // On its own target, with the host's manifest fields; its own record of the push.
      assert.deepEqual(remoteIds(url), ["rec"]);
      const manifest = await manifestOnBranch(url, "rec");
      assert.equal(manifest.started, "from the host");
      assert.equal(manifest.asciicast_version, 3);
      assert.ok(remote.lastPush, "the remote did not record its push");
      assert.equal(remote.snapshot().lastPush, remote.lastPush);
      assert.equal(remote.failure, null);
      await assert.rejects(Deno.stat(spooled), Deno.errors.NotFound);
    } finally {
      await close();
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "a Remote's failed batch is read by the remote (its kind) and told to the host; the clone is still absorbed",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome();
    const { host, remote, close } = await rig(t);
    try {
      host.states.push(await finishedGeneration(t, "rec"));
      host.prepareFails = new PublishError("auth", "the token was rejected");
      remote.queue.kick({ now: true });
      await remote.queue.settle();
      assert.deepEqual(host.failures, [{ kind: "auth", message: "the token was rejected" }]);
      assert.deepEqual(remote.failure, { kind: "auth", message: "the token was rejected" });
      assert.equal(remote.queue.errorKind, "auth");
      assert.equal(remote.snapshot().errorKind, "auth");
      assert.equal(host.results.length, 0);
      // The clone is handed to the engine before the failure is (the batch's `finally`).
      assert.deepEqual(host.asked.slice(-2), [`absorb ${remote.key}`, `changed ${remote.key}`]);
      // Anything else thrown is read as the remote's (or the disk's) failure, never rethrown.
      assert.deepEqual(remote.classify(new Error("connection reset")), {
        kind: "remote",
        message: "connection reset",
      });
      assert.equal(remote.classify(new Deno.errors.NotFound("gone")).kind, "disk");
    } finally {
      await close();
      await t.cleanup();
    }
  },
});

Deno.test("a Remote answers its clone's question (the folders being made) from the host", async () => {
  const t = await makeTestHome();
  const { host, remote, close } = await rig(t);
  try {
    host.asked = [];
    assert.deepEqual(remote.liveFolders(), new Map());
    assert.deepEqual(host.asked, [`live ${remote.key}`]);
  } finally {
    await close();
    await t.cleanup();
  }
});
