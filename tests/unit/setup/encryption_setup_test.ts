/**
 * Issue 15, acceptance 5 (unattended): setup configures encryption from
 * `--age-identity-stdin` and `--age-recipient`, stores the identity only in
 * the keyring, and the daemon's next recording is encrypted and restores
 * with the stored identity; a bad recipient names its flag; a public
 * repository without encryption is pointed out. The interactive wizard
 * (a new key shown once) is in tests/e2e/setup_tty_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../../lib/sys/mod.ts";
import { SecretServiceStore } from "../../../lib/credentials/mod.ts";
import { AGE_IDENTITY, newIdentity } from "../../../lib/crypto/mod.ts";
import { assertTools, ignoreWithout, makeTestHome } from "../../support/env.ts";
import { startGitHttpServer } from "../../support/git_http_server.ts";
import { startGitHubApi } from "../../support/github_api.ts";
import { startKeyringSession } from "../../support/keyring.ts";
import { remoteChunks, runOnce } from "../../support/daemon.ts";
import { runDaemonCli } from "../../support/fake_branch.ts";
import { scanTreeForSecrets } from "../../support/argv_sampler.ts";

const SETUP_TS = fileURLToPath(new URL("../../../setup.ts", import.meta.url));
const TOKEN = "ghp_EncryptSetupToken0123456789abcdefABCD";
const REPO = "alice/recordings";
const TOOLS = ["git", "zstd", "dbus-run-session", "gnome-keyring-daemon", "secret-tool"];

async function setup(env: Record<string, string>, args: string[], stdin = "") {
  const result = await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", SETUP_TS, ...args],
    env,
    clearEnv: true,
    cwd: "/",
    stdin,
    timeoutMs: 180_000,
  });
  return { ...result, shown: `exit ${result.code}\n${result.stdout}\n${result.stderr}` };
}

Deno.test({
  name:
    "acceptance 5: unattended setup with --age-identity-stdin and --age-recipient stores the identity in the keyring and encrypts the next recording",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome("setup-age-");
    const session = await startKeyringSession({ root: t.root });
    const server = await startGitHttpServer({ token: TOKEN });
    const api = await startGitHubApi({
      tokens: { [TOKEN]: { login: "alice", repos: { [REPO]: { push: true } } } },
    });
    try {
      await server.createRepo(REPO);
      const url = server.repoUrl(REPO);
      const env = {
        ...t.env,
        ...session.env,
        ASCIINEMA_CREDENTIAL_STORE: "secret-service",
        ASCIINEMA_GITHUB_PAT: TOKEN,
      };
      const base = [
        "--yes",
        "--repo",
        url,
        "--github-api",
        api.url,
        "--no-pushover",
        "--no-service",
      ];

      const bad = await setup(env, [...base, "--age-recipient", "age1nope"]);
      assert.equal(bad.code, 2, bad.shown);
      assert.match(
        bad.stdout + bad.stderr,
        /--age-recipient: age1nope… is not an age X25519 recipient/,
      );
      const both = await setup(env, [...base, "--pat-stdin", "--age-identity-stdin"], TOKEN);
      assert.equal(both.code, 2, both.shown);
      assert.match(both.stdout + both.stderr, /both read standard input/);

      // A public repository without encryption: setup says what the daemon will do.
      api.setPrivate(REPO, false);
      const open = await setup(env, base);
      assert.equal(open.code, 0, open.shown);
      assert.match(open.stdout, /the repository is PUBLIC/);
      assert.match(open.stdout, /Encryption is off\. Recommended: pass --age-recipient/);
      assert.match(open.stdout, /refuses to push recordings there/);
      api.setPrivate(REPO, true);

      const mine = await newIdentity();
      const team = await newIdentity();
      const keyFile =
        `# created: 2024-01-01T00:00:00Z\n# public key: ${mine.recipient}\n${mine.identity}\n`;
      const result = await setup(
        env,
        [...base, "--age-identity-stdin", "--age-recipient", team.recipient],
        keyFile,
      );
      assert.equal(result.code, 0, result.shown);
      assert.match(result.stdout, /the repository is private/);
      assert.match(result.stdout, /Chunks are encrypted with age to 2 recipient\(s\)/);
      assert.match(
        result.stdout,
        /encryption +age, 2 recipient\(s\); new key stored in the secret-service/,
      );
      assert.match(
        result.stdout,
        /age key stored in the secret-service credential store \(service asciinema-age-identity\)/,
      );
      const config = JSON.parse(await Deno.readTextFile(t.paths.config));
      assert.deepEqual(
        config.encryption.recipients.sort(),
        [team.recipient, mine.recipient].sort(),
      );
      const store = new SecretServiceStore({ account: t.env.USER, env: session.env });
      assert.equal(await store.get(AGE_IDENTITY), mine.identity);
      assert.ok(!result.stdout.includes(mine.identity) && !result.stderr.includes(mine.identity));
      assert.deepEqual(await scanTreeForSecrets(t.home, [mine.identity]), []);

      // The daemon encrypts the next recording; restore finds the stored identity by itself.
      await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
      let text = JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp: 1 }) + "\n";
      for (let i = 0; i < 30; i++) text += JSON.stringify([0.05, "o", `sealed ${i}\r\n`]) + "\n";
      text += JSON.stringify([0.1, "x", "0"]) + "\n";
      await Deno.writeTextFile(join(t.paths.active, "after.cast"), text, { mode: 0o600 });
      const once = await runOnce(env);
      assert.equal(once.code, 0, once.stderr);
      const chunks = await remoteChunks(server.repoPath(REPO), { id: "after" });
      assert.ok(chunks.length > 0 && chunks.every((chunk) => chunk.encrypted));
      const work = join(t.root, "work");
      await Deno.mkdir(work);
      const restored = await runDaemonCli(["restore", "--repo", url, "after"], { env, cwd: work });
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(await Deno.readTextFile(join(work, "after.cast")), text);
    } finally {
      await api.stop();
      await server.stop();
      await session.stop();
      await t.cleanup();
    }
  },
});
