/** Chunk blobs staged in the clone while a backlog is cut, named (not streamed) by the commit. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { git, RepoClone } from "../../../lib/git/mod.ts";
import { BlobStage, MAX_STAGED } from "../../../lib/git/blob_stage.ts";
import { compressRange } from "../../../lib/chunk/mod.ts";
import { makeTestHome } from "../../support/env.ts";
import { remoteChunks } from "../../support/daemon.ts";

async function makeChunk(dir: string, text: string, name: string): Promise<string> {
  const source = join(dir, `${name}.src`);
  await Deno.writeTextFile(source, text);
  const output = join(dir, `${name}.zst`);
  await compressRange(source, { start: 0, end: text.length, output }, { level: 1 });
  return output;
}

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
