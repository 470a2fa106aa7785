/**
 * Derived data follows the recording, not the local settings (issue 23,
 * point 1): an encrypted recording never gets a text index in clear —
 * `reindex --force --identity` on a machine without encryption in its
 * config.json seals it (to the recipients the manifest names, else to the
 * identity's own), and the daemon's index to-do of an encrypted recording is
 * sealed to the recording's recipients after encryption was turned off. A
 * plain index for a public GitHub repository is refused by the same guard as
 * the chunks.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome } from "../support/env.ts";
import { runOnce, writeConfig } from "../support/daemon.ts";
import {
  initBare,
  makeCast,
  pushRecording,
  readOnBranch,
  runDaemonCli,
} from "../support/fake_branch.ts";
import { startGitHttpServer } from "../support/git_http_server.ts";
import { startGitHubApi } from "../support/github_api.ts";
import { decryptBytes, newIdentity } from "../../lib/crypto/mod.ts";
import { git } from "../../lib/git/mod.ts";

const TOOLS = ["git", "zstd"];

async function branchFiles(gitDir: string, prefix: string): Promise<string[]> {
  const listed = await git(
    ["ls-tree", "-r", "--name-only", "refs/heads/asciinema-recordings", "--", prefix],
    { gitDir },
  );
  return listed.stdout.split("\n").filter(Boolean);
}

async function keyFile(root: string, name: string) {
  const key = await newIdentity();
  const file = join(root, `${name}.key`);
  await Deno.writeTextFile(file, key.identity + "\n", { mode: 0o600 });
  return { ...key, file };
}

Deno.test({
  name:
    "reindex on a fresh machine with only the key never writes an encrypted recording's index in clear",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome("derived-reindex-");
    try {
      const repo = join(t.root, "backup.git");
      await initBare(repo);
      const reader = await keyFile(t.root, "reader");
      const other = await keyFile(t.root, "other");
      // An older manifest without recipients, and a newer one naming them.
      await pushRecording(repo, {
        id: "old",
        data: makeCast(30, { seed: "old" }),
        manifest: true,
        recipients: [reader.recipient],
      });
      await pushRecording(repo, {
        id: "new",
        data: makeCast(30, { seed: "new" }),
        manifest: { recipients: [other.recipient, reader.recipient] },
        recipients: [reader.recipient],
      });
      const result = await runDaemonCli(
        ["reindex", "--force", "--repo", repo, "--identity", reader.file],
        { env: t.env, cwd: t.root },
      );
      assert.equal(result.code, 0, result.stderr);
      const files = await branchFiles(repo, "recordings/");
      assert.ok(files.includes("recordings/old/text.zst.age"), files.join("\n"));
      assert.ok(files.includes("recordings/new/text.zst.age"), files.join("\n"));
      assert.ok(!files.some((path) => path.endsWith("text.zst")), files.join("\n"));
      // The new one is sealed to the manifest's recipients: the other key opens it too.
      const sealed = await readOnBranch(repo, { path: "recordings/new/text.zst.age" });
      await decryptBytes(sealed, [other.identity]);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "the daemon's index to-do of an encrypted recording is sealed to its recipients after encryption is turned off, or not written at all",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome("derived-daemon-");
    try {
      const repo = join(t.root, "backup.git");
      await initBare(repo);
      const key = await keyFile(t.root, "key");
      await writeConfig(t.paths.home, { repo_url: repo }); // no encryption now
      await Deno.mkdir(t.paths.done, { recursive: true });
      await Deno.mkdir(t.paths.textIndex, { recursive: true });
      const todo = (id: string, extra: Record<string, unknown>) => {
        const cast = join(t.paths.done, `${id}.cast`);
        Deno.writeFileSync(cast, makeCast(20, { seed: id }));
        Deno.writeTextFileSync(
          join(t.paths.textIndex, `${id}.json`),
          JSON.stringify({
            id,
            cast,
            bytes: Deno.statSync(cast).size,
            fingerprint: null,
            remote: { url: repo, branch: "asciinema-recordings" },
            failures: 0,
            ...extra,
          }),
        );
      };
      todo("sealed", { encrypted: true, recipients: [key.recipient] });
      todo("unknown", { encrypted: true });
      await runOnce(t.env);
      const files = await branchFiles(repo, "recordings/");
      assert.deepEqual(files, ["recordings/sealed/text.zst.age"]);
      await decryptBytes(await readOnBranch(repo, { path: files[0] }), [key.identity]);
      const log = await Deno.readTextFile(join(t.paths.logs, "chunker.log"));
      assert.match(log, /unknown.*never written in clear/);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "reindex refuses a plain index for a public GitHub repository (the chunks' guard)",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome("derived-public-");
    const api = await startGitHubApi({
      tokens: {
        ghp_x: { login: "alice", repos: { "alice/open": { push: true, private: false } } },
      },
    });
    const server = await startGitHttpServer({ token: "ghp_x", anonymous: true });
    try {
      const repo = await server.createRepo("alice/open");
      await pushRecording(repo, { id: "plain", data: makeCast(20), manifest: true });
      await writeConfig(t.paths.home, { github_api: api.url });
      const result = await runDaemonCli(
        ["reindex", "--force", "--repo", server.repoUrl("alice/open")],
        { env: t.env, cwd: t.root },
      );
      assert.equal(result.code, 2);
      assert.match(result.stderr, /plain: .*public GitHub repository/);
      assert.deepEqual(await branchFiles(repo, "recordings/plain/text"), []);
    } finally {
      await server.stop();
      await api.stop();
      await t.cleanup();
    }
  },
});
