/** Chunk blobs staged in the clone while a backlog is cut, named (not streamed) by the commit. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { git, RepoClone } from "../../../lib/git/mod.ts";
import zlib from "node:zlib";
import { adler32, BlobStage, MAX_STAGED, writeLooseBlob } from "../../../lib/git/blob_stage.ts";
import { makeTestHome } from "../../support/env.ts";
import { remoteChunks } from "../../support/daemon.ts";
import { makeChunk } from "../../support/fake_branch.ts";
import { countFileWrites } from "../../support/file_writes.ts";

async function holds(gitDir: string, blob: string): Promise<boolean> {
  return (await git(["cat-file", "-e", blob], { gitDir })).success;
}

async function blobOf(file: string): Promise<string> {
  return (await git(["hash-object", "--no-filters", "--", file])).stdout.trim();
}

/** A clone, its bare remote and a place for chunks. */
async function rig() {
  const t = await makeTestHome();
  const remote = join(t.root, "remote.git");
  await git(["init", "--bare", "--quiet", remote]);
  const clone = new RepoClone({ url: remote, branch: "asciinema-recordings" }, {
    gitDir: join(t.root, "clone.git"),
  });
  await clone.ensure();
  return { t, remote, clone };
}

Deno.test("a staged chunk's blob is in the clone before its commit; the commit names it and the remote gets its bytes", async () => {
  const { t, remote, clone } = await rig();
  try {
    const file = await makeChunk(t.root, "staged chunk\n", "a");
    const blob = await blobOf(file);
    assert.equal(await holds(clone.gitDir, blob), false);
    clone.stageBlob(file);
    await clone.stagedBlobs();
    assert.equal(await holds(clone.gitDir, blob), true, "written before any commit");
    await clone.commit([{ id: "r", seq: 0, start: 0, end: 13, sha256: "a".repeat(64), file }]);
    await clone.push();
    const chunks = await remoteChunks(remote, { id: "r" });
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0].blob, blob);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a spool file rewritten after it was staged is committed from the bytes it holds now", async () => {
  const { t, remote, clone } = await rig();
  try {
    const file = await makeChunk(t.root, "first bytes\n", "a");
    clone.stageBlob(file);
    await clone.stagedBlobs();
    // Replaced under the same name (a chunk cut again): the staged blob is not these bytes.
    const again = await makeChunk(t.root, "other bytes, longer\n", "b");
    await Deno.rename(again, file);
    await clone.commit([{ id: "r", seq: 0, start: 0, end: 20, sha256: "b".repeat(64), file }]);
    await clone.push();
    const chunks = await remoteChunks(remote, { id: "r" });
    assert.equal(chunks[0].blob, await blobOf(file));
  } finally {
    await t.cleanup();
  }
});

Deno.test("a staged blob the clone lost (a clone made again) is committed inline", async () => {
  const { t, remote, clone } = await rig();
  try {
    const file = await makeChunk(t.root, "lost object\n", "a");
    const blob = await blobOf(file);
    clone.stageBlob(file);
    await clone.stagedBlobs();
    await Deno.remove(join(clone.gitDir, "objects", blob.slice(0, 2), blob.slice(2)));
    await clone.commit([{ id: "r", seq: 0, start: 0, end: 12, sha256: "c".repeat(64), file }]);
    await clone.push();
    const chunks = await remoteChunks(remote, { id: "r" });
    assert.equal(chunks[0].blob, blob);
    assert.equal(await holds(remote, blob), true);
  } finally {
    await t.cleanup();
  }
});

Deno.test("staging is bounded, forgets what it hands out, and a missing file or repository is no error", async () => {
  const t = await makeTestHome();
  try {
    const gitDir = join(t.root, "none.git");
    const stage = new BlobStage(() => ({ gitDir }));
    stage.stage(join(t.root, "absent"));
    assert.equal(await stage.take(join(t.root, "absent")), undefined);
    const file = await makeChunk(t.root, "x\n", "x");
    stage.stage(file);
    assert.equal(await stage.take(file), undefined, "no repository: nothing staged");
    for (let i = 0; i < MAX_STAGED + 5; i++) stage.stage(join(t.root, `f${i}`));
    assert.equal(stage.size, MAX_STAGED);
    await stage.settled();
    await git(["init", "--bare", "--quiet", gitDir]);
    const fresh = new BlobStage(() => ({ gitDir }));
    fresh.stage(file);
    assert.equal(await fresh.take(file), await blobOf(file));
    assert.equal(await fresh.take(file), undefined, "handed out once");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a staged chunk sealed before its commit leaves no clear copy in the clone", async () => {
  const { t, clone } = await rig();
  try {
    const file = await makeChunk(t.root, "plaintext that will be sealed\n", "a");
    const blob = await blobOf(file);
    clone.stageBlob(file);
    await clone.stagedBlobs();
    assert.equal(await holds(clone.gitDir, blob), true);
    await clone.discardStaged(file);
    assert.equal(await holds(clone.gitDir, blob), false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a loose blob written here is the object git would write: same id, same bytes, fsck clean", async () => {
  const t = await makeTestHome();
  try {
    const gitDir = join(t.root, "repo.git");
    await git(["init", "--bare", "--quiet", gitDir]);
    // Sizes around the 65,535-byte stored blocks and the 1 MiB read blocks, and empty.
    for (const size of [0, 1, 65_528, 65_529, 65_535 * 2 + 3, (1 << 20) + 17, 3 * (1 << 20)]) {
      const file = join(t.root, `f${size}`);
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      await Deno.writeFile(file, bytes);
      const id = await writeLooseBlob(gitDir, file, size);
      assert.equal(id, await blobOf(file), `id of ${size} bytes`);
      const back = await new Deno.Command("git", {
        args: ["cat-file", "blob", id],
        env: { GIT_DIR: gitDir },
        stdout: "piped",
      }).output();
      assert.ok(back.success);
      assert.deepEqual(back.stdout, bytes, `bytes of ${size}`);
      // Written again: the object that is there is kept.
      assert.equal(await writeLooseBlob(gitDir, file, size), id);
    }
    // Frames and bytes in blocks of a megabyte: a 3 MiB object is a handful of writes, not a
    // write per 64 KiB stored block and per 5-byte frame (about a hundred).
    const big = join(t.root, "f-big");
    await Deno.writeFile(big, new Uint8Array(3 << 20).fill(7));
    const { writes } = await countFileWrites(() => writeLooseBlob(gitDir, big, 3 << 20));
    assert.ok(writes <= 5, `${writes} writes`);
    const fsck = await git(["fsck", "--strict", "--no-dangling"], { gitDir });
    assert.ok(fsck.success, fsck.stderr);
    // Every loose object is read and its id checked; only notices about the empty branch.
    const complaints = fsck.stderr.split("\n").filter((line) =>
      line && !line.startsWith("notice:")
    );
    assert.deepEqual(complaints, []);
    const leftovers = [...Deno.readDirSync(join(gitDir, "objects"))].filter((e) => e.isFile);
    assert.deepEqual(leftovers, []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("adler32 is zlib's", () => {
  const bytes = new Uint8Array(200_000).map((_, i) => (i * 7919) & 0xff);
  const deflated = zlib.deflateSync(bytes, { level: 0 });
  assert.equal(adler32(bytes), deflated.readUInt32BE(deflated.length - 4));
  assert.equal(adler32(bytes.subarray(5000), adler32(bytes.subarray(0, 5000))), adler32(bytes));
  assert.equal(adler32(new Uint8Array()), 1);
  // The largest sums: every byte 0xff, from a state just under the modulus, in runs of odd
  // lengths (the sums must never leave 32-bit integers between reductions).
  const full = new Uint8Array((1 << 20) + 13).fill(0xff);
  const zlibOf = (data: Uint8Array) => {
    const out = zlib.deflateSync(data, { level: 0 });
    return out.readUInt32BE(out.length - 4);
  };
  assert.equal(adler32(full), zlibOf(full));
  let state = adler32(full.subarray(0, 65_519));
  for (let at = 65_519; at < full.length; at += 3_803) {
    state = adler32(full.subarray(at, Math.min(at + 3_803, full.length)), state);
  }
  assert.equal(state, zlibOf(full));
});

Deno.test("a temporary object another daemon left behind (killed while it staged) is swept, ours are kept", async () => {
  const t = await makeTestHome();
  try {
    const gitDir = join(t.root, "repo.git");
    await git(["init", "--bare", "--quiet", gitDir]);
    const stale = join(gitDir, "objects", "tmp_obj_chunker_999999999_3");
    const ours = join(gitDir, "objects", `tmp_obj_chunker_${Deno.pid}_1`);
    const gits = join(gitDir, "objects", "tmp_obj_abcdef");
    for (const path of [stale, ours, gits]) await Deno.writeTextFile(path, "partial");
    const file = await makeChunk(t.root, "y\n", "y");
    const stage = new BlobStage(() => ({ gitDir }));
    stage.stage(file);
    assert.equal(await stage.take(file), await blobOf(file));
    await assert.rejects(() => Deno.stat(stale), Deno.errors.NotFound);
    await Deno.stat(ours);
    await Deno.stat(gits);
  } finally {
    await t.cleanup();
  }
});
