/**
 * The trailers of old chunks (lib/git/chunk_history.ts): many recordings are
 * read with one pathspec for the chunks folder (git compares every changed
 * path with every pathspec: a folder per recording cost seconds for a
 * thousand), a few with one each; the answer is the same either way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chunkTrailersFromHistory, MAX_PATHSPECS } from "../../../lib/git/chunk_history.ts";
import { git } from "../../../lib/git/mod.ts";
import { assertTools, ignoreWithout, makeTestHome } from "../../support/env.ts";
import { generateBranch } from "../../support/long_branch.ts";
import { makeGitSpy, subcommand } from "../../support/git_spy.ts";

const TOOLS = ["git", "zstd"];

Deno.test({
  name:
    "chunk trailers: past a few recordings, one pathspec for the chunks folder; the same trailers",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome("chunk-history-");
    const path = Deno.env.get("PATH")!;
    try {
      const gitDir = join(t.root, "old.git");
      const made = await generateBranch(gitDir, {
        recordings: MAX_PATHSPECS + 8,
        chunksPerRecording: 3,
        linesPerChunk: 2,
        records: false,
        history: "long",
      });
      const tip = (await git(["rev-parse", "refs/heads/asciinema-recordings"], { gitDir })).stdout
        .trim();
      const spy = await makeGitSpy(join(t.root, "spy"));
      Deno.env.set("PATH", `${spy.bin}:${path}`);
      const all = await chunkTrailersFromHistory(tip, made.ids, { gitDir });
      const some = made.ids.slice(0, MAX_PATHSPECS + 1);
      const many = await chunkTrailersFromHistory(tip, some, { gitDir });
      const few = await chunkTrailersFromHistory(tip, made.ids.slice(0, 2), { gitDir });
      Deno.env.set("PATH", path);
      const pathspecs = (await spy.calls()).filter((args) => subcommand(args) === "log")
        .map((args) => args.slice(args.indexOf("--") + 1));
      assert.deepEqual(pathspecs[0], ["chunks/"]);
      assert.deepEqual(pathspecs[1], ["chunks/"]);
      assert.deepEqual(pathspecs[2], made.ids.slice(0, 2).map((id) => `chunks/${id}/`));
      // Every chunk of every recording asked for, and nothing of the others.
      assert.equal(all.size, made.ids.length * 3);
      assert.equal(many.size, some.length * 3);
      assert.equal(few.size, 2 * 3);
      for (const [key, details] of few) assert.deepEqual(many.get(key), details);
      for (const [key, details] of many) assert.deepEqual(all.get(key), details);
      for (const key of many.keys()) assert.ok(some.includes(key.split("\0")[0]));
    } finally {
      Deno.env.set("PATH", path);
      await t.cleanup();
    }
  },
});
