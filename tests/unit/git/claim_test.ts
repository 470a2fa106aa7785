/**
 * Whose a chunk folder is (lib/git/claim.ts): the rules, pure.
 */
import assert from "node:assert/strict";
import {
  type Claimant,
  folderCandidates,
  type FolderView,
  hostTag,
  ownership,
  placeFolder,
} from "../../../lib/git/mod.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

function view(chunks: [number, string, string][], extra: Partial<FolderView> = {}): FolderView {
  return {
    first: chunks.find(([seq]) => seq === 0)?.[2],
    chunks: new Map(chunks.map(([seq, name]) => [seq, name])),
    used: true,
    blobs: new Map(chunks.map(([, name, blob]) => [`chunks/${name}`, blob])),
    ...extra,
  };
}

function claimant(token: string | undefined, adds: [number, string][], extra = {}): Claimant {
  return { token, pushedBefore: false, adds: new Map(adds), ...extra };
}

Deno.test("ownership: an empty folder is free; the first chunk decides whose it is", () => {
  assert.equal(ownership(undefined, claimant(A, [[0, "000000_0-10.cast.zst"]])), "free");
  const theirs = view([[0, "000000_0-10.cast.zst", B]]);
  assert.equal(ownership(theirs, claimant(A, [[1, "000001_10-20.cast.zst"]])), "foreign");
  assert.equal(ownership(theirs, claimant(B, [[1, "000001_10-20.cast.zst"]])), "ours");
});

Deno.test("ownership: an equal sequence number with another range, or other bytes, is a collision", () => {
  const theirs = view([[0, "000000_0-10.cast.zst", A], [1, "000001_10-20.cast.zst", A]]);
  // Same claim, but seq 1 with another range: never a second chunk #1.
  assert.equal(ownership(theirs, claimant(A, [[1, "000001_10-25.cast.zst"]])), "foreign");
  // The same name with other bytes.
  const otherBytes = claimant(A, [[1, "000001_10-20.cast.zst"]], {
    addBlobs: new Map([[1, B]]),
  });
  assert.equal(ownership(theirs, otherBytes), "foreign");
  // The same name and bytes: already there, ours.
  const same = claimant(A, [[1, "000001_10-20.cast.zst"]], { addBlobs: new Map([[1, A]]) });
  assert.equal(ownership(theirs, same), "ours");
});

Deno.test("ownership: without a known first chunk, a folder is ours only where we pushed before", () => {
  const legacy = view([[0, "000000_0-10.cast.zst", A]]);
  const unknown = claimant(undefined, [[1, "000001_10-20.cast.zst"]]);
  assert.equal(ownership(legacy, unknown), "foreign");
  assert.equal(ownership(legacy, { ...unknown, pushedBefore: true }), "ours");
});

Deno.test("placeFolder: its own folder when it may, else the first <folder>~<host>[-n] it may use", () => {
  const theirs = view([[0, "000000_0-10.cast.zst", B]]);
  const mine = claimant(A, [[0, "000000_0-12.cast.zst"]]);
  assert.equal(placeFolder("r", mine, new Map(), "box"), "r");
  assert.equal(placeFolder("r", mine, new Map([["r", theirs]]), "box"), "r~box");
  assert.equal(
    placeFolder("r", mine, new Map([["r", theirs], ["r~box", theirs]]), "box"),
    "r~box-2",
  );
  // Where it went before (its first chunk there), it goes again.
  const moved = view([[0, "000000_0-12.cast.zst", A]]);
  assert.equal(placeFolder("r", mine, new Map([["r", theirs], ["r~box", moved]]), "box"), "r~box");
  assert.deepEqual([...folderCandidates("r", "my host/x", 3)], [
    "r~my_host_x",
    "r~my_host_x-2",
    "r~my_host_x-3",
  ]);
  assert.equal(hostTag("-.bad"), "bad");
});
