/**
 * A remote's queue (lib/engine/publish/remote_queue.ts): look-ups and checks take
 * turns with publishing, so chunks already cut are never held back behind a
 * long look-up (issue 24, row 6); a look-up that cannot read the remote is a
 * failure of the remote like a failed push.
 */
import assert from "node:assert/strict";
import { type QueueOwner, RemoteQueue } from "../../../lib/engine/publish/remote_queue.ts";

const clock = { now: () => performance.now(), wall: () => new Date() };

function queue(
  log: string[],
  publish: () => Promise<boolean | "idle"> = () => Promise.resolve(false),
) {
  const failures: (string | null)[] = [];
  const owner: QueueOwner = {
    async publish() {
      log.push("publish");
      return await publish();
    },
    classify: (error) => ({ kind: "network", message: String((error as Error).message) }),
    changed: (failure) => void failures.push(failure?.message ?? null),
    notBefore: () => 0,
  };
  const q = new RemoteQueue("k", { owner, clock, capSeconds: 60 });
  return { q, failures };
}

Deno.test("jobs and publishing take turns: a batch goes between two look-ups", async () => {
  const log: string[] = [];
  const { q } = queue(log);
  q.enqueue(() => Promise.resolve(void log.push("look-up 1")));
  q.enqueue(() => Promise.resolve(void log.push("look-up 2")));
  q.kick();
  await q.settle();
  assert.deepEqual(log.slice(0, 3), ["look-up 1", "publish", "look-up 2"]);
  await q.stop();
});

Deno.test("a look-up that fails is the remote's failure (backoff, health); one that works ends it", async () => {
  const log: string[] = [];
  const { q, failures } = queue(log);
  q.enqueue(() => Promise.reject(new Error("could not read the branch")), { reports: true });
  await q.settle();
  assert.equal(q.errorKind, "network");
  assert.ok(q.retry, "no backoff after a failed look-up");
  assert.deepEqual(failures, ["could not read the branch"]);
  q.enqueue(() => Promise.resolve(), { reports: true });
  await q.settle();
  assert.equal(q.retry, null);
  assert.deepEqual(failures, ["could not read the branch", null]);
  // A check that is not reported (a periodic verification) never fails the remote.
  q.enqueue(() => Promise.reject(new Error("offline")));
  await q.settle();
  assert.equal(q.retry, null);
  await q.stop();
});

Deno.test("a publish with nothing to do is neither a success nor a failure: it never clears a failing remote", async () => {
  const log: string[] = [];
  const { q, failures } = queue(log, () => Promise.resolve("idle" as const));
  q.enqueue(() => Promise.reject(new Error("could not read the branch")), { reports: true });
  await q.settle();
  q.kick({ now: true });
  await q.settle();
  assert.ok(log.includes("publish"), "no publish ran");
  assert.ok(q.retry, "an idle publish cleared the failure");
  assert.deepEqual(failures, ["could not read the branch"]);
  await q.stop();
});
