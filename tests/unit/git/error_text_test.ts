/** What a remote says is data: clipped before any pattern runs over it, a refusal told from a non-fast-forward. */
import assert from "node:assert/strict";
import { classifyGitError, remoteRefusal } from "../../../lib/git/mod.ts";
import { clipText } from "../../../lib/sys/mod.ts";

Deno.test("a remote's error text is clipped before any pattern runs over it", () => {
  const hostile = "permission to ".repeat(50_000) + "\n";
  // Something said only deep in the middle is not looked at.
  const buried = "x".repeat(300_000) + "Authentication failed" + "y".repeat(300_000);
  assert.equal(classifyGitError(buried), "remote");
  assert.equal(classifyGitError(hostile + "fatal: Authentication failed\n"), "auth");
  assert.ok(clipText(hostile).length <= 4096);
  const refused = remoteRefusal("", " ! [remote rejected] " + "a -> ".repeat(100_000));
  assert.ok(refused === undefined || refused.length < 1000);
});

Deno.test("a remote's refusal is told from a non-fast-forward, with what the remote said", () => {
  const stdout =
    "To http://127.0.0.1/x.git\n!\trefs/heads/b:refs/heads/b\t[remote rejected] (pre-receive hook declined)\nDone\n";
  const stderr = "remote: disk quota exceeded\nerror: failed to push some refs\n";
  assert.match(remoteRefusal(stdout, stderr)!, /disk quota exceeded.*pre-receive hook declined/);
  assert.equal(
    remoteRefusal("!\trefs/heads/b:refs/heads/b\t[rejected] (fetch first)\n", ""),
    undefined,
  );
});
