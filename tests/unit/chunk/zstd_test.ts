/** zstd cuts (lib/chunk/zstd.ts): a source that cannot be opened. */
import assert from "node:assert/strict";
import { compressRange } from "../../../lib/chunk/mod.ts";

Deno.test("compressRange on a source that cannot be opened throws and leaves no timer behind", async () => {
  await assert.rejects(
    compressRange("/nonexistent/source.cast", { start: 0, end: 10, output: "/nonexistent/x" }, {
      level: 3,
    }),
    Deno.errors.NotFound,
  );
});
