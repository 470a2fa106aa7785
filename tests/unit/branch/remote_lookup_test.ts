/**
 * `restore`, `list` and `verify` find a recording's remote by themselves
 * (issue 14): `--repo`, else the remote pinned in `state/<id>.json`, else the
 * recording's `done/` or `active/` `.json`, else config.json, else the
 * embedded `backup.git`; `list` without `--repo` shows every remote the
 * daemon knows, grouped. End to end: a recording made with bootstrap.ts to
 * the cwd's `origin` comes back byte-identical with the restore command
 * bootstrap printed, pasted as it is.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeJsonAtomic } from "../../../lib/sys/mod.ts";
import { gitChecked } from "../../../lib/git/mod.ts";
import { knownRemotes, recordingRemote, resolveRemote } from "../../../lib/branch/mod.ts";
import { newState, saveState } from "../../../lib/chunk/mod.ts";
import {
  finished,
  idFrom,
  startBootstrap,
  withRecordingDaemon,
} from "../../support/bootstrap_run.ts";
import { remoteEnd } from "../../support/daemon.ts";
import { assertTools, ignoreWithout, makeTestHome, waitFor } from "../../support/env.ts";
import { initBare, makeCast, pushRecording, runDaemonCli } from "../../support/fake_branch.ts";
import { run } from "../../../lib/sys/mod.ts";

Deno.test("a recording's remote: --repo, pinned checkpoint, done/ or active/ .json, config.json, backup.git; generations and renames fall back to their base id", async () => {
  const t = await makeTestHome();
  try {
    const paths = t.paths;
    for (const dir of [paths.state, paths.done, paths.active]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    const none = await resolveRemote({ paths, id: "nothing" });
    assert.deepEqual(none, { url: paths.backupGit, branch: "asciinema-recordings" });
    await Deno.writeTextFile(paths.config, JSON.stringify({ repo_url: "/r/default.git" }));
    assert.deepEqual(await resolveRemote({ paths, id: "nothing" }), {
      url: "/r/default.git",
      branch: "asciinema-recordings",
    });

    // The .json of a finished recording (the branch left to the default).
    await writeJsonAtomic(join(paths.done, "rec.json"), { repo_url: "/r/origin.git" });
    assert.deepEqual(await resolveRemote({ paths, id: "rec" }), {
      url: "/r/origin.git",
      branch: "asciinema-recordings",
    });
    // A pinned checkpoint wins over the .json; a generation has its own.
    await saveState(paths.state, {
      ...newState("rec"),
      remote: { url: "/r/pin.git", branch: "b" },
    });
    assert.deepEqual(await recordingRemote(paths, "rec"), { url: "/r/pin.git", branch: "b" });
    await saveState(paths.state, {
      ...newState("rec", { generation: 2 }),
      remote: { url: "/r/gen2.git", branch: "b2" },
    });
    assert.deepEqual(await recordingRemote(paths, "rec~2"), { url: "/r/gen2.git", branch: "b2" });
    // A rename by another machine's collision (<id>~<host>) is under its base id's remote.
    assert.deepEqual(await recordingRemote(paths, "rec~laptop"), {
      url: "/r/pin.git",
      branch: "b",
    });
    assert.deepEqual(await recordingRemote(paths, "rec~2~laptop"), {
      url: "/r/gen2.git",
      branch: "b2",
    });
    // active/ .json of a recording the daemon has not pinned yet.
    await writeJsonAtomic(join(paths.active, "live.json"), { branch: "only-branch" });
    assert.deepEqual(await resolveRemote({ paths, id: "live" }), {
      url: "/r/default.git",
      branch: "only-branch",
    });
    // --repo wins; --branch alone keeps the recording's remote.
    assert.deepEqual(await resolveRemote({ paths, id: "rec", repoUrl: "/x.git" }), {
      url: "/x.git",
      branch: "asciinema-recordings",
    });
    assert.deepEqual(await resolveRemote({ paths, id: "rec", branch: "other" }), {
      url: "/r/pin.git",
      branch: "other",
    });

    // Known remotes: the default, the pinned ones, the clones under repos/, each once.
    const clone = join(paths.repos, "some-clone.git");
    await initBare(clone);
    await gitChecked(["config", "remote.origin.url", "/r/pin.git/"], { gitDir: clone });
    await gitChecked(["config", "chunker.branch", "b"], { gitDir: clone });
    const other = join(paths.repos, "other-clone.git");
    await initBare(other);
    await gitChecked(["config", "remote.origin.url", "https://example.org/x.git"], {
      gitDir: other,
    });
    await gitChecked(["config", "chunker.branch", "main"], { gitDir: other });
    const known = await knownRemotes(paths);
    assert.deepEqual(
      known.map((r) => [r.url, r.branch, r.isDefault, r.pinned, Boolean(r.clone)]),
      [
        ["/r/default.git", "asciinema-recordings", true, 0, false],
        ["/r/pin.git", "b", false, 1, true],
        ["/r/gen2.git", "b2", false, 1, false],
        ["https://example.org/x.git", "main", false, 0, true],
      ],
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test({
  name:
    "list without --repo shows every known remote, grouped, and keeps going past one it cannot read",
  ignore: ignoreWithout(["git", "zstd"]),
  async fn() {
    await assertTools(["git", "zstd"]);
    const t = await makeTestHome();
    try {
      const work = join(t.root, "work");
      await Deno.mkdir(work);
      const a = join(t.root, "a.git");
      const b = join(t.root, "b.git");
      await initBare(a);
      await initBare(b);
      await pushRecording(a, { id: "in-a", data: makeCast(30), manifest: true });
      await pushRecording(b, { id: "in-b", data: makeCast(40, { seed: "b" }), manifest: true });
      await Deno.mkdir(t.paths.home, { recursive: true });
      await Deno.writeTextFile(t.paths.config, JSON.stringify({ repo_url: a }));
      await Deno.mkdir(t.paths.state, { recursive: true });
      await saveState(t.paths.state, {
        ...newState("in-b"),
        remote: { url: b, branch: "asciinema-recordings" },
      });
      await saveState(t.paths.state, {
        ...newState("lost"),
        remote: { url: join(t.root, "gone.git"), branch: "asciinema-recordings" },
      });
      const cli = (args: string[]) => runDaemonCli(args, { env: t.env, cwd: work });

      const text = await cli(["list"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(`Recordings on asciinema-recordings of ${a} .*\\n\\n.*\\nin-a\\s+complete`),
      );
      assert.match(
        text.stdout,
        new RegExp(`Recordings on asciinema-recordings of ${b} .*\\n\\n.*\\nin-b\\s+complete`),
      );
      assert.match(text.stdout, /Could not read asciinema-recordings of .*gone\.git/);
      assert.match(text.stderr, /gone\.git is not a git repository/);

      const json = await cli(["list", "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const doc = JSON.parse(json.stdout);
      assert.deepEqual(
        doc.remotes.map((r: { url: string; recordings?: { id: string }[]; error?: string }) => [
          r.url,
          r.recordings?.map((rec) => rec.id) ?? "error",
        ]),
        [[a, ["in-a"]], [b, ["in-b"]], [join(t.root, "gone.git"), "error"]],
      );

      // restore and verify of in-b find b by its checkpoint, without --repo.
      const restored = await cli(["restore", "in-b"]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(await Deno.readFile(join(work, "in-b.cast")), makeCast(40, { seed: "b" }));
      const verified = await cli(["verify", "in-b"]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, new RegExp(`Verifying asciinema-recordings of ${b}`));
    } finally {
      await t.cleanup();
    }
  },
});

const REAL = ["asciinema", "tmux", "git", "zstd"];

Deno.test({
  name:
    "end to end: bootstrap records to the cwd's origin, the daemon pushes, the restore command bootstrap printed brings it back byte-identical; list shows it under that remote",
  ignore: ignoreWithout(REAL),
  async fn() {
    await assertTools(REAL);
    await withRecordingDaemon(async ({ t, tmux }) => {
      // The project being recorded: a git work tree whose origin is a local bare repository.
      const origin = join(t.root, "origin.git");
      await initBare(origin);
      const project = join(t.root, "project");
      await Deno.mkdir(project);
      await gitChecked(["init", "--quiet", project]);
      await gitChecked(["-C", project, "remote", "add", "origin", origin]);
      const started = await startBootstrap(t, tmux, {
        cwd: project,
        name: "origin",
        args: [
          "--command",
          "sh -c 'echo to the origin; printf \"caf\\303\\251\\n\"'",
          "--wait",
          "0",
        ],
      });
      const result = await finished(tmux, started);
      assert.equal(result.code, 0, result.stderr);
      const id = idFrom(result.stderr);
      const done = join(t.paths.done, `${id}.cast`);
      await waitFor(async () => {
        try {
          return (await remoteEnd(origin, { id })) === (await Deno.stat(done)).size;
        } catch {
          return false;
        }
      }, { what: `${id} pushed to the origin and moved to done/`, timeoutMs: 30_000 });
      await assert.rejects(() => Deno.stat(t.paths.backupGit), Deno.errors.NotFound);

      // The printed command, pasted as it is into a shell in the project directory.
      const command = /^ {2}Restore: +(.+)$/m.exec(result.stderr)?.[1];
      assert.ok(command, result.stderr);
      const pasted = await run("sh", {
        args: ["-c", command],
        cwd: project,
        env: t.env,
        clearEnv: true,
        timeoutMs: 60_000,
      });
      assert.equal(pasted.code, 0, `${command}\n${pasted.stdout}${pasted.stderr}`);
      assert.match(
        pasted.stdout,
        new RegExp(`Restored ${id} from asciinema-recordings of ${origin}`),
      );
      assert.deepEqual(await Deno.readFile(join(project, `${id}.cast`)), await Deno.readFile(done));

      const listed = await runDaemonCli(["list", "--json"], { env: t.env, cwd: project });
      assert.equal(listed.code, 0, listed.stderr);
      const remotes = JSON.parse(listed.stdout).remotes as {
        url: string;
        recordings?: { id: string; local: string | null }[];
      }[];
      const there = remotes.find((remote) => remote.url === origin);
      assert.ok(there, listed.stdout);
      assert.deepEqual(there.recordings?.map((r) => [r.id, r.local]), [[id, "done"]]);
      assert.equal(remotes.length, 1, "the unused embedded backup.git is not listed");
    });
  },
});
