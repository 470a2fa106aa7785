/**
 * Blobs straight from git into a program (lib/git/blob_pipe.ts): their bytes
 * in the order asked, nothing between them; bad ids refused before anything
 * runs; git's failure said; a stop ends git and the program together. And a
 * restore of plain chunks goes through it (one `git show`, no chunk bytes
 * through `cat-file`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { git, pipeBlobsInto } from "../../../lib/git/mod.ts";
import { restoreRecording } from "../../../lib/branch/mod.ts";
import { concatBytes } from "../../../lib/sys/mod.ts";
import {
  assertTools,
  ignoreWithout,
  makeTestHome,
  type TestHome,
  waitFor,
} from "../../support/env.ts";
import { initBare, lineRanges, makeCast, pushRecording } from "../../support/fake_branch.ts";
import { makeGitSpy, subcommand } from "../../support/git_spy.ts";

const TOOLS = ["git", "zstd", "sh"];

async function blob(gitDir: string, bytes: Uint8Array): Promise<string> {
  return (await git(["hash-object", "-w", "--stdin"], { gitDir, stdin: bytes })).stdout.trim();
}

/** A test home with an empty bare repository in it. */
async function withRepo(body: (t: TestHome, gitDir: string) => Promise<void>): Promise<void> {
  await assertTools(TOOLS);
  const t = await makeTestHome("blob-pipe-");
  try {
    const gitDir = join(t.root, "repo.git");
    await git(["init", "--bare", "--quiet", gitDir]);
    await body(t, gitDir);
  } finally {
    await t.cleanup();
  }
}

Deno.test({
  name: "pipeBlobsInto: the blobs' bytes in the order asked (a repeat too), nothing between them",
  ignore: ignoreWithout(TOOLS),
  fn: () =>
    withRepo(async (t, gitDir) => {
      const parts = [
        new TextEncoder().encode("first\n"),
        new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff),
        new Uint8Array(0),
        new TextEncoder().encode("no newline at the end"),
      ];
      const ids: string[] = [];
      for (const part of parts) ids.push(await blob(gitDir, part));
      const order = [3, 0, 1, 2, 0];
      const out = join(t.root, "out.bin");
      const pipe = pipeBlobsInto(gitDir, order.map((i) => ids[i]), {
        program: ["cp", "/dev/stdin", out],
        signal: new AbortController().signal,
      });
      const done = await pipe.done;
      assert.ok(done.success, done.stderr);
      assert.deepEqual(await Deno.readFile(out), concatBytes(order.map((i) => parts[i])));

      // Not an object id: refused before anything runs (nothing from a branch is an option).
      assert.throws(
        () =>
          pipeBlobsInto(gitDir, ["--output=/tmp/x"], {
            program: ["cat"],
            signal: AbortSignal.abort(),
          }),
        /not an object id/,
      );
      // A missing object: git's failure is said (the program's status is the pipeline's).
      const missing = await pipeBlobsInto(gitDir, [ids[0], "f".repeat(40)], {
        program: ["cp", "/dev/stdin", join(t.root, "partial.bin")],
        signal: new AbortController().signal,
      }).done;
      assert.match(missing.stderr, /git show failed/);
    }),
});

Deno.test({
  name: "pipeBlobsInto: a stop or an abort ends git and the program together",
  ignore: ignoreWithout(TOOLS),
  fn: () =>
    withRepo(async (t, gitDir) => {
      // More than a pipe holds, to a program that never reads: git blocks on its write.
      const id = await blob(gitDir, new Uint8Array(4 << 20).fill(1));
      const pidFile = join(t.root, "pid");
      const controller = new AbortController();
      const pipe = pipeBlobsInto(gitDir, [id], {
        program: ["sh", "-c", 'echo $$ > "$1"; exec sleep 600', "sh", pidFile],
        signal: controller.signal,
      });
      await waitFor(async () => (await Deno.readTextFile(pidFile).catch(() => "")).trim() !== "", {
        what: "the program to start",
        intervalMs: 10,
      });
      const pid = (await Deno.readTextFile(pidFile)).trim();
      controller.abort();
      const done = await pipe.done;
      assert.equal(done.success, false);
      // The program (and git with it) is gone: no process, or only a zombie until it is reaped.
      await waitFor(async () => {
        const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
        return stat === "" || stat.split(") ")[1]?.startsWith("Z");
      }, { what: `process ${pid} to end`, timeoutMs: 10_000, intervalMs: 10 });
    }),
});

Deno.test({
  name:
    "a restore of plain chunks takes their bytes from one git show into zstd, not through cat-file",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome("blob-pipe-restore-");
    const path = Deno.env.get("PATH")!;
    try {
      const repo = join(t.root, "remote.git");
      await initBare(repo);
      const cast = makeCast(400);
      await pushRecording(repo, {
        id: "plain",
        data: cast,
        manifest: true,
        ranges: lineRanges(cast, 6),
      });
      const spy = await makeGitSpy(join(t.root, "spy"));
      Deno.env.set("PATH", `${spy.bin}:${path}`);
      const result = await restoreRecording("plain", {
        repoUrl: repo,
        branch: "asciinema-recordings",
        output: join(t.root, "plain.cast"),
        paths: t.paths,
      });
      Deno.env.set("PATH", path);
      assert.equal(result.chunks, 6);
      assert.deepEqual(await Deno.readFile(join(t.root, "plain.cast")), cast);
      const calls = await spy.calls();
      const shows = calls.filter((args) => subcommand(args) === "show");
      assert.equal(shows.length, 1, JSON.stringify(calls));
      assert.deepEqual(shows[0].slice(-2), ["--no-textconv", "--stdin"]);
    } finally {
      Deno.env.set("PATH", path);
      await t.cleanup();
    }
  },
});
