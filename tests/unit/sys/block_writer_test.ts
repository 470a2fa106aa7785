/** Writes gathered into blocks: the bytes as given, in far fewer writes than pieces. */
import assert from "node:assert/strict";
import { BlockWriter, type ByteSink, concatBytes } from "../../../lib/sys/mod.ts";

/** A sink that keeps what it is given, takes at most `most` bytes a call, and counts calls. */
function sink(most = Infinity): ByteSink & { calls: number[]; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  const calls: number[] = [];
  return {
    calls,
    write(bytes: Uint8Array) {
      const n = Math.min(bytes.length, most);
      parts.push(bytes.slice(0, n));
      calls.push(n);
      return Promise.resolve(n);
    },
    bytes: () => concatBytes(parts),
  };
}

function pieces(): Uint8Array[] {
  // A stored-block writer's shape: 5-byte frames between pieces of up to 64 KiB.
  const out: Uint8Array[] = [];
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    const size = i % 2 ? 5 : 1 + ((seed = (seed * 1103515245 + 12345) >>> 0) % 65_535);
    out.push(Uint8Array.from({ length: size }, (_, k) => (i + k) & 0xff));
  }
  return out;
}

Deno.test("BlockWriter: the bytes as given, a write per full block (not one per piece)", async () => {
  const given = pieces();
  const file = sink();
  const writer = new BlockWriter(file, new Uint8Array(1 << 20));
  for (const piece of given) await writer.write(piece);
  await writer.flush();
  const all = concatBytes(given);
  assert.deepEqual(file.bytes(), all);
  assert.equal(writer.bytes, all.length);
  // 200 pieces, about 6.5 MB: seven writes, every one but the last a whole block.
  assert.equal(file.calls.length, Math.ceil(all.length / (1 << 20)));
  assert.ok(file.calls.slice(0, -1).every((n) => n === 1 << 20));
});

Deno.test("BlockWriter: short writes go on; a piece larger than a block is written without a copy; pieces may be reused", async () => {
  const file = sink(3000);
  const block = new Uint8Array(4096);
  const writer = new BlockWriter(file, block);
  const reused = new Uint8Array(100);
  const expected: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    reused.fill(i);
    expected.push(reused.slice());
    await writer.write(reused); // the caller's buffer changes right after
  }
  const big = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
  expected.push(big);
  await writer.write(big);
  await writer.flush();
  await writer.flush(); // nothing left: no write
  assert.deepEqual(file.bytes(), concatBytes(expected));
  assert.ok(file.calls.every((n) => n <= 3000));
  assert.throws(() => new BlockWriter(file, new Uint8Array(0)), RangeError);
});
