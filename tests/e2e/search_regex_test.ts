/**
 * Issue 23, low items: `search --regex` with a pattern that backtracks
 * catastrophically is bounded (a time limit with a clear message), and
 * Ctrl-C ends the process while such a pattern runs. Real processes against
 * a branch whose first recording matches at once and whose second holds the
 * line that makes `^(a+)+$` run for ever.
 */
import assert from "node:assert/strict";
import { encodeIndexHeader, encodeIndexLine, textIndexPathOnBranch } from "../../lib/text/mod.ts";
import { DAEMON_TS } from "../support/daemon.ts";
import {
  commitChanges,
  lineRanges,
  makeCast,
  pushRecording,
  withFakeRemote,
  zstdCompress,
} from "../support/fake_branch.ts";

const CATASTROPHIC = "^(a+)+$";

/** Two recordings: `first` (a line that matches), then `evil` (a line the pattern never finishes). */
async function pushBranch(remote: string): Promise<void> {
  const lines = { first: "aaa", evil: `${"a".repeat(48)}!` };
  for (const [index, [id, text]] of Object.entries(lines).entries()) {
    const data = makeCast(4, { seed: id });
    await pushRecording(remote, {
      id,
      data,
      ranges: lineRanges(data, 1),
      manifest: { started: `2024-01-0${index + 1}T00:00:00.000Z` },
    });
    const index_ = encodeIndexHeader({ id, bytes: data.length, cols: 80, rows: 24 }) +
      encodeIndexLine({ t: 1, text });
    await commitChanges(remote, {
      branch: "asciinema-recordings",
      commits: [{
        message: `text index\n\nCast-Id: ${id}\n`,
        changes: [{
          path: textIndexPathOnBranch(id),
          content: await zstdCompress(new TextEncoder().encode(index_)),
        }],
      }],
    });
  }
}

Deno.test("search --regex: a catastrophic pattern stops at the time limit with a clear message; the match before it is printed", async () => {
  await withFakeRemote(async ({ remote, cli }) => {
    await pushBranch(remote);
    const result = await cli([
      "search",
      "--repo",
      remote,
      "--regex",
      "--regex-timeout",
      "1",
      CATASTROPHIC,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stdout, /^first {2}00:00:01 {2}aaa$/m);
    assert.match(
      result.stderr,
      /ran for more than 1 s on 1 line: it backtracks catastrophically/,
    );
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});

Deno.test("search --regex: Ctrl-C (SIGINT) ends the process while the pattern runs", async () => {
  await withFakeRemote(async ({ t, remote, work }) => {
    await pushBranch(remote);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", DAEMON_TS, "search", "--repo", remote, "--regex"]
        .concat(["--regex-timeout", "3600", CATASTROPHIC]),
      env: t.env,
      clearEnv: true,
      cwd: work,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // A safety net only: without the fix the process would never end.
    const guard = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const stderr = new Response(child.stderr).text();
    try {
      // The first recording's match is printed: the search has reached the second one.
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("aaa\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      assert.match(out, /^first {2}00:00:01 {2}aaa$/m);
      child.kill("SIGINT");
      await reader.cancel();
      const status = await child.status;
      assert.equal(status.signal, null, "ended by its own handler, not killed");
      assert.equal(status.code, 130, await stderr);
      assert.match(await stderr, /stopped by SIGINT/);
    } finally {
      clearTimeout(guard);
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
      await child.status;
      await stderr;
    }
  });
});
