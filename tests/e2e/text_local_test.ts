/**
 * Issue 27's usability items, through the real `daemon.ts`: `text` and
 * `search` on local `.cast` files (v1, v2, v3), `--id` naming no recording,
 * asciicast v1 backed up and read back, a file that ended before its header
 * was whole finished, and why a file was never backed up.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DAEMON_TS, restoreFromRemote, runOnce, writeConfig } from "../support/daemon.ts";
import { makeTestHome, type TestHome } from "../support/env.ts";
import { bareRemote } from "../support/recording.ts";
import { type Event, v1Cast, v2Cast, v3Cast } from "../support/casts.ts";
import { run } from "../../lib/sys/exec.ts";

/** Runs `daemon.ts <args>` in the test home. */
async function cli(t: TestHome, args: string[]) {
  return await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, ...args],
    env: t.env,
    clearEnv: true,
    timeoutMs: 120_000,
  });
}

/** Docker-pull style redraws (issue 27, row 3): "Pull complete" is written at 60 s. */
const PULL: Event[] = [
  [0.5, "$ docker pull app\r\n"],
  [1, "layer1: Waiting\r\nlayer2: Waiting\r\n"],
  [1.5, "\x1b[2A\x1b[2K\rlayer1: Downloading\x1b[2B\r"],
  [60, "\x1b[2A\x1b[2K\rlayer1: Pull complete\x1b[1B\x1b[2K\rlayer2: Pull complete\x1b[1B\r"],
  [61, "Status: Downloaded\r\n$ "],
];

Deno.test("text and search read local .cast files (v1, v2, v3) with the lines' own times; --since keeps a late redraw", async () => {
  const t = await makeTestHome();
  try {
    const start = Math.floor(Date.now() / 1000) - 3600;
    const files = {
      v2: join(t.root, "pull-v2.cast"),
      v3: join(t.root, "pull-v3.cast"),
      v1: join(t.root, "pull-v1.cast"),
    };
    await Deno.writeTextFile(files.v2, v2Cast(PULL, { cols: 60, rows: 10, timestamp: start }));
    await Deno.writeTextFile(files.v3, v3Cast(PULL, { cols: 60, rows: 10, timestamp: start }));
    await Deno.writeTextFile(files.v1, v1Cast(PULL, { cols: 60, rows: 10 }));
    const expected = "[00:00:00] $ docker pull app\n[00:01:00] layer1: Pull complete\n" +
      "[00:01:00] layer2: Pull complete\n[00:01:01] Status: Downloaded\n[00:01:01] $\n";
    for (const file of Object.values(files)) {
      const text = await cli(t, ["text", file, "--timestamps"]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout, expected, file);
    }
    const found = await cli(t, ["search", "--json", "Pull complete", files.v2, files.v3, files.v1]);
    assert.equal(found.code, 0, found.stderr);
    const matches = found.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    assert.deepEqual(
      matches.map((m) => [m.id, m.t, m.line, m.remote]),
      Object.values(files).flatMap((file) => [
        [file, 60, "layer1: Pull complete", "local"],
        [file, 60, "layer2: Pull complete", "local"],
      ]),
    );
    // --since half a minute into the recording: the redraw at 60 s stays, the start goes.
    const since = new Date((start + 30) * 1000).toISOString();
    const late = await cli(t, ["search", "layer", files.v2, "--since", since]);
    assert.equal(late.code, 0, late.stderr);
    assert.equal(
      late.stdout,
      `${files.v2}  00:01:00  layer1: Pull complete\n${files.v2}  00:01:00  layer2: Pull complete\n`,
    );

    // A file that is no recording: said so; the others are still searched (exit 2, grep's error).
    const notes = join(t.root, "notes.cast");
    await Deno.writeTextFile(notes, "just some notes\n");
    const bad = await cli(t, ["text", notes]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /notes\.cast is not an asciicast recording/);
    const mixed = await cli(t, ["search", "Status", files.v2, notes, join(t.root, "absent.cast")]);
    assert.equal(mixed.code, 2);
    assert.equal(mixed.stdout, `${files.v2}  00:01:01  Status: Downloaded\n`);
    assert.match(mixed.stderr, /notes\.cast is not an asciicast recording/);
    assert.match(mixed.stderr, /cannot read .*absent\.cast/);
    assert.equal((await cli(t, ["search", "x", files.v2, "--id", "a"])).code, 2);
  } finally {
    await t.cleanup();
  }
});

Deno.test("v1 is backed up byte for byte and read back; files that ended without a whole header are finished; --id typos and unbacked files say why", async () => {
  const t = await makeTestHome();
  try {
    const remote = bareRemote(t, "remote.git");
    await writeConfig(t.paths.home, { repo_url: remote });
    const ended = JSON.stringify({ ended: "2026-01-01T00:00:00Z" });
    const put = async (id: string, content: string | Uint8Array, json?: string) => {
      await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
      const path = join(t.paths.active, `${id}.cast`);
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
      if (json) await Deno.writeTextFile(join(t.paths.active, `${id}.json`), json);
    };
    const v1 = v1Cast(PULL, { cols: 60, rows: 10 });
    await put("old-v1", v1, ended);
    await put("empty-ended", "", ended);
    const headerOnly = '{"version": 2, "width": 80, "height": 24}';
    await put("header-only", headerOnly, ended);
    await put("binary", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 10]), ended);
    await put("pull-v2", v2Cast(PULL, { cols: 60, rows: 10 }), ended);

    const once = await runOnce(t.env);
    assert.equal(once.code, 0, once.stderr);
    // Finished (moved to done/) and on the branch exactly as they were.
    for (const [id, bytes] of [["old-v1", v1], ["empty-ended", ""], ["header-only", headerOnly]]) {
      assert.equal(await Deno.readTextFile(join(t.paths.done, `${id}.cast`)), bytes, id);
      assert.equal(
        new TextDecoder().decode(await restoreFromRemote(remote, { id })),
        bytes,
        `${id} restored`,
      );
    }
    const text = await cli(t, ["text", "old-v1", "--timestamps"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^\[00:00:00\] \$ docker pull app\n\[00:01:00\] layer1: Pull complete\n/,
    );
    assert.equal((await cli(t, ["text", "empty-ended"])).stdout, "");

    // A binary file is never backed up, and text says why.
    const binary = await cli(t, ["text", "binary"]);
    assert.equal(binary.code, 1);
    assert.match(
      binary.stderr,
      /active\/binary\.cast is not backed up: not an asciicast file \(binary content/,
    );

    // An --id that names no recording is an error (2), with the closest ids.
    const typo = await cli(t, ["search", "Pull", "--id", "pull-v3", "--id", "pull-v2"]);
    assert.equal(typo.code, 2);
    assert.ok(typo.stdout.startsWith("pull-v2  00:01:00  layer1: Pull complete\n"), typo.stdout);
    assert.match(
      typo.stderr,
      /no recording "pull-v3" on the remote searched \(the closest: pull-v2\)/,
    );
    const far = await cli(t, ["search", "Pull", "--id", "zzzzzzzzzzzzzzzz"]);
    assert.equal(far.code, 2);
    assert.match(far.stderr, /no recording "zzzzzzzzzzzzzzzz" .*see `daemon\.ts list`/);
  } finally {
    await t.cleanup();
  }
});
