/** Search's helpers without a branch: suggestions for an id that is not there, local files. */
import assert from "node:assert/strict";
import { closestIds, isLocalCast } from "../../../lib/text/mod.ts";

Deno.test("an id that is not there gets the nearest known ids, nearest first, none when nothing is near", () => {
  const known = [
    "proj_2026-01-02_10-00-00_ab12",
    "proj_2026-01-02_10-00-00_ab13",
    "other_2025-12-31_23-59-59_zz99",
    "proj_2026-01-02_11-00-00_ab12",
  ];
  assert.deepEqual(closestIds("proj_2026-01-02_10-00-00_ab1", known), [
    "proj_2026-01-02_10-00-00_ab12",
    "proj_2026-01-02_10-00-00_ab13",
    "proj_2026-01-02_11-00-00_ab12",
  ]);
  assert.deepEqual(closestIds("proj_2026-01-02_10-00-00_ab12x", known, 1), [
    "proj_2026-01-02_10-00-00_ab12",
  ]);
  assert.deepEqual(closestIds("something-else", known), []);
});

Deno.test("an argument ending in .cast or naming a path is a local file; anything else an id", () => {
  assert.ok(isLocalCast("session.cast"));
  assert.ok(isLocalCast("./rec"));
  assert.ok(isLocalCast("/tmp/x.json"));
  assert.ok(!isLocalCast("proj_2026-01-02_10-00-00_ab12"));
  assert.ok(!isLocalCast("my.cast.id~2"));
});
