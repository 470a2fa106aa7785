/** Logging (lib/sys/log.ts): under a service manager stderr gets warnings and errors only. */
import assert from "node:assert/strict";
import { makeTestHome } from "../../support/env.ts";
import { consoleLevelFor, log, setupLogging, shutdownLogging } from "../../../lib/sys/mod.ts";

Deno.test("under launchd, systemd or detached stderr gets warnings and errors only", async () => {
  assert.equal(consoleLevelFor("launchd"), "warning");
  assert.equal(consoleLevelFor("systemd"), "warning");
  assert.equal(consoleLevelFor("detached"), "warning");
  assert.equal(consoleLevelFor("foreground"), "info");
  const t = await makeTestHome();
  try {
    await Deno.mkdir(t.paths.logs, { recursive: true });
    const lines: string[] = [];
    await setupLogging({
      logFile: t.paths.logFile,
      console: true,
      consoleLevel: consoleLevelFor("launchd"),
      consoleWrite: (text) => lines.push(text),
    });
    log("test").info("pushed 3 chunks");
    log("test").warn("push failed, retrying");
    log("test").error("auth failed");
    await shutdownLogging();
    assert.equal(lines.length, 2, lines.join(""));
    assert.ok(!lines.some((line) => /pushed 3 chunks/.test(line)));
    // chunker.log (rotated) still has every line.
    const file = await Deno.readTextFile(t.paths.logFile);
    assert.match(file, /pushed 3 chunks/);
    assert.match(file, /auth failed/);
  } finally {
    await t.cleanup();
  }
});
