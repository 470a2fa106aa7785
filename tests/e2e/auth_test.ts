/**
 * End to end with a real keyring: the daemon reads its token from
 * gnome-keyring through secret-tool (a private D-Bus session) and pushes to
 * the loopback smart-HTTP server behind Basic auth. A recording restores
 * byte-identical; a rejected token shows in health as an auth error with the
 * fix while chunks keep spooling, and once the stored token is replaced the
 * backlog arrives without a restart. Throughout, no process's argv holds
 * the token and no file of the daemon's home contains it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import {
  type DaemonProcess,
  remoteEnd,
  restoreFromRemote,
  startDaemon,
  waitForHealth,
  writeConfig,
} from "../support/daemon.ts";
import { type GitHttpServer, startGitHttpServer } from "../support/git_http_server.ts";
import { type KeyringSession, startKeyringSession } from "../support/keyring.ts";
import { hostileHome } from "../support/hostile_git.ts";
import {
  type ArgvSampler,
  scanTreeForSecrets,
  secretForms,
  startArgvSampler,
} from "../support/argv_sampler.ts";
import { GITHUB_PAT, SecretServiceStore } from "../../lib/credentials/mod.ts";
import type { Health, RemoteHealth } from "../../lib/status/mod.ts";

const TOKEN = "ghp_E2eDaemonToken0123456789abcdefABCDEF";
const WRONG = "ghp_E2eWrongToken0123456789abcdefABCDEF";
const TOOLS = ["git", "zstd", "dbus-run-session", "gnome-keyring-daemon", "secret-tool"];
const encoder = new TextEncoder();

interface Rig {
  t: TestHome;
  server: GitHttpServer;
  session: KeyringSession;
  store: SecretServiceStore;
  sampler: ArgvSampler;
  env: Record<string, string>;
  traps: string;
  daemon?: DaemonProcess;
}

async function rig(stored: string): Promise<Rig> {
  const t = await makeTestHome("auth-e2e-");
  const sampler = startArgvSampler({
    needles: [...secretForms(TOKEN), ...secretForms(WRONG)],
    watch: [/remote-http/, /secret-tool (store|lookup)/],
  });
  const session = await startKeyringSession({ root: t.root });
  const server = await startGitHttpServer({ token: TOKEN });
  await server.createRepo("rec");
  const store = new SecretServiceStore({ account: t.env.USER, env: session.env });
  await store.set(GITHUB_PAT, stored);
  // The person's own git setup would hijack or break any push (acceptance 2),
  // and the daemon runs with that HOME and no GIT_CONFIG_* of the test's.
  const { traps } = await hostileHome(t.root, server.url, { home: t.home });
  const env: Record<string, string> = {
    ...t.env,
    ...session.env,
    ASCIINEMA_CREDENTIAL_STORE: "secret-service",
  };
  delete env.GIT_CONFIG_GLOBAL;
  delete env.GIT_CONFIG_NOSYSTEM;
  await writeConfig(t.paths.home, {
    repo_url: server.repoUrl("rec"),
    github_token_hosts: ["127.0.0.1"],
    credential_store: "secret-service",
    idle_threshold: 0.3,
    scan_interval_seconds: 1,
    heartbeat_seconds: 1,
    retry_max_seconds: 1,
  });
  return { t, server, session, store, sampler, env, traps };
}

/** Stops everything; checks the argv sampler's report only when the test body passed. */
async function teardown(r: Rig, passed: boolean): Promise<void> {
  if (r.daemon) {
    r.daemon.kill("SIGTERM");
    await r.daemon.wait();
  }
  await r.server.stop();
  await r.session.stop();
  const report = await r.sampler.stop();
  await r.t.cleanup();
  if (!passed) return;
  assert.deepEqual(report.hits, [], "a token appeared in a process's argv");
  assert.ok(
    report.watched.some((line) => /remote-http/.test(line)),
    `the sampler never saw a push (${report.sweeps} sweeps)`,
  );
}

/** Acceptance 4: nothing the daemon wrote holds either token; acceptance 2: no trap ran. */
async function assertNoTokenOnDisk(r: Rig): Promise<void> {
  assert.deepEqual(await Array.fromAsync(Deno.readDir(r.traps)), [], "the user's git setup ran");
  const leaks = await scanTreeForSecrets(r.t.paths.home, [
    ...secretForms(TOKEN),
    ...secretForms(WRONG),
  ]);
  assert.deepEqual(leaks, [], "a token was written to the daemon's home");
}

function remoteOf(health: Health): RemoteHealth | undefined {
  return Object.values(health.remotes)[0];
}

async function appendLines(path: string, from: number, count: number): Promise<number> {
  const file = await Deno.open(path, { create: true, append: true, mode: 0o600 });
  try {
    if ((await file.stat()).size === 0) {
      await file.write(encoder.encode(
        JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp: 1 }) + "\n",
      ));
    }
    let text = "";
    for (let i = from; i < from + count; i++) {
      text += JSON.stringify([0.01, "o", `line ${i} \u00e9 \\ "q"\r\n`]) + "\n";
    }
    await file.write(encoder.encode(text));
    return (await file.stat()).size;
  } finally {
    file.close();
  }
}

async function endRecording(r: Rig, id: string, cast: string): Promise<Uint8Array> {
  await Deno.writeTextFile(cast, JSON.stringify([0.2, "x", "0"]) + "\n", { append: true });
  const original = await Deno.readFile(cast);
  await waitFor(async () => {
    try {
      await Deno.stat(join(r.t.paths.done, `${id}.cast`));
      return true;
    } catch {
      return false;
    }
  }, { what: "the recording to be fully pushed and moved to done/", timeoutMs: 60_000 });
  return original;
}

Deno.test({
  name:
    "daemon reads its token from gnome-keyring and pushes over Basic auth; restores byte-identical",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    const r = await rig(TOKEN);
    let passed = false;
    try {
      r.daemon = startDaemon(r.env);
      await waitForHealth(r.t.paths.health, (h) => h.pid > 0 && h.status !== "starting", {
        what: "the daemon to start",
      });
      const cast = join(r.t.paths.active, "auth-ok.cast");
      const size = await appendLines(cast, 0, 40);
      await waitFor(
        async () => (await remoteEnd(r.server.repoPath("rec"), { id: "auth-ok" })) === size,
        { what: "the first burst on the loopback server", timeoutMs: 60_000 },
      );
      await appendLines(cast, 40, 40);
      const original = await endRecording(r, "auth-ok", cast);
      assert.deepEqual(
        await restoreFromRemote(r.server.repoPath("rec"), { id: "auth-ok" }),
        original,
      );
      assert.equal(r.server.stats.rejected, 0);
      const health = await waitForHealth(r.t.paths.health, (h) => h.status === "ok");
      const remote = remoteOf(health)!;
      assert.equal(remote.url, r.server.repoUrl("rec"));
      assert.equal(remote.error_kind, null);
      assert.ok(remote.last_push);
      await assertNoTokenOnDisk(r);
      passed = true;
    } finally {
      await teardown(r, passed);
    }
  },
});

Deno.test({
  name:
    "a rejected token: health says auth with the fix, chunks keep spooling; the replaced token delivers the backlog without a restart",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    const r = await rig(WRONG);
    let passed = false;
    try {
      r.daemon = startDaemon(r.env);
      await waitForHealth(r.t.paths.health, (h) => h.pid > 0 && h.status !== "starting", {
        what: "the daemon to start",
      });
      const cast = join(r.t.paths.active, "auth-rotate.cast");
      let size = await appendLines(cast, 0, 30);
      const failing = await waitForHealth(
        r.t.paths.health,
        (h) => remoteOf(h)?.error_kind === "auth",
        { what: "an auth error in health.json", timeoutMs: 60_000 },
      );
      assert.equal(failing.status, "error");
      assert.match(failing.message, /deno task daemon-setup/);
      assert.match(failing.last_error ?? "", /deno task daemon-setup/);
      const pid = failing.pid;
      assert.ok(r.server.stats.rejected > 0);

      // Cutting goes on: two more bursts land in the spool while pushes fail.
      for (let burst = 1; burst <= 2; burst++) {
        size = await appendLines(cast, burst * 30, 30);
        const want = size;
        await waitForHealth(r.t.paths.health, (h) => {
          const rec = h.recordings["auth-rotate"];
          return rec !== undefined && rec.cut_offset === want && rec.pushed_offset === 0;
        }, { what: `burst ${burst} cut into the spool`, timeoutMs: 60_000 });
      }
      const spooled = (await waitForHealth(r.t.paths.health, (h) =>
        h.recordings["auth-rotate"] !== undefined))
        .recordings["auth-rotate"];
      assert.ok(spooled.spool_chunks >= 3, `spool holds ${spooled.spool_chunks} chunks`);
      assert.equal(await remoteEnd(r.server.repoPath("rec"), { id: "auth-rotate" }), 0);

      // The person stores the right token (no restart, no signal).
      await r.store.set(GITHUB_PAT, TOKEN);
      await waitFor(
        async () => (await remoteEnd(r.server.repoPath("rec"), { id: "auth-rotate" })) === size,
        { what: "the backlog on the server after the token was replaced", timeoutMs: 90_000 },
      );
      const recovered = await waitForHealth(
        r.t.paths.health,
        (h) => remoteOf(h)?.error_kind === null && h.status === "ok",
        { what: "health back to ok" },
      );
      assert.equal(recovered.pid, pid, "the daemon was restarted");
      const original = await endRecording(r, "auth-rotate", cast);
      assert.deepEqual(
        await restoreFromRemote(r.server.repoPath("rec"), { id: "auth-rotate" }),
        original,
      );
      await assertNoTokenOnDisk(r);
      passed = true;
    } finally {
      await teardown(r, passed);
    }
  },
});
