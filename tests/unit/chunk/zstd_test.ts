/** zstd cuts (lib/chunk/zstd.ts): a source that cannot be opened; how the output is written. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compressRange } from "../../../lib/chunk/mod.ts";
import { countFileWrites } from "../../support/file_writes.ts";

Deno.test("compressRange on a source that cannot be opened throws and leaves no timer behind", async () => {
  await assert.rejects(
    compressRange("/nonexistent/source.cast", { start: 0, end: 10, output: "/nonexistent/x" }, {
      level: 3,
    }),
    Deno.errors.NotFound,
  );
});

Deno.test("compressRange writes its output in blocks of a megabyte, not a write per piece of zstd's pipe", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 4 MiB that zstd cannot shrink: about 4 MiB of output, arriving in pieces of at most 64 KiB.
    const source = join(dir, "source.cast");
    const bytes = new Uint8Array(4 << 20);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    await Deno.writeFile(source, bytes);
    const output = join(dir, "out.zst");
    const { value, writes } = await countFileWrites(() =>
      compressRange(source, { start: 0, end: bytes.length, output }, { level: 3 })
    );
    assert.equal(value.bytes, (await Deno.stat(output)).size);
    assert.ok(value.bytes > 4 << 20);
    assert.ok(writes <= Math.ceil(value.bytes / (1 << 20)) + 1, `${writes} writes`);
    const back = await new Deno.Command("zstd", { args: ["-d", "-c", output], stdout: "piped" })
      .output();
    assert.deepEqual(back.stdout, bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
