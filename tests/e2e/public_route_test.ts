/**
 * The public-repository guard cannot be bypassed by how a remote is spelled
 * (issue 23, point 2): it checks where git and ssh will really connect. An
 * SSH alias (`Host ghe-work` → `HostName` of the GitHub host) is resolved
 * with `ssh -G` (a stand-in here), an alias ssh cannot resolve fails closed,
 * and a `url.*.insteadOf` rewrite in the daemon's git config is applied —
 * plaintext for a public repository stays in the spool, visible in health.
 * When the person follows the advice and turns encryption on, the held
 * chunks are sealed in the spool and reach the remote without a readable
 * byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertTools, ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import {
  type DaemonProcess,
  FAST_SETTINGS,
  remoteChunks,
  startDaemon,
  waitForHealth,
  writeConfig,
} from "../support/daemon.ts";
import { startGitHttpServer } from "../support/git_http_server.ts";
import { startGitHubApi } from "../support/github_api.ts";
import { installSshStandIn } from "../support/ssh_stand_in.ts";
import { runDaemonCli } from "../support/fake_branch.ts";
import { newIdentity } from "../../lib/crypto/mod.ts";

const TOOLS = ["git", "zstd"];
const encoder = new TextEncoder();
const V2 = '{"version": 2, "width": 80, "height": 24}\n';
const MARKER = "PlaintextMarker-7d1e";

async function record(active: string, id: string, json: Record<string, unknown>): Promise<string> {
  await Deno.mkdir(active, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(join(active, `${id}.json`), JSON.stringify(json), { mode: 0o600 });
  let text = V2;
  for (let i = 0; i < 20; i++) text += JSON.stringify([i, "o", `${MARKER} ${id} ${i}\r\n`]) + "\n";
  const path = join(active, `${id}.cast`);
  await Deno.writeFile(path, encoder.encode(text), { mode: 0o600 });
  return text;
}

function publicApi() {
  return startGitHubApi({
    tokens: {
      ghp_unused: { login: "alice", repos: { "alice/open": { push: true, private: false } } },
    },
  });
}

Deno.test({
  name:
    "an SSH alias of the GitHub host is checked (public: held); an alias ssh cannot resolve fails closed",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome("public-route-ssh-");
    const api = await publicApi();
    let daemon: DaemonProcess | undefined;
    try {
      const ssh = await installSshStandIn(t, { "ghe-work": "127.0.0.1", "broken": null });
      await writeConfig(t.paths.home, { ...FAST_SETTINGS, github_api: api.url });
      await record(t.paths.active, "alias", { repo_url: "git@ghe-work:alice/open.git" });
      await record(t.paths.active, "broken", { repo_url: "git@broken:alice/open.git" });
      daemon = startDaemon(t.env);
      const health = await waitForHealth(
        t.paths.health,
        (h) => h.recordings.alias?.state === "held" && h.recordings.broken?.state === "held",
        { what: "both recordings held" },
      );
      assert.match(health.recordings.alias.last_error ?? "", /alice\/open is a public GitHub/);
      assert.match(health.recordings.broken.last_error ?? "", /cannot tell where/);
      const calls = await ssh.calls();
      assert.ok(calls.some((args) => args[0] === "-G" && args.includes("ghe-work")));
      assert.deepEqual(
        calls.filter((args) => args.some((arg) => arg.includes("git-receive-pack"))),
        [],
        "no push was tried for a held recording",
      );
    } finally {
      daemon?.kill("SIGTERM");
      await daemon?.wait();
      await api.stop();
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "an insteadOf rewrite cannot disguise a public repository; turning encryption on publishes the held chunks sealed",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome("public-route-rewrite-");
    const api = await publicApi();
    const server = await startGitHttpServer({ token: "ghp_unused", anonymous: true });
    let daemon: DaemonProcess | undefined;
    const stop = async () => {
      daemon?.kill("SIGTERM");
      await daemon?.wait();
      daemon = undefined;
    };
    try {
      const remote = await server.createRepo("alice/open");
      const base = { ...FAST_SETTINGS, github_api: api.url };
      await writeConfig(t.paths.home, base);
      await Deno.mkdir(join(t.paths.home, "git"), { recursive: true });
      await Deno.writeTextFile(
        t.paths.gitConfig,
        `[url "${server.url}/"]\n\tinsteadOf = https://backup.example/\n`,
      );
      const text = await record(t.paths.active, "disguised", {
        repo_url: "https://backup.example/alice/open.git",
      });
      daemon = startDaemon(t.env);
      const held = await waitForHealth(
        t.paths.health,
        (h) => h.recordings.disguised?.state === "held",
        { what: "the disguised recording held" },
      );
      assert.match(held.recordings.disguised.last_error ?? "", /public GitHub repository/);
      assert.equal(server.stats.receivePacks, 0, "nothing was pushed");
      await stop();

      // The advice: encrypt. The held plaintext chunks are sealed and go.
      const key = await newIdentity();
      const keyFile = join(t.root, "key.txt");
      await Deno.writeTextFile(keyFile, key.identity + "\n", { mode: 0o600 });
      await writeConfig(t.paths.home, { ...base, encryption: { recipients: [key.recipient] } });
      daemon = startDaemon(t.env);
      await waitFor(async () => {
        const chunks = await remoteChunks(remote, { id: "disguised" });
        return chunks.length > 0 && chunks[chunks.length - 1].end === encoder.encode(text).length;
      }, { what: "the sealed chunks on the remote", timeoutMs: 60_000 });
      await stop();
      const names = await remoteChunks(remote, { id: "disguised" });
      assert.ok(names.every((chunk) => chunk.encrypted), "every chunk went sealed");
      const objects = await new Deno.Command("git", {
        args: ["cat-file", "--batch-all-objects", "--batch"],
        env: { GIT_DIR: remote, GIT_CONFIG_GLOBAL: "/dev/null" },
        stdout: "piped",
      }).output();
      assert.ok(
        !new TextDecoder("latin1").decode(objects.stdout).includes(MARKER),
        "no readable byte of the recording on the remote",
      );
      const out = join(t.root, "restored.cast");
      const restored = await runDaemonCli(
        ["restore", "--repo", remote, "--identity", keyFile, "disguised", "-o", out],
        { env: t.env, cwd: t.root },
      );
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(await Deno.readTextFile(out), text);
    } finally {
      await stop();
      await server.stop();
      await api.stop();
      await t.cleanup();
    }
  },
});
