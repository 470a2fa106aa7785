/** The publisher on its own: trailers, quoting, collisions with another machine, upkeep. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chunkCommitMessage,
  countObjects,
  geometricRollup,
  parseCountObjects,
  quoteFastImportPath,
  RepoClone,
  upkeepDue,
} from "../../../lib/git/mod.ts";
import { git } from "../../../lib/git/mod.ts";
import {
  chunkPathOnBranch,
  chunkSumPathOnBranch,
  formatChunkSum,
  parseChunkSum,
} from "../../../lib/chunk/mod.ts";
import { makeTestHome } from "../../support/env.ts";
import { remoteChunks } from "../../support/daemon.ts";
import { commitChanges, makeChunk } from "../../support/fake_branch.ts";
import { generateBranch } from "../../support/long_branch.ts";
import { makeGitSpy, subcommand } from "../../support/git_spy.ts";

/** The record of `id`'s chunk `range` on `gitDir`'s branch (undefined when absent). */
async function recordOn(
  gitDir: string,
  id: string,
  range: { seq: number; start: number; end: number },
): Promise<string | undefined> {
  const path = chunkSumPathOnBranch(id, range);
  const result = await git(["cat-file", "blob", `refs/heads/asciinema-recordings:${path}`], {
    gitDir,
  });
  return result.success ? result.stdout : undefined;
}

/** Commits chunk `seq` of recording `r` (one line, bytes `[seq * 10, seq * 10 + 8)`). */
async function commitLine(clone: RepoClone, root: string, seq: number): Promise<void> {
  const file = await makeChunk(root, `line ${seq}\n`, `c${seq}`);
  await clone.commit([{
    id: "r",
    seq,
    start: seq * 10,
    end: seq * 10 + 8,
    sha256: "0".repeat(64),
    file,
  }]);
}

Deno.test("fast-import paths are C-quoted; commit messages carry the Cast-* trailers", () => {
  assert.equal(quoteFastImportPath('chunks/a "b"\\c/x'), '"chunks/a \\"b\\"\\\\c/x"');
  assert.equal(quoteFastImportPath("chunks/\u00fc\n"), '"chunks/\u00fc\\n"');
  const message = chunkCommitMessage({ id: "r", seq: 3, start: 10, end: 20, sha256: "ab" });
  for (const line of ["Cast-Id: r", "Cast-Seq: 3", "Cast-Range: 10-20", "Cast-Sha256: ab"]) {
    assert.ok(message.includes(`\n${line}\n`), line);
  }
});

Deno.test("a path another machine already wrote is never overwritten: ours moves to <id>~<host>", async () => {
  const t = await makeTestHome();
  const remote = join(t.root, "remote.git");
  await git(["init", "--bare", "--quiet", remote]);
  const target = { url: remote, branch: "asciinema-recordings" };
  const a = new RepoClone(target, { gitDir: join(t.root, "a.git"), host: "alpha" });
  const b = new RepoClone(target, { gitDir: join(t.root, "b.git"), host: "beta" });
  await a.ensure();
  await b.ensure();
  const fileA = await makeChunk(t.root, "from alpha\n", "a");
  const fileB = await makeChunk(t.root, "from beta!\n", "b");
  const range = { id: "same", seq: 0, start: 0, end: 11 };
  await a.commit([{ ...range, sha256: "a".repeat(64), file: fileA }]);
  await a.push();
  await b.commit([{ ...range, sha256: "b".repeat(64), file: fileB }]);
  await b.push();
  const theirs = await remoteChunks(remote, { id: "same" });
  const ours = await remoteChunks(remote, { id: "same~beta" });
  assert.equal(theirs.length, 1);
  assert.equal(ours.length, 1);
  const show = async (blob: string) =>
    (await git(["cat-file", "blob", blob], { gitDir: remote })).stdout.length > 0;
  assert.ok(await show(theirs[0].blob));
  const log = await git(["log", "--format=%B", "asciinema-recordings"], { gitDir: remote });
  assert.ok(
    log.stdout.includes("Cast-Id: same~beta"),
    "the moved chunk's trailer names its new id",
  );
  assert.ok(log.stdout.includes("Cast-Id: same\n"), "the other machine's commit is kept");
  await t.cleanup();
});

Deno.test("each chunk's commit adds its record: sha256 and commit time, no hash for an encrypted chunk", async () => {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, "remote.git");
    await git(["init", "--bare", "--quiet", remote]);
    const clone = new RepoClone({ url: remote, branch: "asciinema-recordings" }, {
      gitDir: join(t.root, "c.git"),
    });
    await clone.ensure();
    const plain = { id: "r", seq: 0, start: 0, end: 6, sha256: "c".repeat(64) };
    const sealed = { id: "r", seq: 1, start: 6, end: 12, sha256: "d".repeat(64), encrypted: true };
    await clone.commit([
      { ...plain, file: await makeChunk(t.root, "plain\n", "p") },
      { ...sealed, file: await makeChunk(t.root, "sealed\n", "s") },
    ]);
    await clone.push();
    const times = (await git(["log", "--reverse", "--format=%ct", "asciinema-recordings"], {
      gitDir: remote,
    })).stdout.trim().split("\n").map(Number);
    assert.deepEqual(parseChunkSum((await recordOn(remote, "r", plain))!), {
      sha256: plain.sha256,
      committed: times[0],
    });
    const record = (await recordOn(remote, "r", sealed))!;
    assert.deepEqual(parseChunkSum(record), { committed: times[1] });
    assert.doesNotMatch(record, /d{64}/, "no plaintext hash of an encrypted chunk");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a replay moves a chunk's record with its chunk, and drops it with a chunk already there", async () => {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, "remote.git");
    await git(["init", "--bare", "--quiet", remote]);
    const beta = new RepoClone({ url: remote, branch: "asciinema-recordings" }, {
      gitDir: join(t.root, "b.git"),
      host: "beta",
    });
    await beta.ensure();
    const moved = { id: "old", seq: 0, start: 0, end: 6 };
    const kept = { id: "same", seq: 0, start: 0, end: 6 };
    const fileB = await makeChunk(t.root, "betas\n", "b");
    // Another machine (a daemon before records) pushed "old" #0 with other bytes and no
    // record, and "same" #0 with these very bytes and a record of its own.
    const encoder = new TextEncoder();
    await commitChanges(remote, {
      branch: "asciinema-recordings",
      commits: [{
        message: "other machine\n",
        changes: [
          { path: chunkPathOnBranch("old", moved), content: encoder.encode("other") },
          { path: chunkPathOnBranch("same", kept), content: await Deno.readFile(fileB) },
          {
            path: chunkSumPathOnBranch("same", kept),
            content: encoder.encode(formatChunkSum({ sha256: "e".repeat(64), committed: 1000 })),
          },
        ],
      }],
    });
    await beta.commit([
      { ...moved, sha256: "b".repeat(64), file: fileB },
      { ...kept, sha256: "e".repeat(64), file: fileB },
    ]);
    await beta.push();
    assert.equal(await recordOn(remote, "old", moved), undefined, "no record beside their chunk");
    assert.equal(
      parseChunkSum((await recordOn(remote, "old~beta", moved))!)?.sha256,
      "b".repeat(64),
    );
    assert.equal((await remoteChunks(remote, { id: "old~beta" })).length, 1);
    assert.equal(parseChunkSum((await recordOn(remote, "same", kept))!)?.committed, 1000);
    assert.equal(await recordOn(remote, "same~beta", kept), undefined, "no record without a chunk");
  } finally {
    await t.cleanup();
  }
});

Deno.test("upkeep keeps packs and loose objects few without rewriting the clone's big pack", async () => {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, "remote.git");
    // A branch other machines filled: the new clone's first fetch (of its tip) is one big pack.
    await generateBranch(remote, {
      branch: "b",
      recordings: 10,
      chunksPerRecording: 120,
      linesPerChunk: 2,
      records: true,
      history: "long",
    });
    const gitDir = join(t.root, "c.git");
    const clone = new RepoClone({ url: remote, branch: "b" }, {
      gitDir,
      upkeep: { every: 5, loose: 30, packs: 4 },
    });
    await clone.ensure();
    const packs = async () =>
      (await Array.fromAsync(Deno.readDir(join(gitDir, "objects", "pack"))))
        .map((entry) => entry.name).filter((name) => name.endsWith(".pack"));
    const [big] = await packs();
    assert.ok(big && (await countObjects(gitDir))!.inPack > 2000);
    // The daemon's clones are partial (shallow): upkeep takes the path git 2.39 allows them.
    assert.equal((await git(["config", "extensions.partialClone"], { gitDir })).success, true);
    let most = { loose: 0, packs: 0 };
    for (let seq = 0; seq < 60; seq++) {
      await commitLine(clone, t.root, seq);
      await clone.push();
      const counts = (await countObjects(gitDir))!;
      most = {
        loose: Math.max(most.loose, counts.loose),
        packs: Math.max(most.packs, counts.packs),
      };
    }
    // Each push adds 8 loose objects (chunk, record, 5 trees, commit): at most 5 pushes' worth
    // beyond the threshold before a look. Packs stay a geometric progression (each at least
    // twice the next): the big one and a few for the ~500 objects added (about log2 of them).
    assert.ok(most.loose < 30 + 5 * 8, `loose objects reached ${most.loose}`);
    assert.ok(most.packs <= 6, `packs reached ${most.packs}`);
    assert.ok((await packs()).includes(big), "the big pack was never rewritten");
    assert.equal((await remoteChunks(remote, { id: "r", branch: "b" })).length, 60);
  } finally {
    await t.cleanup();
  }
});

Deno.test("geometricRollup: the packs below the geometric progression, as git repack --geometric=2 picks them", () => {
  const pack = (objects: number, promisor = false) => ({
    name: `pack-${objects}`,
    objects,
    promisor,
  });
  assert.deepEqual(geometricRollup([pack(1000)]), []);
  // Already a progression: nothing to do.
  assert.deepEqual(geometricRollup([pack(1000), pack(400), pack(100), pack(30)]), []);
  // Small packs roll up; the big one stays while it is at least twice their sum.
  assert.deepEqual(
    geometricRollup([pack(1000), pack(10), pack(12), pack(9)]).map((p) => p.objects),
    [9, 10, 12],
  );
  // A pack the rolled-up one would catch up with joins it.
  assert.deepEqual(
    geometricRollup([pack(1000), pack(40), pack(30), pack(25)]).map((p) => p.objects),
    [25, 30, 40],
  );
  assert.deepEqual(
    geometricRollup([pack(100), pack(40), pack(30), pack(25)]).map((p) => p.objects),
    [25, 30, 40, 100],
  );
});

Deno.test("a filtered clone's upkeep: packs and loose objects stay few, pushes and replays go on", async () => {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, "remote.git");
    await generateBranch(remote, {
      branch: "b",
      recordings: 5,
      chunksPerRecording: 20,
      linesPerChunk: 2,
      records: true,
      history: "long",
    });
    await git(["config", "uploadpack.allowFilter", "true"], { gitDir: remote });
    const policy = { every: 1, loose: 10, packs: 3 };
    const clones = ["alpha", "beta"].map((host) =>
      new RepoClone({ url: remote, branch: "b" }, {
        gitDir: join(t.root, `${host}.git`),
        host,
        upkeep: policy,
      })
    );
    let most = { loose: 0, packs: 0 };
    for (let seq = 0; seq < 12; seq++) {
      for (const [i, clone] of clones.entries()) {
        const id = `r${i}`;
        const file = await makeChunk(t.root, `line ${id} ${seq}\n`, `${id}-${seq}`);
        await clone.commit([{
          id,
          seq,
          start: seq * 20,
          end: seq * 20 + 12,
          sha256: "0".repeat(64),
          file,
        }]);
        // Each push after the other machine's is rejected: fetch (a promisor pack), replay, push.
        await clone.push();
        const counts = (await countObjects(clone.gitDir))!;
        most = {
          loose: Math.max(most.loose, counts.loose),
          packs: Math.max(most.packs, counts.packs),
        };
      }
    }
    for (const clone of clones) {
      const fsck = await git(["fsck", "--connectivity-only"], { gitDir: clone.gitDir });
      assert.ok(fsck.success, fsck.stderr);
      // What the remote promised is still known as promised.
      const names = await Array.fromAsync(Deno.readDir(join(clone.gitDir, "objects", "pack")));
      assert.ok(names.some((entry) => entry.name.endsWith(".promisor")));
    }
    // git 2.39's geometric repack refuses a partial clone: without the plumbing path these grow
    // by one pack a fetch and by every object written.
    assert.ok(most.loose <= 10 + 8, `loose objects reached ${most.loose}`);
    assert.ok(most.packs <= 4, `packs reached ${most.packs}`);
    assert.equal((await remoteChunks(remote, { id: "r0", branch: "b" })).length, 12);
    assert.equal((await remoteChunks(remote, { id: "r1", branch: "b" })).length, 12);
  } finally {
    await t.cleanup();
  }
});

Deno.test("upkeepDue: loose objects or packs at their limit", () => {
  const policy = { every: 50, loose: 1000, packs: 20 };
  const counts = parseCountObjects(
    "count: 12\nsize: 48\nin-pack: 900\npacks: 3\nsize-pack: 1000\n",
  );
  assert.deepEqual(counts, { loose: 12, looseKiB: 48, packs: 3, inPack: 900, packKiB: 1000 });
  assert.equal(upkeepDue(counts, policy), false);
  assert.equal(upkeepDue({ ...counts, loose: 1000 }, policy), true);
  assert.equal(upkeepDue({ ...counts, packs: 20 }, policy), true);
});

Deno.test("a git call stopped by shutdown throws: a push that never ran never counts as done", async () => {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, "remote.git");
    await git(["init", "--bare", "--quiet", remote]);
    const stop = new AbortController();
    const clone = new RepoClone({ url: remote, branch: "b" }, {
      gitDir: join(t.root, "clone.git"),
      signal: stop.signal,
    });
    await clone.ensure();
    const file = await makeChunk(t.root, "some output\n", "c");
    await clone.commit([{ id: "r", seq: 0, start: 0, end: 12, sha256: "c".repeat(64), file }]);
    stop.abort(new Error("shutdown"));
    // Before: the stopped rev-parse read as "no local tip" and push() returned as if done.
    await assert.rejects(clone.push(), /was stopped/);
    assert.deepEqual(await remoteChunks(remote, { id: "r", branch: "b" }), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a push in a synced clone runs no config call and one update-ref for both refs", async () => {
  const t = await makeTestHome();
  const path = Deno.env.get("PATH") ?? "";
  try {
    const remote = join(t.root, "remote.git");
    await git(["init", "--bare", "--quiet", remote]);
    const clone = new RepoClone({ url: remote, branch: "b" }, { gitDir: join(t.root, "c.git") });
    const pushOne = async (seq: number) => {
      await commitLine(clone, t.root, seq);
      return await clone.push();
    };
    await pushOne(0);
    const spy = await makeGitSpy(join(t.root, "spy"));
    Deno.env.set("PATH", `${spy.bin}:${path}`);
    const tips = [await pushOne(1), await pushOne(2), await pushOne(3)];
    const calls = await spy.calls();
    const named = (name: string) => calls.filter((args) => subcommand(args) === name);
    // The clone was marked synced by its first push: asked and written once per process at most.
    assert.deepEqual(named("config"), []);
    const updates = named("update-ref");
    assert.equal(updates.length, 3, updates.map((args) => args.join(" ")).join("\n"));
    assert.ok(updates.every((args) => args.includes("--stdin")));
    assert.equal(
      (await git(["rev-parse", "refs/heads/b"], { gitDir: remote })).stdout.trim(),
      tips[2],
    );
    assert.equal(
      (await git(["rev-parse", "refs/chunker/pushed"], { gitDir: clone.gitDir })).stdout.trim(),
      tips[2],
    );
    assert.equal((await remoteChunks(remote, { id: "r", branch: "b" })).length, 4);
  } finally {
    Deno.env.set("PATH", path);
    await t.cleanup();
  }
});
