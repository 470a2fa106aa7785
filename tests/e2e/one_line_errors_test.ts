/**
 * Issue 23, low items: bad input to the real entry points ends in one line
 * that says what is wrong (an invalid name reported as such, exit 2 for a
 * usage error), never in a stack trace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../lib/sys/mod.ts";
import { withFakeRemote } from "../support/fake_branch.ts";

const SETUP_TS = fileURLToPath(new URL("../../setup.ts", import.meta.url));
const BOOTSTRAP_TS = fileURLToPath(new URL("../../bootstrap.ts", import.meta.url));

/** Asserts a failed run printed exactly one line and no stack frame. */
function assertOneLine(
  what: string,
  result: { code: number; stdout: string; stderr: string },
  expected: { code: number; says: RegExp },
): void {
  const output = (result.stdout + result.stderr).trimEnd();
  assert.equal(result.code, expected.code, `${what}: exit ${result.code}\n${output}`);
  assert.doesNotMatch(output, /^\s+at /m, `${what} printed a stack trace:\n${output}`);
  assert.doesNotMatch(output, /Uncaught/, `${what}: ${output}`);
  assert.equal(output.split("\n").length, 1, `${what} printed more than one line:\n${output}`);
  assert.match(output, expected.says, what);
}

Deno.test("a 300-character recording id is reported as not a recording id, on one line, exit 2, by every command that takes one", async () => {
  await withFakeRemote(async ({ remote, cli }) => {
    const id = "x".repeat(300);
    const says = /^asciinema-chunker: "x{40}…" is not a recording id: it is 300 bytes long/;
    for (
      const args of [
        ["restore", "--repo", remote, id],
        ["verify", "--repo", remote, id],
        ["text", "--repo", remote, id],
        ["play", "--repo", remote, id],
        ["search", "--repo", remote, "--id", id, "needle"],
        ["reindex", "--repo", remote, "--id", id],
      ]
    ) {
      assertOneLine(args[0], await cli(args), { code: 2, says });
    }
  });
});

Deno.test("a bad ASCIINEMA_CREDENTIAL_STORE, an unusable ASCIINEMA_HOME or output path: one line from daemon.ts, setup.ts and bootstrap.ts", async () => {
  await withFakeRemote(async ({ t, remote, work, cli }) => {
    const badStore = { ...t.env, ASCIINEMA_CREDENTIAL_STORE: "vault" };
    assertOneLine("run --once", await cli(["run", "--once"], { env: badStore }), {
      code: 2,
      says:
        /^asciinema-chunker: ASCIINEMA_CREDENTIAL_STORE is not a credential store name \("vault"\)/,
    });
    const entry = (script: string, args: string[], env: Record<string, string>) =>
      run(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", script, ...args],
        env,
        clearEnv: true,
        cwd: work,
        timeoutMs: 120_000,
      });
    const setupArgs = ["--yes", "--repo", remote, "--no-service"];
    assertOneLine("setup.ts", await entry(SETUP_TS, setupArgs, badStore), {
      code: 2,
      says: /ASCIINEMA_CREDENTIAL_STORE is not a credential store name/,
    });
    const file = join(t.root, "a-file");
    await Deno.writeTextFile(file, "");
    const homeIsFile = { ...t.env, ASCIINEMA_HOME: file };
    assertOneLine(
      "run with ASCIINEMA_HOME a file",
      await cli(["run", "--once"], { env: homeIsFile }),
      {
        code: 1,
        says: /^asciinema-chunker: .*a-file/,
      },
    );
    assertOneLine("bootstrap.ts", await entry(BOOTSTRAP_TS, ["-c", "true"], homeIsFile), {
      code: 1,
      says: /^ERROR: .*a-file/,
    });
    const nowhere = join(t.root, "no", "such", "dir", "out.txt");
    assertOneLine("text -o", await cli(["text", "--repo", remote, "-o", nowhere, "rec"]), {
      code: 1,
      says: /^asciinema-chunker: /,
    });
  });
});
