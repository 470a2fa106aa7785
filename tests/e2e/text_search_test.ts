/**
 * `search`, `text` and `reindex` against recordings the real daemon pushed
 * (issue 16, acceptance 1–3): handcrafted sessions (typo + backspace, colour
 * mid-word, a word split across events, `\r` overwrites, the alternate
 * screen) as v2 and v3; a recording still being written and the same one
 * finished (through its index); an index deleted and rebuilt by `reindex`;
 * the same results every way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../support/env.ts";
import {
  DAEMON_TS,
  FAST_SETTINGS,
  remoteEnd,
  runOnce,
  waitForHealth,
  withDaemon,
} from "../support/daemon.ts";
import { makeTestHome, type TestHome } from "../support/env.ts";
import { bareRemote } from "../support/recording.ts";
import { SESSION, v2Cast, v3Cast } from "../support/casts.ts";
import { run } from "../../lib/sys/exec.ts";
import { git } from "../../lib/git/hermetic.ts";
import { newIdentity } from "../../lib/crypto/mod.ts";

const BRANCH = "asciinema-recordings";

/** Runs `daemon.ts <args>` in the test home. */
async function cli(t: TestHome, args: string[], env: Record<string, string> = {}) {
  return await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, ...args],
    env: { ...t.env, ...env },
    clearEnv: true,
    timeoutMs: 120_000,
  });
}

/** `search --json` results as objects. */
async function searchJson(t: TestHome, args: string[], env: Record<string, string> = {}) {
  const result = await cli(t, ["search", "--json", ...args], env);
  const matches = result.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  return { code: result.code, matches, stderr: result.stderr };
}

/** The files directly under `recordings/<id>/` on the remote's branch (not its chunks' records). */
async function recordingFiles(remote: string, id: string): Promise<string[]> {
  const listed = await git(
    ["ls-tree", `refs/heads/${BRANCH}`, "--", `recordings/${id}/`],
    { gitDir: remote },
  );
  return listed.stdout.split("\n").filter((line) => line.includes(" blob "))
    .map((line) => line.split("\t")[1].split("/").pop()!);
}

/** Deletes `path` from the remote's branch with a commit of its own (someone removed it). */
async function deleteOnRemote(remote: string, path: string): Promise<void> {
  const result = await git(["fast-import", "--quiet", "--done"], {
    gitDir: remote,
    stdin: `commit refs/heads/${BRANCH}\ncommitter t <t@localhost> 1700000000 +0000\n` +
      `data 7\nremove\nfrom refs/heads/${BRANCH}^0\nD ${path}\ndone\n`,
  });
  assert.ok(result.success, result.stderr);
}

const withoutSource = (matches: Record<string, unknown>[]) =>
  matches.map(({ source: _, ...rest }) => rest);

Deno.test("search finds the corrected, coloured, split word at its time; \\r keeps the final text; the alternate screen stays out; v2 and v3 agree", async () => {
  const t = await makeTestHome();
  try {
    const remote = bareRemote(t, "remote.git");
    await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(
      join(t.paths.home, "config.json"),
      JSON.stringify({ repo_url: remote }),
    );
    await Deno.writeTextFile(join(t.paths.active, "sess-v2.cast"), v2Cast(SESSION));
    await Deno.writeTextFile(
      join(t.paths.active, "sess-v2.json"),
      JSON.stringify({ ended: "2026-01-01T00:00:00Z" }),
    );
    await Deno.writeTextFile(join(t.paths.active, "sess-v3.cast"), v3Cast(SESSION));
    const once = await runOnce(t.env);
    assert.equal(once.code, 0, once.stderr);
    for (const id of ["sess-v2", "sess-v3"]) {
      assert.deepEqual(await recordingFiles(remote, id), ["manifest.json", "text.zst"]);
    }

    const found = await searchJson(t, ["deploy staging"]);
    assert.equal(found.code, 0, found.stderr);
    const brief = found.matches.map((m) => [m.id, m.t, m.offset, m.line, m.source]);
    assert.deepEqual(brief, [
      ["sess-v2", 3, "00:00:03", "$ echo deploy staging", "index"],
      ["sess-v2", 3.125, "00:00:03", "deploy staging", "index"],
      ["sess-v3", 3, "00:00:03", "$ echo deploy staging", "index"],
      ["sess-v3", 3.125, "00:00:03", "deploy staging", "index"],
    ]);
    // Rendered from the chunks (no index): the same.
    const rendered = await searchJson(t, ["deploy staging", "--render"]);
    assert.deepEqual(withoutSource(rendered.matches), withoutSource(found.matches));
    assert.ok(rendered.matches.every((m) => m.source === "rendered"));

    const progress = await searchJson(t, ["progress", "--id", "sess-v3"]);
    assert.deepEqual(progress.matches.map((m) => [m.t, m.line]), [[6.5, "progress 100%"]]);
    for (const gone of ["deplp", "ALTSCREEN-SECRET", "progress 55%"]) {
      const none = await searchJson(t, [gone]);
      assert.equal(none.code, 1, `${gone}: ${JSON.stringify(none.matches)}`);
      assert.deepEqual(none.matches, []);
    }

    const plain = await cli(t, ["search", "-C", "1", "DEPLOY", "-i", "--id", "sess-v2"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(
      plain.stdout,
      "sess-v2  00:00:03  $ echo deploy staging\n" +
        "sess-v2  00:00:03  deploy staging\n" +
        "sess-v2  00:00:05- $ make\n",
    );
    const text = await cli(t, ["text", "sess-v3", "--timestamps"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^\[00:00:03\] \$ echo deploy staging\n\[00:00:03\] deploy staging\n/,
    );
    assert.ok(!text.stdout.includes("ALTSCREEN"));
    const fromChunks = await cli(t, ["text", "sess-v3", "--timestamps", "--render"]);
    assert.equal(fromChunks.stdout, text.stdout);

    // --since: lines shown since then (the recordings started moments ago).
    assert.equal((await searchJson(t, ["deploy staging", "--since", "1h"])).matches.length, 4);
    assert.equal((await cli(t, ["search", "deploy staging", "--since", "2999-01-01"])).code, 1);

    // grep's exit codes: an error is 2.
    assert.equal((await cli(t, ["search", "x", "--since", "yesterday-ish"])).code, 2);
    assert.equal((await cli(t, ["search", "--regex", "("])).code, 2);
    assert.equal((await cli(t, ["search", "x", "--repo", join(t.root, "nowhere.git")])).code, 2);
  } finally {
    await t.cleanup();
  }
});

Deno.test("search reads a recording still being written, then the finished one through its index; reindex rebuilds a deleted index; the results are identical", async () => {
  await withDaemon(
    (t) => ({ ...FAST_SETTINGS, repo_url: bareRemote(t, "remote.git") }),
    async ({ t }) => {
      const remote = join(t.root, "remote.git");
      await waitForHealth(t.paths.health, (h) => h.status === "ok");
      const cast = join(t.paths.active, "live.cast");
      const events: [number, string][] = [[0.5, "$ make\r\n"], [1.0, "needle-one: compiling\r\n"]];
      await Deno.writeTextFile(cast, v2Cast(events, { cols: 60, rows: 10 }));
      const size = (await Deno.stat(cast)).size;
      await waitFor(async () => (await remoteEnd(remote, { id: "live" })) === size, {
        what: "the first part on the remote",
      });
      const live = await searchJson(t, ["needle"]);
      assert.equal(live.code, 0, live.stderr);
      assert.deepEqual(live.matches.map((m) => [m.id, m.t, m.line, m.complete, m.source]), [
        ["live", 1, "needle-one: compiling", false, "rendered"],
      ]);

      // More output, then the end: the daemon pushes the rest, the manifest and the index.
      const more: [number, string][] = [[65.25, "needle-two: \x1b[31mfailed\x1b[0m\r\n"], [
        66,
        "$ ",
      ]];
      await Deno.writeTextFile(cast, v2Cast(more).split("\n").slice(1).join("\n"), {
        append: true,
      });
      await Deno.writeTextFile(
        join(t.paths.active, "live.json"),
        JSON.stringify({ ended: new Date().toISOString() }),
      );
      await waitFor(async () => (await recordingFiles(remote, "live")).includes("text.zst"), {
        what: "the text index on the remote",
        timeoutMs: 60_000,
      });
      const indexed = await searchJson(t, ["needle"]);
      assert.equal(indexed.code, 0, indexed.stderr);
      assert.deepEqual(indexed.matches.map((m) => [m.t, m.offset, m.line, m.complete, m.source]), [
        [1, "00:00:01", "needle-one: compiling", true, "index"],
        [65.25, "00:01:05", "needle-two: failed", true, "index"],
      ]);
      const rendered = await searchJson(t, ["needle", "--render"]);
      assert.deepEqual(withoutSource(rendered.matches), withoutSource(indexed.matches));

      // The index is deleted on the remote: search renders instead, reindex builds it again.
      await deleteOnRemote(remote, "recordings/live/text.zst");
      assert.deepEqual(await recordingFiles(remote, "live"), ["manifest.json"]);
      const fallback = await searchJson(t, ["needle"]);
      assert.deepEqual(withoutSource(fallback.matches), withoutSource(indexed.matches));
      assert.ok(fallback.matches.every((m) => m.source === "rendered"));
      const reindex = await cli(t, ["reindex"]);
      assert.equal(reindex.code, 0, reindex.stderr);
      assert.match(reindex.stdout, /1 index built and pushed \(live\)/);
      assert.deepEqual(await recordingFiles(remote, "live"), ["manifest.json", "text.zst"]);
      const again = await searchJson(t, ["needle"]);
      assert.deepEqual(again.matches, indexed.matches);
      const twice = await cli(t, ["reindex"]);
      assert.match(twice.stdout, /0 indexes built and pushed, 1 already there/);
      assert.equal((await searchJson(t, ["no such text anywhere"])).code, 1);
    },
  );
});

Deno.test("with encryption, the index is encrypted too (text.zst.age), search reads it with the identity and says --identity without one; reindex rebuilds it encrypted", async () => {
  const t = await makeTestHome();
  try {
    const remote = bareRemote(t, "remote.git");
    const { identity, recipient } = await newIdentity();
    const withKey = { ASCIINEMA_AGE_IDENTITY: identity };
    await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(
      join(t.paths.home, "config.json"),
      JSON.stringify({ repo_url: remote, encryption: { recipients: [recipient] } }),
    );
    const marker = "sealed-needle-7f3a";
    await Deno.writeTextFile(
      join(t.paths.active, "enc.cast"),
      v3Cast([[0.5, "$ echo " + marker + "\r\n"], [1.5, marker + "\r\n"]]),
    );
    const once = await runOnce(t.env);
    assert.equal(once.code, 0, once.stderr);
    assert.deepEqual(await recordingFiles(remote, "enc"), ["manifest.json.age", "text.zst.age"]);
    const blob = await git(
      ["cat-file", "blob", `refs/heads/${BRANCH}:recordings/enc/text.zst.age`],
      { gitDir: remote },
    );
    assert.ok(blob.stdout.startsWith("age-encryption.org/v1"), "an age file");
    assert.ok(!blob.stdout.includes(marker));

    const found = await searchJson(t, [marker], withKey);
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(found.matches.map((m) => [m.t, m.line, m.source]), [
      [0.5, `$ echo ${marker}`, "index"],
      [1.5, marker, "index"],
    ]);
    const locked = await searchJson(t, [marker]);
    assert.equal(locked.code, 2);
    assert.match(locked.stderr, /--identity/);
    const text = await cli(t, ["text", "enc"], withKey);
    assert.equal(text.stdout, `$ echo ${marker}\n${marker}\n`);

    await deleteOnRemote(remote, "recordings/enc/text.zst.age");
    const reindex = await cli(t, ["reindex"], withKey);
    assert.equal(reindex.code, 0, reindex.stderr);
    assert.deepEqual(await recordingFiles(remote, "enc"), ["manifest.json.age", "text.zst.age"]);
    assert.deepEqual((await searchJson(t, [marker], withKey)).matches, found.matches);
  } finally {
    await t.cleanup();
  }
});
