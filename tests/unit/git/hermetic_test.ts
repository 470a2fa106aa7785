/** Hermetic git (lib/git/hermetic.ts): what every git child is configured with. */
import assert from "node:assert/strict";
import { gitEnv } from "../../../lib/git/mod.ts";

Deno.test("every git call runs without gc.auto or maintenance.auto (no unbounded background gc)", () => {
  const env = gitEnv({ base: { get: () => undefined } });
  const pairs = new Map<string, string>();
  for (let i = 0; i < Number(env.GIT_CONFIG_COUNT); i++) {
    pairs.set(env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]);
  }
  assert.equal(pairs.get("gc.auto"), "0");
  assert.equal(pairs.get("maintenance.auto"), "false");
});
