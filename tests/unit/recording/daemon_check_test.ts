/** The daemon preflight bootstrap.ts runs before a recording (lib/recording/daemon_check.ts). */
import assert from "node:assert/strict";
import type { Health } from "../../../lib/status/mod.ts";
import { checkDaemon } from "../../../lib/recording/daemon_check.ts";
import { makeTestHome } from "../../support/env.ts";

Deno.test("preflight: no health.json, stopped, dead pid, stale heartbeat, healthy", async () => {
  const t = await makeTestHome();
  try {
    await Deno.mkdir(t.paths.home, { recursive: true });
    const now = Date.parse("2026-01-01T00:01:00Z");
    const health = (patch: Partial<Health>): Health => ({
      status: "ok",
      message: "ok",
      last_update: "2026-01-01T00:00:59Z",
      last_push: null,
      chunks_pushed: 0,
      pid: 1234,
      idle_threshold: 30,
      zstd_level: 3,
      heartbeat: "2026-01-01T00:00:59Z",
      heartbeat_interval_seconds: 15,
      started_at: "2026-01-01T00:00:00Z",
      recordings: {},
      remotes: {},
      last_error: null,
      ...patch,
    });
    const check = async (patch: Partial<Health> | null, alive = true) => {
      if (patch) await Deno.writeTextFile(t.paths.health, JSON.stringify(health(patch)));
      return await checkDaemon(t.paths.health, { now, isAlive: () => Promise.resolve(alive) });
    };
    let result = await check(null);
    assert.ok(!result.running);
    assert.match(result.problem!, /never run/);
    result = await check({ status: "stopped" });
    assert.ok(!result.running);
    assert.match(result.problem!, /stopped/);
    result = await check({}, false);
    assert.ok(!result.running);
    assert.match(result.problem!, /pid 1234\) is gone/);
    // 45 s = 3 x 15 s: stale.
    result = await check({ heartbeat: "2026-01-01T00:00:15Z" });
    assert.ok(!result.running);
    assert.match(result.problem!, /heartbeat for 45 s/);
    result = await check({ heartbeat: "2026-01-01T00:00:20Z" });
    assert.ok(result.running);
    assert.equal(result.problem, null);
    result = await check({ status: "degraded", message: "push failing" });
    assert.ok(result.running);
    assert.match(result.problem!, /degraded: push failing/);
  } finally {
    await t.cleanup();
  }
});
