/** A text index is bounded while it is read (issue 23): an endless line, a decompression bomb. */
import assert from "node:assert/strict";
import { zstdCompress } from "../../support/fake_branch.ts";
import {
  decodeDerivedPayload,
  IndexDecoder,
  IndexFormatError,
  MAX_INDEX_LINE,
  PayloadTooLargeError,
} from "../../../lib/text/mod.ts";

Deno.test("a text index with an endless line or a decompression bomb is refused while it is read", async () => {
  const decoder = new IndexDecoder();
  const block = "x".repeat(1 << 20);
  assert.throws(() => {
    for (let sent = 0; sent <= MAX_INDEX_LINE; sent += block.length) decoder.push(block);
  }, IndexFormatError);
  const payload = await zstdCompress(new Uint8Array(8 << 20));
  await assert.rejects(async () => {
    for await (const _ of decodeDerivedPayload(payload, { maxBytes: 1 << 20 })) {
      // read
    }
  }, PayloadTooLargeError);
});
