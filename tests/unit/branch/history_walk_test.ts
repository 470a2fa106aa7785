/**
 * Issue 25, acceptance 2: reads cost the recording, not the branch's
 * history (DESIGN.md invariant 18). A branch of a few thousand commits in
 * the daemon's layout (one commit per chunk, records beside the chunks) is
 * read by `list`, `verify`, `restore`, `text`, `search` (with and without
 * text indexes), `reindex` and the daemon's resume look-up, each through a
 * `git` on PATH that records its arguments: none of them runs a command
 * that walks history, and each runs a handful of git processes whatever the
 * number of commits. The same readers on a branch in the older format
 * (trailers only) do walk it: the check can fail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RepoClone } from "../../../lib/git/mod.ts";
import { lookUp } from "../../../lib/engine/publish/resume.ts";
import { assertTools, ignoreWithout } from "../../support/env.ts";
import { withFakeRemote } from "../../support/fake_branch.ts";
import { generateBranch, needleOf, recordingCast, recordingId } from "../../support/long_branch.ts";
import { type GitSpy, HISTORY_WALKERS, makeGitSpy, subcommand } from "../../support/git_spy.ts";

const TOOLS = ["git", "zstd"];
const SHAPE = { chunks: 100, linesPerChunk: 8 };

/** The calls that walk history, and how many git processes ran. */
async function walks(spy: GitSpy): Promise<{ walkers: string[]; calls: number }> {
  const calls = await spy.calls();
  const walkers = calls
    .filter((args) => HISTORY_WALKERS.has(subcommand(args)) || isDeepFetch(args))
    .map((args) => args.join(" "));
  await spy.reset();
  return { walkers, calls: calls.length };
}

/** A fetch that takes the whole history (not `--depth`). */
function isDeepFetch(args: string[]): boolean {
  return subcommand(args) === "fetch" && !args.some((arg) => arg.startsWith("--depth"));
}

Deno.test({
  name:
    "issue 25: on a branch of 3,000 commits, list, verify, restore, text, search, reindex and the resume look-up walk no history",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, work, cli }) => {
      const remote = join(t.root, "year.git");
      const made = await generateBranch(remote, {
        recordings: 30,
        chunksPerRecording: SHAPE.chunks,
        linesPerChunk: SHAPE.linesPerChunk,
        records: true,
        history: "long",
        inProgress: 2,
      });
      assert.ok(made.commits >= 3000, `${made.commits} commits`);
      const spy = await makeGitSpy(join(t.root, "spy"));
      const zstd = await makeGitSpy(join(t.root, "zstd-spy"), "zstd");
      const env = { ...t.env, PATH: `${spy.bin}:${zstd.bin}:${t.env.PATH}` };
      const run = async (args: string[], repo = remote) => {
        const result = await cli([...args, "--repo", repo], { env });
        assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
        const seen = await walks(spy);
        assert.deepEqual(seen.walkers, [], `${args.join(" ")} walked the history`);
        assert.ok(seen.calls > 0, "the spy saw the git calls");
        assert.ok(seen.calls <= 12, `${args.join(" ")}: ${seen.calls} git calls`);
        return result.stdout;
      };

      const listed = JSON.parse(await run(["list", "--json"]));
      assert.equal(listed.recordings.length, 30);
      const live = listed.recordings.find((r: { id: string }) => r.id === recordingId(29));
      assert.equal(live.complete, false);
      assert.match(live.last_chunk, /^2023-11-1\dT/); // its last chunk's time, from its record

      const done = recordingId(3);
      await zstd.reset();
      assert.match(await run(["verify", done]), /intact/i);
      // Its 100 chunks through one zstd, not one each.
      assert.equal((await zstd.calls()).length, 1);
      await run(["restore", done, "-o", join(work, "done.cast")]);
      assert.deepEqual(await Deno.readFile(join(work, "done.cast")), recordingCast(3, SHAPE));
      await run(["restore", recordingId(29), "-o", join(work, "live.cast")]);
      assert.deepEqual(await Deno.readFile(join(work, "live.cast")), recordingCast(29, SHAPE));
      assert.match(await run(["text", done]), new RegExp(needleOf(3)));

      // Through git's transport and without a clone of the daemon's: a shallow fetch of the tip.
      const url = `file://${remote}`;
      assert.equal(JSON.parse(await run(["list", "--json"], url)).recordings.length, 30);
      await run(["restore", recordingId(5), "-o", join(work, "fetched.cast")], url);
      assert.deepEqual(await Deno.readFile(join(work, "fetched.cast")), recordingCast(5, SHAPE));

      // Search renders every recording (no text index yet), then reads the indexes reindex made.
      const rendered = await run(["search", "--json", needleOf(7)]);
      assert.equal(JSON.parse(rendered.trim()).source, "rendered");
      await run(["reindex"], url);
      const indexed = await run(["search", "--json", needleOf(7)]);
      assert.equal(JSON.parse(indexed.trim()).source, "index");
      assert.equal(JSON.parse(indexed.trim()).id, recordingId(7));

      // The daemon's look-up of a recording whose checkpoint is lost (in-process, spy on PATH).
      const cast = join(t.root, "live.cast");
      await Deno.writeFile(cast, recordingCast(28, SHAPE));
      const path = Deno.env.get("PATH")!;
      Deno.env.set("PATH", `${spy.bin}:${path}`);
      try {
        // The daemon's own clone, new: its first fetch takes the tip (--depth=1).
        const clone = new RepoClone({ url: remote, branch: "asciinema-recordings" }, {
          gitDir: join(t.root, "daemon.git"),
        });
        await clone.lookupTip();
        // Made, and fetched once: the tip only (--depth=1, no history walked).
        assert.deepEqual((await walks(spy)).walkers, []);
        const found = await lookUp(clone, [{ id: recordingId(28), castPath: cast }]);
        assert.deepEqual({ ...found.get(recordingId(28)), token: undefined }, {
          kind: "resume",
          folder: recordingId(28),
          end: recordingCast(28, SHAPE).length,
          nextSeq: SHAPE.chunks,
          token: undefined,
        });
      } finally {
        Deno.env.set("PATH", path);
      }
      const looked = await walks(spy);
      assert.deepEqual(looked.walkers, []);
      assert.ok(looked.calls > 0 && looked.calls <= 12, `${looked.calls} git calls`);
    });
  },
});

Deno.test({
  name: "issue 25: the same readers on a trailers-only branch walk its history (the spy sees it)",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, cli }) => {
      const remote = join(t.root, "old.git");
      await generateBranch(remote, {
        recordings: 2,
        chunksPerRecording: 5,
        linesPerChunk: 4,
        records: false,
        history: "long",
      });
      const spy = await makeGitSpy(join(t.root, "spy"));
      const env = { ...t.env, PATH: `${spy.bin}:${t.env.PATH}` };
      for (const args of [["list"], ["verify", recordingId(1)]]) {
        const result = await cli([...args, "--repo", remote], { env });
        assert.equal(result.code, 0, result.stderr);
        const seen = await walks(spy);
        assert.ok(seen.walkers.some((call) => /^--literal-pathspecs log /.test(call)), args[0]);
      }
      // Fetched shallow, then deepened for the trailers: every chunk is still checked.
      const result = await cli(["verify", recordingId(1), "--repo", `file://${remote}`], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stdout, /no Cast-Sha256/);
      const calls = (await spy.calls()).map((args) => args.join(" "));
      assert.ok(calls.some((call) => /^fetch .*--depth=1/.test(call)), calls.join("\n"));
      assert.ok(calls.some((call) => /^fetch .*--unshallow/.test(call)), calls.join("\n"));
    });
  },
});
