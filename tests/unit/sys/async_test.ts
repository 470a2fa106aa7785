/** The async vocabulary: `serially` lands writes in the order they were asked for. */
import assert from "node:assert/strict";
import { serially } from "../../../lib/sys/mod.ts";

Deno.test("serially: a later call runs only once the one before it settled, even when that one is slow or fails", async () => {
  const queue = serially();
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  // The first write is held until the second has been asked for: the second still waits for it.
  const first = queue(async () => {
    await gate;
    order.push("first");
    return 1;
  });
  const second = queue(() => {
    order.push("second");
    return Promise.resolve(2);
  });
  const failing = queue(() => Promise.reject(new Error("disk full")));
  const after = queue(() => {
    order.push("after the failure");
    return Promise.resolve(3);
  });
  assert.deepEqual(order, []);
  release();
  assert.equal(await first, 1);
  assert.equal(await second, 2);
  await assert.rejects(failing, /disk full/);
  assert.equal(await after, 3);
  assert.deepEqual(order, ["first", "second", "after the failure"]);
});

Deno.test("serially: calls with another key do not wait for a held one", async () => {
  const queue = serially();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const held = queue(() => gate.then(() => "a"), "a");
  assert.equal(await queue(() => Promise.resolve("b"), "b"), "b");
  release();
  assert.equal(await held, "a");
});
