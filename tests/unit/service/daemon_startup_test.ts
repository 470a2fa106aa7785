/** Starting the daemon (lib/service/daemon_startup.ts) in process: the service log's cap. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestHome } from "../../support/env.ts";
import { trimLogFile } from "../../../lib/service/mod.ts";

Deno.test("a launchd-stderr.log grown past its cap is cut to its tail at start", async () => {
  const t = await makeTestHome();
  try {
    const path = join(t.root, "launchd-stderr.log");
    const line = "INFO chunker: pushed a chunk\n";
    await Deno.writeTextFile(path, line.repeat(Math.ceil(2_100_000 / line.length)) + "LAST\n");
    assert.equal(await trimLogFile(path), true);
    const text = await Deno.readTextFile(path);
    assert.ok(text.length <= 256 * 1024 + 200, `${text.length}`);
    assert.match(text, /^\[asciinema-chunker: cut to the last \d+ bytes at start/);
    assert.ok(text.endsWith("pushed a chunk\nLAST\n"));
    assert.equal(await trimLogFile(path), false, "small now: left alone");
  } finally {
    await t.cleanup();
  }
});
