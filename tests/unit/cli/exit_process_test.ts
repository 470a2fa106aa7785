/**
 * daemon.ts's one exit (lib/cli/output.ts exitProcess) writes the log lines
 * still on their way first: the file sink writes a line when it is logged
 * unless the fsync of the line before is still running, and keeps it until
 * then; a bare `Deno.exit` in that moment dropped them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTestHome } from "../../support/env.ts";

const ROOT = new URL("../../../", import.meta.url);

Deno.test("the daemon's exit writes every line logged before it to chunker.log", async () => {
  const t = await makeTestHome("exit-process-");
  try {
    const script = join(t.root, "burst.ts");
    await Deno.writeTextFile(
      script,
      `import { log, setupLogging } from ${
        JSON.stringify(new URL("lib/sys/mod.ts", ROOT).href)
      };\n` +
        `import { exitProcess } from ${
          JSON.stringify(new URL("lib/cli/output.ts", ROOT).href)
        };\n` +
        "await setupLogging({ logFile: Deno.args[0] });\n" +
        "for (let i = 0; i < 200; i++) log('test').info(`line ${i}`);\n" +
        "Deno.exitCode = 3;\n" +
        "await exitProcess();\n",
    );
    const logFile = join(t.root, "chunker.log");
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        fileURLToPath(new URL("deno.json", ROOT)),
        script,
        logFile,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(child.code, 3, new TextDecoder().decode(child.stderr));
    const lines = (await Deno.readTextFile(logFile)).trim().split("\n");
    assert.equal(lines.length, 200);
    assert.match(lines[199], /line 199/);
  } finally {
    await t.cleanup();
  }
});
