/**
 * The publisher against a remote others write to or rewrite (issue 24, rows
 * 1, 3 and 10): two machines on one id, a remote that went back, a remote
 * replaced by an unrelated history.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { git, type RemoteNotice, RepoClone } from "../../../lib/git/mod.ts";
import { compressRange } from "../../../lib/chunk/mod.ts";
import { makeTestHome, type TestHome } from "../../support/env.ts";
import { remoteChunks, restoreFromRemote } from "../../support/daemon.ts";

const BRANCH = "asciinema-recordings";
const encoder = new TextEncoder();

/** Chunk files of `text` cut at every `lines` lines: [seq, start, end, file]. */
async function chunksOf(t: TestHome, tag: string, text: string, lines = 2) {
  const source = join(t.root, `${tag}.src`);
  await Deno.writeTextFile(source, text);
  const bytes = encoder.encode(text);
  const out: { seq: number; start: number; end: number; sha256: string; file: string }[] = [];
  let start = 0;
  let seq = 0;
  while (start < bytes.length) {
    let end = start;
    for (let n = 0; n < lines && end < bytes.length; n++) end = bytes.indexOf(10, end) + 1;
    const file = join(t.root, `${tag}-${seq}.zst`);
    await compressRange(source, { start, end, output: file }, { level: 1 });
    out.push({ seq, start, end, sha256: "0".repeat(64), file });
    start = end;
    seq++;
  }
  return out;
}

function text(tag: string, lines: number): string {
  let out = `{"version": 2, "width": 80, "height": 24, "title": "${tag}"}\n`;
  for (let i = 0; i < lines; i++) {
    out += JSON.stringify([i / 10, "o", `${tag} line ${i}\r\n`]) + "\n";
  }
  return out;
}

async function rig(t: TestHome) {
  const remote = join(t.root, "remote.git");
  await git(["init", "--bare", "--quiet", remote]);
  const target = { url: remote, branch: BRANCH };
  const live = new Map<string, string>();
  const clone = (name: string, host: string) =>
    new RepoClone(target, {
      gitDir: join(t.root, `${name}.git`),
      host,
      owner: { liveFolders: () => live },
    });
  return { remote, clone, live };
}

Deno.test("row 1: two machines cut the same id while the remote refused pushes: all of the second one's chunks move, also those committed later", async () => {
  const t = await makeTestHome();
  try {
    const { remote, clone } = await rig(t);
    const one = clone("one", "alpha");
    const two = clone("two", "beta");
    await one.ensure();
    await two.ensure();
    const first = text("machine one", 3);
    const second = text("machine two", 7);
    const ones = await chunksOf(t, "one", first);
    const twos = await chunksOf(t, "two", second);
    assert.equal(ones.length, 2);
    assert.equal(twos.length, 4);
    await one.commit(ones.map((c) => ({ id: "a", ...c })));
    await two.commit(twos.slice(0, 3).map((c) => ({ id: "a", ...c })));
    await one.push();
    await two.push();
    assert.deepEqual(await restoreFromRemote(remote, { id: "a" }), encoder.encode(first));
    const moves = two.takeMoves();
    assert.equal(moves.get("a")?.folder, "a~beta");
    // A later commit still naming the old folder is placed where its first chunk went.
    const placed = await two.placeFolders(
      new Map([["a", {
        token: moves.get("a")!.token,
        pushedBefore: true,
        adds: new Map([[3, "000003_" + twos[3].start + "-" + twos[3].end + ".cast.zst"]]),
      }]]),
    );
    assert.equal(placed.get("a"), "a~beta");
    await two.commit([{ id: "a~beta", ...twos[3] }]);
    await two.push();
    assert.deepEqual(await restoreFromRemote(remote, { id: "a~beta" }), encoder.encode(second));
    assert.deepEqual(await restoreFromRemote(remote, { id: "a" }), encoder.encode(first));
    assert.equal((await remoteChunks(remote, { id: "a" })).length, 2);
    const log = await git(["log", "--format=%B", BRANCH], { gitDir: remote });
    assert.equal(log.stdout.split("Cast-Id: a~beta\n").length - 1, 4, log.stdout);
  } finally {
    await t.cleanup();
  }
});

Deno.test("row 3: a remote gone back to an older commit (or without its branch) is noticed and given what it lost", async () => {
  const t = await makeTestHome();
  try {
    const { remote, clone } = await rig(t);
    const one = clone("one", "alpha");
    await one.ensure();
    const recording = text("kept", 7);
    const chunks = await chunksOf(t, "kept", recording);
    await one.commit(chunks.slice(0, 2).map((c) => ({ id: "k", ...c })));
    const older = await one.push();
    await one.commit(chunks.slice(2).map((c) => ({ id: "k", ...c })));
    await one.push();
    assert.equal(await one.verify(), "same");
    await git(["update-ref", `refs/heads/${BRANCH}`, older!], { gitDir: remote });
    assert.equal(await one.verify(), "rewound");
    await one.push();
    assert.deepEqual(await restoreFromRemote(remote, { id: "k" }), encoder.encode(recording));
    await git(["update-ref", "-d", `refs/heads/${BRANCH}`], { gitDir: remote });
    assert.equal(await one.verify(), "deleted");
    await one.push();
    assert.deepEqual(await restoreFromRemote(remote, { id: "k" }), encoder.encode(recording));
    const kinds = one.takeNotices().map((notice: RemoteNotice) => notice.kind);
    assert.deepEqual(kinds, ["rewound", "deleted"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("row 10: a remote replaced by an unrelated history: reported; only what was never pushed, and recordings still being made, go on top", async () => {
  const t = await makeTestHome();
  try {
    const { remote, clone, live } = await rig(t);
    const one = clone("one", "alpha");
    await one.ensure();
    const done = await chunksOf(t, "done", text("finished", 20));
    const going = await chunksOf(t, "going", text("still recording", 9));
    await one.commit(done.map((c) => ({ id: "finished", ...c })));
    await one.commit(going.slice(0, 3).map((c) => ({ id: "going", ...c })));
    await one.push();
    // Somebody force-pushes an unrelated history.
    const other = join(t.root, "other.git");
    await git(["init", "--bare", "--quiet", other]);
    const foreign = await git(["fast-import", "--quiet", "--done"], {
      gitDir: other,
      stdin:
        `commit refs/heads/${BRANCH}\ncommitter x <x@x> 1 +0000\ndata 8\nrestart\nM 100644 inline README\ndata 3\nhi\n\ndone\n`,
    });
    assert.ok(foreign.success, foreign.stderr);
    const pushed = await git(["push", "--force", remote, `refs/heads/${BRANCH}`], {
      gitDir: other,
    });
    assert.ok(pushed.success, pushed.stderr);
    live.set("going", (await one.blobIds([going[0].file]))[0]);
    await one.commit(going.slice(3).map((c) => ({ id: "going", ...c })));
    await one.push();
    assert.equal((await remoteChunks(remote, { id: "finished" })).length, 0, "re-published");
    assert.deepEqual(
      await restoreFromRemote(remote, { id: "going" }),
      encoder.encode(text("still recording", 9)),
    );
    const notices = one.takeNotices();
    assert.equal(notices.length, 1);
    assert.equal(notices[0].kind, "unrelated");
    assert.deepEqual(notices[0].dropped, ["finished"]);
    // Commits on the remote: the foreign one and the live recording's, not the old history.
    const count = await git(["rev-list", "--count", `refs/heads/${BRANCH}`], { gitDir: remote });
    assert.equal(Number(count.stdout.trim()), 1 + going.length);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a shallow clone whose remote lost its branch gives back all it holds (the tip's tree) and its own commits", async () => {
  const t = await makeTestHome();
  try {
    const { remote, clone } = await rig(t);
    const first = clone("first", "alpha");
    await first.ensure();
    const old = await chunksOf(t, "old", text("pushed before the new clone", 5));
    await first.commit(old.map((c) => ({ id: "old", ...c })));
    await first.push();
    // A new machine (or a wiped home) clones only the tip; then the remote loses the branch.
    const second = clone("second", "beta");
    await second.ensure();
    assert.ok(
      await Deno.stat(join(t.root, "second.git", "shallow")),
      "the new clone is not shallow",
    );
    await git(["update-ref", "-d", `refs/heads/${BRANCH}`], { gitDir: remote });
    const fresh = await chunksOf(t, "new", text("written after", 3));
    await second.commit(fresh.map((c) => ({ id: "new", ...c })));
    await second.push();
    assert.deepEqual(
      await restoreFromRemote(remote, { id: "old" }),
      encoder.encode(text("pushed before the new clone", 5)),
    );
    assert.deepEqual(
      await restoreFromRemote(remote, { id: "new" }),
      encoder.encode(text("written after", 3)),
    );
  } finally {
    await t.cleanup();
  }
});
