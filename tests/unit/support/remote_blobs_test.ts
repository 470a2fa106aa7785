/** The oracles' batch reader: one process for many chunks, and every chunk still judged alone. */
import assert from "node:assert/strict";
import { zstdCompress } from "../../support/fake_branch.ts";
import { unzstdEach, ZSTD_FILES_PER_CALL } from "../../support/remote_blobs.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("unzstdEach: each chunk decodes alone, a bad one is null, two frames decode whole", async () => {
  const hello = await zstdCompress(encoder.encode("hello "));
  const world = await zstdCompress(encoder.encode("world"));
  const both = new Uint8Array([...hello, ...world]);
  const results = await unzstdEach([
    hello,
    hello.subarray(0, hello.length - 2), // cut short
    encoder.encode("not zstd"),
    both,
    new Uint8Array([...hello, ...encoder.encode("garbage")]),
    world,
  ]);
  assert.deepEqual(
    results.map((bytes) => bytes === null ? null : decoder.decode(bytes)),
    ["hello ", null, null, "hello world", null, "world"],
  );
});

Deno.test("unzstdEach: more chunks than one zstd call takes keep their order", async () => {
  const count = ZSTD_FILES_PER_CALL + 3;
  const blobs = await Promise.all(
    Array.from({ length: count }, (_, i) => zstdCompress(encoder.encode(`chunk ${i}\n`))),
  );
  const results = await unzstdEach(blobs);
  assert.equal(results.length, count);
  results.forEach((bytes, i) => assert.equal(decoder.decode(bytes!), `chunk ${i}\n`));
  assert.deepEqual(await unzstdEach([]), []);
});
