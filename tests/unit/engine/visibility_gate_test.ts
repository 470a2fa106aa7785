/** The engine's public-repository gate: decisions from the cache, the API asked only by refresh. */
import assert from "node:assert/strict";
import { VISIBILITY_RECHECK_MS } from "../../../lib/git/mod.ts";
import { VisibilityGate } from "../../../lib/engine/publish/visibility_gate.ts";
import { newState, type RecordingState } from "../../../lib/chunk/state.ts";
import { parseSettings } from "../../../lib/sys/settings.ts";

function stateWith(encrypted: boolean[]): RecordingState {
  const state = newState("rec");
  state.pending = encrypted.map((sealed, seq) => ({
    seq,
    start: seq * 10,
    end: seq * 10 + 10,
    sha256: "0".repeat(64),
    bytes: 5,
    cut_at: new Date().toISOString(),
    ...(sealed ? { encrypted: true } : {}),
  }));
  return state;
}

Deno.test("the engine's gate asks once (from refresh, never from decide), caches, and asks again after a rejection", async () => {
  let now = 0;
  const requests: string[] = [];
  let visibility = "public";
  const fakeFetch = ((input: string | URL | Request) => {
    requests.push(String(input));
    return Promise.resolve(
      new Response(JSON.stringify({ private: visibility === "private", visibility })),
    );
  }) as typeof fetch;
  const settings = parseSettings({ github_api: "https://ghe.example/api/v3" });
  const allowed = new Set<string>();
  const gate = new VisibilityGate({
    settings,
    clock: { now: () => now, wall: () => new Date() },
    fetch: fakeFetch,
    tokenFor: () => Promise.resolve("tok"),
    allowPublic: (state) => allowed.has(state.id),
  });
  const target = { url: "https://ghe.example/team/rec.git", branch: "b" };
  const plain = stateWith([false]);
  assert.equal(gate.decide(target, plain).action, "check");
  assert.equal(requests.length, 0, "deciding never asks the network");
  await gate.refresh(target, [plain]);
  assert.deepEqual(requests, ["https://ghe.example/api/v3/repos/team/rec"]);
  assert.equal(gate.visibility(target), "public");
  assert.match(gate.refusal(target, plain) ?? "", /team\/rec is a public GitHub repository/);
  assert.equal(gate.decide(target, stateWith([false, true])).action, "refuse");
  assert.equal(gate.decide(target, stateWith([true, true])).action, "allow", "encrypted goes");
  allowed.add(plain.id);
  assert.equal(gate.decide(target, plain).action, "allow", "allow_public of the recording");
  allowed.clear();
  await gate.refresh(target, [plain]);
  assert.equal(requests.length, 1, "cached");
  visibility = "private";
  gate.invalidate(target);
  assert.equal(gate.decide(target, plain).action, "check");
  await gate.refresh(target, [plain]);
  assert.equal(requests.length, 2);
  assert.equal(gate.decide(target, plain).action, "allow");
  now += VISIBILITY_RECHECK_MS;
  await gate.refresh(target, [plain]);
  assert.equal(requests.length, 3, "asked again after 24 h");
  const local = { url: "/srv/backup.git", branch: "b" };
  await gate.refresh(local, [plain]);
  assert.equal(requests.length, 3, "a local remote is never asked about");
  assert.equal(gate.decide(local, plain).action, "allow");
});
