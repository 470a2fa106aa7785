import assert from "node:assert/strict";
import { join } from "node:path";
import { sweepFaketimeShm } from "../../torture/faketime_shm.ts";
import { findFaketime } from "../../torture/supervisor.ts";
import { requireAll } from "../../support/env.ts";

Deno.test("the sweep removes the pairs of gone processes made since the run began, nothing else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shm-sweep-" });
  try {
    const made = (name: string) => Deno.writeTextFile(join(dir, name), "");
    for (const name of ["faketime_shm_100", "sem.faketime_sem_100", "faketime_shm_200"]) {
      await made(name);
    }
    await made("sem.faketime_sem_200");
    await made("faketime_shm_x");
    await made("other_300");
    await Deno.mkdir(join(dir, "faketime_shm_400"));
    // 200 still runs.
    assert.equal(await sweepFaketimeShm(0, { dir, alive: (pid) => pid === 200 }), 2);
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
    assert.deepEqual(left, [
      "faketime_shm_200",
      "faketime_shm_400",
      "faketime_shm_x",
      "other_300",
      "sem.faketime_sem_200",
    ]);
    // Made before the run began: another run's, left alone.
    const later = Date.parse("2999-01-01T00:00:00Z");
    assert.equal(await sweepFaketimeShm(later, { dir, alive: () => false }), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const LIBRARY = findFaketime();

Deno.test({
  name: "a process killed under libfaketime leaves its pair in /dev/shm; the sweep removes it",
  ignore: !LIBRARY && !requireAll(),
  async fn() {
    assert.ok(LIBRARY, "libfaketime is not installed (apt: faketime)");
    const since = Date.now();
    const root = await Deno.makeTempDir({ prefix: "shm-sweep-real-" });
    try {
      const clock = join(root, "clock");
      await Deno.writeTextFile(clock, "+0\n");
      const child = new Deno.Command("sleep", {
        args: ["30"],
        env: { LD_PRELOAD: LIBRARY, FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_NO_CACHE: "1" },
        stdout: "null",
        stderr: "null",
      }).spawn();
      const pair = [`faketime_shm_${child.pid}`, `sem.faketime_sem_${child.pid}`];
      const present = async () => {
        const names = (await Array.fromAsync(Deno.readDir("/dev/shm"))).map((entry) => entry.name);
        return pair.filter((name) => names.includes(name));
      };
      // libfaketime makes the pair as the process starts.
      for (let i = 0; i < 200 && (await present()).length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(await present(), pair);
      // Alive: kept.
      await sweepFaketimeShm(since);
      assert.deepEqual(await present(), pair);
      child.kill("SIGKILL");
      await child.status;
      assert.deepEqual(await present(), pair, "libfaketime cleaned up after a SIGKILL after all");
      await sweepFaketimeShm(since);
      assert.deepEqual(await present(), []);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
