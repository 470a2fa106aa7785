/** Recording ids (lib/recording/id.ts): their format, a fixed clock, safe workspace names. */
import assert from "node:assert/strict";
import {
  allocateRecordingId,
  FALLBACK_WORKSPACE,
  formatIdTimestamp,
  isRecordingId,
  makeRecordingId,
  type RandomSource,
  sanitizeWorkspace,
} from "../../../lib/recording/mod.ts";

/** Random bytes from a fixed script (each call takes the next list, cycling). */
function scriptedRandom(...calls: number[][]): RandomSource {
  let index = 0;
  return (bytes) => {
    const values = calls[index++ % calls.length];
    bytes.fill(0);
    bytes.set(values.slice(0, bytes.length));
  };
}

Deno.test("recording ids: format, fixed clock, and two starts in the same second differ", async () => {
  const now = new Date(2026, 0, 2, 3, 4, 5);
  assert.equal(formatIdTimestamp(now), "2026-01-02_03-04-05");
  const a = makeRecordingId("proj", { now });
  const b = makeRecordingId("proj", { now });
  assert.match(a, /^proj_2026-01-02_03-04-05_[a-z0-9]{4}$/);
  assert.ok(isRecordingId(a));
  // Random suffixes make a clash unlikely; claiming makes it impossible.
  const taken = new Set<string>();
  const claim = (id: string) => {
    if (taken.has(id)) return Promise.reject(new Deno.errors.AlreadyExists(id));
    taken.add(id);
    return Promise.resolve();
  };
  // The first two attempts draw the same suffix ("aaaa"); the second start must move on.
  const random = scriptedRandom([0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]);
  const first = await allocateRecordingId("proj", { now, random, claim });
  const second = await allocateRecordingId("proj", { now, random, claim });
  assert.equal(first, "proj_2026-01-02_03-04-05_aaaa");
  assert.equal(second, "proj_2026-01-02_03-04-05_bcde");
  assert.ok(isRecordingId(b));
  // Bytes >= 252 are rejected (no bias), never mapped.
  assert.equal(
    makeRecordingId("p", { now, random: scriptedRandom([255, 252, 35, 36, 0, 71]) }),
    "p_2026-01-02_03-04-05_9aa9",
  );
});

Deno.test("workspace names with quotes, backslashes, spaces, slashes, control characters and unicode give safe ids", () => {
  const cases: [string, string][] = [
    [`it's "quoted"`, "it-s-quoted"],
    ["back\\slash and/slash", "back-slash-and-slash"],
    ["  spaces  ", "spaces"],
    ["--rm -rf", "rm-rf"],
    ["..hidden", "hidden"],
    ["a..b", "a.b"],
    ["tab\there\nnew\x00nul\x1b[31m", "tab-here-new-nul-31m"],
    ["café ☃ naïve", "café-naïve"],
    ["cafe\u0301", "café"],
    ["日本語のプロジェクト", "日本語のプロジェクト"],
    ["bidi\u202eevil", "bidi-evil"],
    ["~gen~2", "gen-2"],
    ["", FALLBACK_WORKSPACE],
    ["'\"\\/", FALLBACK_WORKSPACE],
  ];
  for (const [input, expected] of cases) {
    const safe = sanitizeWorkspace(input);
    assert.equal(safe, expected, JSON.stringify(input));
    const id = makeRecordingId(input, { now: new Date(2026, 0, 1) });
    assert.ok(isRecordingId(id), id);
    assert.doesNotMatch(id, /[\s"'\\/~\p{Cc}\p{Cf}]/u);
    assert.ok(!id.startsWith("-") && !id.startsWith("."));
  }
  const long = sanitizeWorkspace("ü".repeat(200));
  assert.ok(new TextEncoder().encode(long).length <= 100);
});
