/**
 * Finishing a recording (lib/engine/finish/finish.ts): the `.cast` and the
 * `.json` move to `done/` side by side, also when the daemon was killed
 * between the two moves (torture seed 4 under load: the `.cast` was in
 * `done/`, its `.json` stayed in `active/` for good).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newState, type RecordingState } from "../../../lib/chunk/mod.ts";
import { fingerprintAt } from "../../../lib/engine/cut/mod.ts";
import { finishRecording } from "../../../lib/engine/finish/mod.ts";
import { exists } from "../../../lib/sys/mod.ts";

async function dirs() {
  const root = await Deno.makeTempDir({ prefix: "finish-" });
  const active = join(root, "active");
  const done = join(root, "done");
  await Deno.mkdir(active);
  return { root, active, done };
}

/** A state update that applies the change in memory and remembers each result. */
function recorder(seen: RecordingState[]) {
  return (state: RecordingState, change: (current: RecordingState) => RecordingState) => {
    Object.assign(state, change(state));
    seen.push({ ...state });
    return Promise.resolve();
  };
}

Deno.test("a finish writes where the .cast goes before it moves it; both files end side by side", async () => {
  const { root, active, done } = await dirs();
  try {
    const cast = join(active, "rec.cast");
    await Deno.writeTextFile(cast, '{"version": 2}\n[0.1, "o", "hi"]\n');
    await Deno.writeTextFile(join(active, "rec.json"), '{"ended": "now"}');
    const file = await Deno.open(cast, { read: true });
    const info = await file.stat();
    const state = newState("rec", { ino: info.ino ?? null });
    state.cut_offset = info.size;
    state.fingerprint = await fingerprintAt(file, info.size);
    file.close();
    const seen: RecordingState[] = [];
    const castThere: boolean[] = [];
    const result = await finishRecording(state, {
      activeDir: active,
      doneDir: done,
      wall: () => new Date(),
      update: async (current, change) => {
        castThere.push(await exists(cast));
        await recorder(seen)(current, change);
      },
    });
    assert.equal(result.movedTo, join(done, "rec.cast"));
    assert.equal(seen[0].moving_to, join(done, "rec.cast"));
    assert.equal(castThere[0], true, "moving_to was written after the .cast had moved");
    assert.equal(await Deno.readTextFile(join(done, "rec.json")), '{"ended": "now"}');
    assert.equal(state.done, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a finish cut off between its two moves moves the .json beside the .cast when it runs again", async () => {
  const { root, active, done } = await dirs();
  try {
    await Deno.mkdir(done);
    // The daemon was killed right after the .cast moved: its checkpoint says where.
    await Deno.writeTextFile(join(done, "rec.cast"), "cast");
    await Deno.writeTextFile(join(active, "rec.json"), '{"ended": "now"}');
    const state = newState("rec");
    state.moving_to = join(done, "rec.cast");
    const result = await finishRecording(state, {
      activeDir: active,
      doneDir: done,
      wall: () => new Date(),
      update: recorder([]),
    });
    assert.equal(result.movedTo, join(done, "rec.cast"));
    assert.equal(await Deno.readTextFile(join(done, "rec.json")), '{"ended": "now"}');
    assert.equal(await exists(join(active, "rec.json")), false);
    assert.equal(state.done, true);

    // A new recording under the name meanwhile: its .json stays with its .cast.
    await Deno.writeTextFile(join(active, "rec.cast"), "new");
    await Deno.writeTextFile(join(active, "rec.json"), '{"new": true}');
    const again = newState("rec");
    again.moving_to = join(done, "rec.cast");
    await finishRecording(again, {
      activeDir: active,
      doneDir: done,
      wall: () => new Date(),
      update: recorder([]),
    });
    assert.equal(await Deno.readTextFile(join(active, "rec.json")), '{"new": true}');
    assert.equal(await Deno.readTextFile(join(done, "rec.json")), '{"ended": "now"}');
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
