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

Deno.test("a log line is in chunker.log when the call returns, and its fsync never blocks the event loop", async () => {
  const t = await makeTestHome();
  const proto = Deno.FsFile.prototype;
  const syncSync = proto.syncSync;
  let blocking = 0;
  proto.syncSync = function (this: Deno.FsFile) {
    blocking++;
    return syncSync.call(this);
  };
  try {
    await Deno.mkdir(t.paths.logs, { recursive: true });
    await setupLogging({ logFile: t.paths.logFile });
    log("test").info("cut chunk 1");
    assert.match(await Deno.readTextFile(t.paths.logFile), /cut chunk 1/);
    for (let i = 2; i <= 30; i++) log("test").info(`cut chunk ${i}`);
    await shutdownLogging();
    const lines = (await Deno.readTextFile(t.paths.logFile)).trim().split("\n");
    assert.equal(lines.length, 30);
    assert.match(lines[29], /cut chunk 30/);
    assert.equal(blocking, 0, "fsync on the event loop");
  } finally {
    proto.syncSync = syncSync;
    await t.cleanup();
  }
});
