/** The per-recording `active/<id>.json` (lib/recording/config.ts): round trips and bad input. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createRecordingConfig,
  markRecordingEnded,
  readRecordingConfig,
  writeRecordingConfig,
} from "../../../lib/recording/mod.ts";

Deno.test("recording config: JSON.stringify round trip for odd workspace names, unknown fields kept, ended set atomically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recording-config-" });
  try {
    const path = join(dir, "x.json");
    const workspace = `we"ird \\ name\t☃ café 'q' $(rm -rf) \u0000`;
    await createRecordingConfig(path, {
      repo_url: "https://github.com/o/r.git",
      branch: "asciinema-recordings",
      local_repo: "/tmp/r",
      workspace,
      started: "2026-01-01T00:00:00.000Z",
      recorder_pid: 4242,
      asciinema_version: "2.2.0",
      title: 'a "title" \\ with\nnewline',
      bash_extra: { nested: [1, 2] },
    });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const parsed = JSON.parse(await Deno.readTextFile(path));
    assert.equal(parsed.workspace, workspace);
    await assert.rejects(
      () => createRecordingConfig(path, { workspace: "other" }),
      Deno.errors.AlreadyExists,
    );
    assert.equal(
      (await readRecordingConfig(path) as { ok: true; config: { workspace: string } })
        .config.workspace,
      workspace,
    );

    const ended = await markRecordingEnded(path, { now: new Date("2026-01-01T01:00:00.000Z") });
    assert.ok(ended.ok);
    const after = JSON.parse(await Deno.readTextFile(path));
    assert.equal(after.ended, "2026-01-01T01:00:00.000Z");
    assert.deepEqual(after.bash_extra, { nested: [1, 2] });
    assert.equal(after.recorder_pid, 4242);
    assert.equal(after.title, 'a "title" \\ with\nnewline');
    // No temp files left behind.
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["x.json"]);

    // A missing file is never created by markRecordingEnded.
    const gone = await markRecordingEnded(join(dir, "gone.json"));
    assert.ok(!gone.ok && gone.missing);
    await assert.rejects(() => Deno.stat(join(dir, "gone.json")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recording config: malformed or wrongly typed JSON gives a clear error and is not overwritten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recording-config-" });
  try {
    const cases: [string, RegExp][] = [
      ["{not json", /not valid JSON/],
      ["[1,2]", /must be a JSON object, got an array/],
      ['"text"', /must be a JSON object/],
      ['{"recorder_pid": "123"}', /recorder_pid must be a positive whole number.*got "123"/],
      ['{"recorder_pid": 1.5}', /recorder_pid must be/],
      ['{"branch": 7}', /branch must be a string, got 7/],
      ['{"ended": 5}', /ended must be an ISO time string/],
    ];
    for (const [text, pattern] of cases) {
      const path = join(dir, "bad.json");
      await Deno.writeTextFile(path, text);
      const result = await readRecordingConfig(path);
      assert.ok(!result.ok, text);
      assert.match(result.error, pattern);
      assert.ok(result.error.startsWith(path), "names the file");
      assert.equal(result.missing, false);
      const marked = await markRecordingEnded(path);
      assert.ok(!marked.ok);
      assert.equal(await Deno.readTextFile(path), text, "left untouched");
    }
    // bash-era files (strings only, nulls) read fine.
    const path = join(dir, "bash.json");
    await writeRecordingConfig(path, {
      repo_url: "git@github.com:o/r.git",
      branch: "asciinema-recordings",
      local_repo: "/Users/me/asciinema_recordings/r",
      workspace: "w",
      started: "2025-01-01T00:00:00Z",
      title: null,
      ended: true,
    });
    assert.ok((await readRecordingConfig(path)).ok);
    const missing = await readRecordingConfig(join(dir, "none.json"));
    assert.ok(!missing.ok && missing.missing);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
