/**
 * The core review's table, rows 9–16 (rows 1–8: core_faults_a_test.ts), and
 * the smaller findings: fetch without gc, remote refusals parsed, no timer
 * left by a failed compression.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import {
  FAST_SETTINGS,
  remoteEnd,
  remoteSettings,
  restoreFromRemote,
  startDaemon,
  waitForHealth,
  withDaemon,
  writeConfig,
} from "../support/daemon.ts";
import { appendBurst, bareRemote, V3_HEADER } from "../support/recording.ts";
import { failingZstd } from "../support/fake_zstd.ts";
import { type GitHttpServer, startGitHttpServer } from "../support/git_http_server.ts";
import { loadAllStates } from "../../lib/chunk/mod.ts";
import { Engine, FAILPOINT_FLAG } from "../../lib/engine/mod.ts";
import { parseSettings } from "../../lib/sys/mod.ts";
import { exists } from "../../lib/sys/mod.ts";

const TOOLS = ["git", "zstd"];
const TOKEN = "ghp_TestToken0123456789abcdefABCDEFghij";

Deno.test({
  name: "row 9: a final cut that keeps failing backs off instead of spawning zstd in a loop",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    const zstd = await failingZstd(t.root);
    try {
      await writeConfig(t.paths.home, remoteSettings({ retry_max_seconds: 2 })(t));
      await Deno.mkdir(t.paths.active, { recursive: true });
      const text = V3_HEADER + '[0.1, "o", "bye\\r\\n"]\n[0.1, "x", "0"]\n';
      await Deno.writeTextFile(join(t.paths.active, "r.cast"), text);
      await zstd.fail(true);
      const daemon = startDaemon({ ...t.env, PATH: zstd.path });
      try {
        await waitFor(async () => (await zstd.calls()) >= 1, { what: "the first cut" });
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const calls = await zstd.calls();
        assert.ok(calls <= 4, `zstd was called ${calls} times in 3 s`);
        await zstd.fail(false);
        await waitFor(() => exists(join(t.paths.done, "r.cast")), { what: "r finished" });
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "row 10: a recording whose remote accepts connections and never answers does not delay another recording",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of listener) held.push(conn);
    })().catch(() => {});
    const t = await makeTestHome();
    await writeConfig(t.paths.home, remoteSettings({})(t));
    await Deno.mkdir(t.paths.active, { recursive: true });
    const daemon = startDaemon({ ...t.env, ASCIINEMA_GITHUB_PAT: TOKEN });
    try {
      const port = (listener.addr as Deno.NetAddr).port;
      await Deno.writeTextFile(
        join(t.paths.active, "stuck.json"),
        JSON.stringify({ repo_url: `http://127.0.0.1:${port}/never.git` }),
      );
      await appendBurst(join(t.paths.active, "stuck.cast"), "stuck", 5);
      await waitFor(() => held.length > 0, { what: "the daemon to connect to the silent remote" });
      const size = await appendBurst(join(t.paths.active, "free.cast"), "free", 5);
      // Well inside the silent remote's 20 s fetch timeout.
      await waitFor(
        async () => (await remoteEnd(bareRemote(t, "remote.git"), { id: "free" })) === size,
        { what: "the other recording pushed", timeoutMs: 10_000 },
      );
    } finally {
      daemon.kill("SIGTERM");
      await daemon.wait();
      await t.cleanup();
      listener.close();
      for (const conn of held) conn.close();
      await accepting;
    }
  },
});

/** A home with one ended v3 recording, `active/r.cast`; returns its text. */
async function endedRecording(t: TestHome): Promise<string> {
  await writeConfig(t.paths.home, remoteSettings({})(t));
  await Deno.mkdir(t.paths.active, { recursive: true });
  const text = V3_HEADER + '[0.1, "o", "done\\r\\n"]\n[0.1, "x", "0"]\n';
  await Deno.writeTextFile(join(t.paths.active, "r.cast"), text);
  return text;
}

Deno.test({
  name:
    "ASCIINEMA_FAILPOINT alone is inert: daemon.ts run without the hidden test flag never kills itself",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    try {
      await endedRecording(t);
      // Armed at the first step every recording passes, but not allowed to act.
      const daemon = startDaemon({ ...t.env, ASCIINEMA_FAILPOINT: "cut.after-compress" });
      let exited = false;
      daemon.wait().then(() => exited = true);
      try {
        await waitFor(() => exists(join(t.paths.done, "r.cast")), { what: "r moved to done/" });
        assert.equal(exited, false, `the daemon died: ${daemon.stderr()}`);
      } finally {
        daemon.kill("SIGTERM");
        const status = await daemon.wait();
        assert.equal(status.signal, null, daemon.stderr());
        assert.equal(status.code, 0, daemon.stderr());
      }
      assert.doesNotMatch(daemon.stderr(), /failpoint/i);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "row 11: a crash after the manifest was pushed, before the move to done/, is finished at the next start",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    try {
      const text = await endedRecording(t);
      const crashing = startDaemon({ ...t.env, ASCIINEMA_FAILPOINT: "finish.after-manifest" }, {
        args: [FAILPOINT_FLAG],
      });
      const status = await crashing.wait();
      assert.equal(status.signal, "SIGKILL", crashing.stderr());
      assert.ok(await exists(join(t.paths.active, "r.cast")));
      const daemon = startDaemon(t.env);
      try {
        await waitFor(() => exists(join(t.paths.done, "r.cast")), { what: "r moved to done/" });
        assert.equal(await Deno.readTextFile(join(t.paths.done, "r.cast")), text);
        await waitFor(async () => {
          const { states } = await loadAllStates(t.paths.state);
          return states.length === 1 && states[0].done;
        }, { what: "the checkpoint marked done" });
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "row 12: state/ refusing writes during a push is an error in health, retried; the daemon keeps running",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const later = (t: TestHome) => join(t.root, "later.git");
    await withDaemon((t) => ({ ...FAST_SETTINGS, repo_url: later(t) }), async ({ t, daemon }) => {
      const cast = join(t.paths.active, "r.cast");
      const size = await appendBurst(cast, "data", 10);
      await waitForHealth(t.paths.health, (h) => h.recordings.r?.spool_chunks === 1, {
        what: "the chunk spooled while the remote is missing",
      });
      const away = join(t.root, "state.away");
      await Deno.rename(t.paths.state, away);
      await Deno.writeTextFile(t.paths.state, "not a folder\n");
      const remote = bareRemote(t, "later.git");
      await waitFor(async () => (await remoteEnd(remote, { id: "r" })) === size, {
        what: "the push",
      });
      const failing = await waitForHealth(t.paths.health, (h) => h.status !== "ok", {
        what: "the checkpoint failure in health",
      });
      assert.ok(failing.remotes && Object.values(failing.remotes).some((r) => r.last_error));
      await Deno.remove(t.paths.state);
      await Deno.rename(away, t.paths.state);
      await waitForHealth(
        t.paths.health,
        (h) =>
          h.status === "ok" && h.recordings.r?.pushed_offset === size &&
          h.recordings.r.spool_chunks === 0,
        { what: "the push recorded after recovery" },
      );
      assert.deepEqual(await restoreFromRemote(remote, { id: "r" }), await Deno.readFile(cast));
      const exited = await Promise.race([
        daemon.wait().then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 200)),
      ]);
      assert.equal(exited, false, "the daemon exited");
    });
  },
});

/** A home whose daemon pushes to repo `name` of `server` with the token; cleans up after `body`. */
async function withHttpDaemon(
  server: GitHttpServer,
  setup: {
    name: string;
    settings?: Record<string, unknown>;
    before?: (t: TestHome) => Promise<void>;
  },
  body: (t: TestHome) => Promise<void>,
): Promise<void> {
  await server.createRepo(setup.name);
  const t = await makeTestHome();
  try {
    await writeConfig(t.paths.home, {
      ...FAST_SETTINGS,
      repo_url: server.repoUrl(setup.name),
      github_token_hosts: ["127.0.0.1"],
      ...setup.settings,
    });
    await Deno.mkdir(t.paths.active, { recursive: true });
    await setup.before?.(t);
    const daemon = startDaemon({ ...t.env, ASCIINEMA_GITHUB_PAT: TOKEN });
    try {
      await body(t);
    } finally {
      daemon.kill("SIGTERM");
      await daemon.wait();
    }
  } finally {
    await t.cleanup();
    await server.stop();
  }
}

Deno.test({
  name:
    "row 13: a backlog over a slow link drains: batches are bounded and each push's timeout grows with it",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const server = await startGitHttpServer({ token: TOKEN, pushBytesPerSecond: 64 * 1024 });
    // Incompressible: random bytes as hex, about 320 KB.
    const random = new Uint8Array(160 * 1024);
    for (let i = 0; i < random.length; i += 65536) {
      crypto.getRandomValues(random.subarray(i, i + 65536));
    }
    const hex = Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("");
    let text = '{"version": 2, "width": 80, "height": 24}\n';
    for (let i = 0; i < hex.length; i += 1000) {
      text += JSON.stringify([i, "o", hex.slice(i, i + 1000)]) + "\n";
    }
    const settings = {
      max_chunk_bytes: 32 * 1024,
      push_batch_bytes: 64 * 1024,
      push_timeout_seconds: 1,
      push_min_bytes_per_second: 16 * 1024,
    };
    const castOf = (t: TestHome) => join(t.paths.active, "r.cast");
    await withHttpDaemon(server, {
      name: "slow",
      settings,
      before: (t) => Deno.writeTextFile(castOf(t), text),
    }, async (t) => {
      await waitFor(
        async () => (await remoteEnd(server.repoPath("slow"), { id: "r" })) === text.length,
        { what: "the backlog pushed over the slow link", timeoutMs: 90_000 },
      );
      assert.deepEqual(
        await restoreFromRemote(server.repoPath("slow"), { id: "r" }),
        await Deno.readFile(castOf(t)),
      );
    });
  },
});

Deno.test({
  name:
    "row 14: a push refused by the remote (a hook: disk quota exceeded) is its own kind with the remote's message, no rebase storm",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const server = await startGitHttpServer({ token: TOKEN });
    let size = 0;
    await withHttpDaemon(server, {
      name: "quota",
      before: async (t) => {
        await server.setPreReceiveHook(
          "quota",
          "#!/bin/sh\necho 'disk quota exceeded' >&2\nexit 1\n",
        );
        size = await appendBurst(join(t.paths.active, "r.cast"), "data", 10);
      },
    }, async (t) => {
      const health = await waitForHealth(
        t.paths.health,
        (h) => Object.values(h.remotes ?? {}).some((remote) => remote.error_kind === "rejected"),
        { what: "the refusal in health.json" },
      );
      const remote = Object.values(health.remotes).find((r) => r.error_kind === "rejected")!;
      assert.match(remote.last_error ?? "", /disk quota exceeded/);
      const packs = server.stats.receivePacks;
      const before = server.stats.accepted;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // A retry or two a second apart, each one push; never fetch-and-replay rounds.
      assert.ok(server.stats.accepted - before <= 12, "requests kept coming");
      assert.ok(server.stats.receivePacks - packs <= 3, "more than one push per retry");
      await server.setPreReceiveHook("quota", null);
      await waitFor(
        async () => (await remoteEnd(server.repoPath("quota"), { id: "r" })) === size,
        { what: "pushed once the remote accepts" },
      );
    });
  },
});

Deno.test({
  name:
    "row 15: the wall clock stepping back an hour does not stop idle cuts, age cuts or backoff retries",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    const RealDate = Date;
    let offset = 0;
    class SteppedDate extends RealDate {
      constructor(...args: unknown[]) {
        // deno-lint-ignore no-explicit-any
        super(...((args.length === 0 ? [RealDate.now() - offset] : args) as [any]));
      }
      static override now(): number {
        return RealDate.now() - offset;
      }
    }
    const later = join(t.root, "later.git");
    const engine = new Engine({
      paths: t.paths,
      settings: parseSettings({ ...FAST_SETTINGS, repo_url: later, retry_max_seconds: 2 }),
    });
    globalThis.Date = SteppedDate as DateConstructor;
    try {
      await engine.start();
      const cast = join(t.paths.active, "r.cast");
      await appendBurst(cast, "before", 5);
      await waitForHealth(t.paths.health, (h) => h.recordings.r?.spool_chunks === 1, {
        what: "the first chunk cut, its push failing",
      });
      offset = 3600_000;
      const size = await appendBurst(cast, "after the step", 5);
      bareRemote(t, "later.git");
      await waitFor(async () => (await remoteEnd(later, { id: "r" })) === size, {
        what: "cut and pushed after the clock stepped back",
      });
    } finally {
      await engine.stop();
      globalThis.Date = RealDate;
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "row 16: repos/ deleted while the daemon runs: the clone is made again and pushes go on",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({}), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const cast = join(t.paths.active, "r.cast");
      const first = await appendBurst(cast, "first", 5);
      await waitFor(async () => (await remoteEnd(remote, { id: "r" })) === first, {
        what: "first push",
      });
      // The daemon may still be writing in its clone (the ref of the push just seen): a
      // recursive remove racing it can meet a new file; remove again until it is gone.
      await waitFor(async () => {
        await Deno.remove(t.paths.repos, { recursive: true }).catch(() => {});
        return !(await exists(t.paths.repos));
      }, { what: "repos/ removed" });
      const second = await appendBurst(cast, "second", 5);
      await waitFor(async () => (await remoteEnd(remote, { id: "r" })) === second, {
        what: "pushed again without repos/",
      });
      assert.deepEqual(await restoreFromRemote(remote, { id: "r" }), await Deno.readFile(cast));
    });
  },
});
