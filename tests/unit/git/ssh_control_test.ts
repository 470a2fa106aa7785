/**
 * Clearing stale GitHub ControlMasters: exactly `ssh -O exit git@github.com`
 * and `ssh -O exit -p 443 git@ssh.github.com`, "no master" answers ignored,
 * never a file deleted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { clearGitHubControlMasters } from "../../../lib/git/mod.ts";

async function fakeSsh(body: string) {
  const dir = await Deno.makeTempDir({ prefix: "fake-ssh-" });
  const log = join(dir, "calls");
  const socket = join(dir, "control-github.com-22-git");
  await Deno.writeTextFile(socket, "");
  await Deno.writeTextFile(
    join(dir, "ssh"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n${body}\n`,
  );
  await Deno.chmod(join(dir, "ssh"), 0o755);
  return {
    dir,
    socket,
    env: { PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
    calls: async () => (await Deno.readTextFile(log)).trim().split("\n").sort(),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("ssh -O exit for the two GitHub endpoints only; a running master is closed", async () => {
  const fake = await fakeSsh(`echo "Exit request sent." >&2; exit 0`);
  try {
    const results = await clearGitHubControlMasters({ env: fake.env });
    assert.deepEqual(await fake.calls(), [
      "-O exit -p 443 git@ssh.github.com",
      "-O exit git@github.com",
    ]);
    assert.deepEqual(results.map((r) => [r.target, r.status]), [
      ["git@github.com", "closed"],
      ["-p 443 git@ssh.github.com", "closed"],
    ]);
    await Deno.stat(fake.socket); // never deleted by us
  } finally {
    await fake.cleanup();
  }
});

Deno.test("no ControlPath / no socket / stale socket are 'none', not errors", async () => {
  for (
    const message of [
      'No ControlPath specified for "-O" command',
      "Control socket connect(/home/u/.ssh/cm-git@github.com:22): No such file or directory",
      "Control socket connect(/home/u/.ssh/cm-git@github.com:22): Connection refused",
    ]
  ) {
    const fake = await fakeSsh(`echo '${message}' >&2; exit 255`);
    try {
      const results = await clearGitHubControlMasters({ env: fake.env });
      assert.deepEqual(results.map((r) => r.status), ["none", "none"], message);
      await Deno.stat(fake.socket);
    } finally {
      await fake.cleanup();
    }
  }
});

Deno.test("a hanging ssh times out and is reported, never thrown", async () => {
  const fake = await fakeSsh("exec sleep 30");
  try {
    const results = await clearGitHubControlMasters({ env: fake.env, timeoutMs: 300 });
    assert.deepEqual(results.map((r) => [r.status, r.detail]), [
      ["error", "ssh -O exit timed out"],
      ["error", "ssh -O exit timed out"],
    ]);
  } finally {
    await fake.cleanup();
  }
});
