/**
 * A recording whose end is signalled by its `.json` right after its last
 * bytes: the size is looked at again once the end is known, so those bytes
 * are never taken for bytes written after the end (torture seed 27: they
 * became a second generation `alpha~2`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newMemo, readFacts, sizeAtEnd } from "../../../lib/engine/watch/tracker.ts";
import { V2_HEADER } from "../../support/recording.ts";

Deno.test("the size once the end is known: grown bytes of the same file count, a replaced or shorter file is left to the next look", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cast = join(dir, "a.cast");
    await Deno.writeTextFile(cast, V2_HEADER + '[0.1, "o", "one"]\n');
    const memo = newMemo();
    const facts = await readFacts("a", { activeDir: dir, memo, now: 0, pidCheckMs: 1000 });
    assert.equal(facts.ended, null);
    const first = facts.size;
    // Appended between the look at the .cast and the look at its .json:
    await Deno.writeTextFile(cast, '[0.2, "o", "two"]\n', { append: true });
    const grown = (await Deno.stat(cast)).size;
    sizeAtEnd(cast, facts, memo);
    assert.equal(facts.size, grown);
    assert.equal(memo.seen?.size, grown);
    // Another file under the name (a new inode): not this recording's bytes.
    const other = { ...facts, size: first };
    await Deno.rename(cast, join(dir, "old.cast"));
    await Deno.writeTextFile(cast, V2_HEADER + '[0.1, "o", "a much longer line than before"]\n');
    sizeAtEnd(cast, other, newMemo());
    assert.equal(other.size, first);
    // Truncated meanwhile: the smaller size is not taken here.
    const same = { ...facts };
    await Deno.truncate(join(dir, "old.cast"), 5);
    sizeAtEnd(join(dir, "old.cast"), same, newMemo());
    assert.equal(same.size, grown);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFacts: a .json that says ended gives the .cast's size as it is once the end is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cast = join(dir, "b.cast");
    await Deno.writeTextFile(cast, V2_HEADER + '[0.1, "o", "one"]\n');
    await Deno.writeTextFile(join(dir, "b.json"), JSON.stringify({ ended: true }));
    const facts = await readFacts("b", {
      activeDir: dir,
      memo: newMemo(),
      now: 0,
      pidCheckMs: 1000,
    });
    assert.equal(facts.ended, "its .json says it ended");
    assert.equal(facts.size, (await Deno.stat(cast)).size);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
