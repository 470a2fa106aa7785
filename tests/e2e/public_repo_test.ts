/**
 * Issue 15, acceptance 4: no accidental publication. The real daemon pushes
 * over HTTP to a loopback git server whose repositories a loopback GitHub
 * API stand-in (tests/support/github_api.ts, `github_api` in config.json)
 * calls public or private: a public repository is refused (health, status
 * and a notification say why and how to proceed; the chunks stay in the
 * spool), a private one is pushed, an encrypted recording goes to a public
 * repository, and `allow_public` (the recording's `.json`, then config.json)
 * is honoured. The token travels in the API's Authorization header only.
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
import { startNotifyServer } from "../support/notify_server.ts";
import { runDaemonCli } from "../support/fake_branch.ts";
import { newIdentity } from "../../lib/crypto/mod.ts";
import { loadAllStates } from "../../lib/chunk/mod.ts";

const TOOLS = ["git", "zstd"];
const TOKEN = "ghp_PublicRepoTest0123456789abcdefABCDEF";
const encoder = new TextEncoder();
const V2 = '{"version": 2, "width": 80, "height": 24}\n';

async function record(active: string, id: string, json: Record<string, unknown>): Promise<number> {
  await Deno.writeTextFile(join(active, `${id}.json`), JSON.stringify(json), { mode: 0o600 });
  let text = V2;
  for (let i = 0; i < 20; i++) text += JSON.stringify([i, "o", `${id} line ${i}\r\n`]) + "\n";
  const path = join(active, `${id}.cast`);
  await Deno.writeFile(path, encoder.encode(text), { mode: 0o600 });
  return (await Deno.stat(path)).size;
}

async function pushedEnd(gitDir: string, id: string): Promise<number> {
  const chunks = await remoteChunks(gitDir, { id });
  return chunks.length ? chunks[chunks.length - 1].end : 0;
}

Deno.test({
  name:
    "acceptance 4: a public GitHub repository is refused (health, status, notice); private, encrypted and allow_public go",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome("public-repo-");
    const git = await startGitHttpServer({ token: TOKEN });
    const notify = await startNotifyServer();
    const api = await startGitHubApi({
      tokens: {
        [TOKEN]: {
          login: "alice",
          repos: {
            "alice/open": { push: true, private: false },
            "alice/secret": { push: true },
          },
        },
      },
    });
    let daemon: DaemonProcess | undefined;
    const stop = async () => {
      daemon?.kill("SIGTERM");
      await daemon?.wait();
      daemon = undefined;
    };
    try {
      const open = await git.createRepo("alice/open");
      const secret = await git.createRepo("alice/secret");
      const env = { ...t.env, ASCIINEMA_GITHUB_PAT: TOKEN };
      const base = {
        ...FAST_SETTINGS,
        github_api: api.url,
        notify: {
          failure_grace_seconds: 1,
          pushover: { enabled: false },
          ntfy: { url: notify.ntfyUrl("public") },
        },
      };
      await writeConfig(t.paths.home, base);
      await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
      const leakSize = await record(t.paths.active, "leak", {
        repo_url: git.repoUrl("alice/open"),
      });
      const privSize = await record(t.paths.active, "priv", {
        repo_url: git.repoUrl("alice/secret"),
      });
      const allowedSize = await record(t.paths.active, "allowed", {
        repo_url: git.repoUrl("alice/open"),
        allow_public: true,
      });
      daemon = startDaemon(env);

      // A private repository is pushed; allow_public in the recording's .json is honoured.
      await waitFor(async () => (await pushedEnd(secret, "priv")) === privSize, {
        what: "the private repository to get its recording",
      });
      await waitFor(async () => (await pushedEnd(open, "allowed")) === allowedSize, {
        what: "the allow_public recording on the public repository",
      });
      // The public one is refused, and health says why and what to do.
      const health = await waitForHealth(
        t.paths.health,
        (h) => h.recordings.leak?.state === "held" && h.recordings.leak.spool_chunks > 0,
        { what: "leak held in health.json" },
      );
      assert.match(
        health.recordings.leak.last_error ?? "",
        /alice\/open is a public GitHub repository/,
      );
      assert.match(health.recordings.leak.last_error ?? "", /encryption\.recipients/);
      assert.match(health.recordings.leak.last_error ?? "", /"allow_public": true/);
      assert.equal(health.status, "degraded");
      const openRemote = Object.values(health.remotes).find((r) =>
        r.url.endsWith("alice/open.git")
      );
      assert.equal(openRemote?.visibility, "public");
      const secretRemote = Object.values(health.remotes).find((r) =>
        r.url.endsWith("alice/secret.git")
      );
      assert.equal(secretRemote?.visibility, "private");
      assert.equal(await pushedEnd(open, "leak"), 0, "nothing of leak on the public repository");
      const status = await runDaemonCli(["status"], { env, cwd: t.root });
      assert.match(status.stdout, /leak/);
      assert.match(status.stdout, /public GitHub repository/);
      assert.match(status.stdout, /alice\/open.git asciinema-recordings \(GitHub: public\)/);
      await waitFor(() => notify.received.some((n) => /held back/.test(JSON.stringify(n))), {
        what: "a notification about the held recording",
      });
      const notice = notify.received.find((n) => /held back/.test(JSON.stringify(n)))!;
      assert.match(JSON.stringify(notice), /leak is not pushed/);
      const asked = api.requests.filter((r) => r.path === "/repos/alice/open");
      assert.equal(asked.length, 1, "the answer is cached");
      assert.ok(api.requests.every((r) => r.token === TOKEN), "the token goes in the header");
      assert.ok(api.requests.every((r) => !r.path.includes(TOKEN)));
      await stop();

      // allow_public in config.json: the person chose to publish; the spool goes out.
      await writeConfig(t.paths.home, { ...base, allow_public: true });
      daemon = startDaemon(env);
      await waitFor(async () => (await pushedEnd(open, "leak")) === leakSize, {
        what: "leak published once allow_public is set",
      });
      // The checkpoint advances just after the push: wait for it, do not race it.
      await waitFor(async () => {
        const { states } = await loadAllStates(t.paths.state);
        return states.find((s) => s.id === "leak")?.pending.length === 0;
      }, { what: "leak's checkpoint with nothing pending" });
      await stop();

      // Encrypted chunks go to the public repository (a held recording too, once encryption is
      // on: tests/e2e/public_route_test.ts).
      const key = await newIdentity();
      await writeConfig(t.paths.home, { ...base, encryption: { recipients: [key.recipient] } });
      const sealedSize = await record(t.paths.active, "sealed", {
        repo_url: git.repoUrl("alice/open"),
      });
      daemon = startDaemon(env);
      await waitFor(async () => (await pushedEnd(open, "sealed")) === sealedSize, {
        what: "the encrypted recording on the public repository",
      });
      const sealedChunks = await remoteChunks(open, { id: "sealed" });
      assert.ok(sealedChunks.every((chunk) => chunk.encrypted), JSON.stringify(sealedChunks));
      await stop();
    } finally {
      await stop();
      await api.stop();
      await notify.close();
      await git.stop();
      await t.cleanup();
    }
  },
});
