/**
 * The second core review's table, rows 1–5, each as it was reproduced
 * against the real daemon, now shown fixed (rows 6–10: core_faults_d_test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hostname } from "node:os";
import { ignoreWithout, makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import {
  assertTiling,
  DAEMON_TS,
  FAST_SETTINGS,
  remoteChunks,
  remoteEnd,
  remoteSettings,
  restoreFromRemote,
  runOnce,
  startDaemon,
  waitForHealth,
  withDaemon,
  writeConfig,
} from "../support/daemon.ts";
import { appendBurst, bareRemote, remoteIds } from "../support/recording.ts";
import { startGitHttpServer } from "../support/git_http_server.ts";
import { git, hostTag } from "../../lib/git/mod.ts";
import { loadAllStates } from "../../lib/chunk/mod.ts";
import { run } from "../../lib/sys/mod.ts";

const TOOLS = ["git", "zstd"];
const TOKEN = "ghp_TestToken0123456789abcdefABCDEFghij";
const REFUSE = "#!/bin/sh\ncat >/dev/null\necho 'not now' >&2\nexit 1\n";

async function commits(gitDir: string): Promise<number> {
  const out = await git(["rev-list", "--count", "refs/heads/asciinema-recordings"], { gitDir });
  return Number(out.stdout.trim());
}

async function home(settings: Record<string, unknown>): Promise<TestHome> {
  const t = await makeTestHome();
  await writeConfig(t.paths.home, settings);
  await Deno.mkdir(t.paths.active, { recursive: true });
  return t;
}

Deno.test({
  name:
    "row 1: two machines cut recordings with the same id while the remote refused them: all of the second one's chunks, also later ones, go to one other folder",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "two-machines-" });
    const remote = join(root, "shared.git");
    const settings = { ...FAST_SETTINGS, repo_url: remote, max_chunk_bytes: 1024 };
    const one = await home(settings);
    const two = await home(settings);
    try {
      bareRemote({ root } as TestHome, "shared.git");
      const hook = join(remote, "hooks", "pre-receive");
      await Deno.writeTextFile(hook, REFUSE, { mode: 0o755 });
      const first = join(one.paths.active, "a.cast");
      const second = join(two.paths.active, "a.cast");
      await appendBurst(first, "machine one", 20, { pad: 40 });
      await appendBurst(second, "machine two", 40, { pad: 40 });
      // Both read the (empty) branch, cut and commit; the remote refuses both pushes.
      assert.notEqual((await runOnce(one.env)).code, 0);
      assert.notEqual((await runOnce(two.env)).code, 0);
      await Deno.remove(hook);
      assert.equal((await runOnce(one.env)).code, 0);
      assert.ok((await remoteChunks(remote, { id: "a" })).length >= 2);
      const result = await runOnce(two.env);
      assert.equal(result.code, 0, result.stderr);
      const moved = `a~${hostTag(hostname())}`;
      assert.deepEqual(remoteIds(remote), ["a", moved]);
      assert.deepEqual(await restoreFromRemote(remote, { id: "a" }), await Deno.readFile(first));
      assert.deepEqual(
        await restoreFromRemote(remote, { id: moved }),
        await Deno.readFile(second),
      );
      assert.ok((await remoteChunks(remote, { id: moved })).length >= 2);
      // Later chunks of the second machine's recording follow to the same folder.
      const size = await appendBurst(second, "machine two later", 10);
      assert.equal((await runOnce(two.env)).code, 0);
      assert.equal(await remoteEnd(remote, { id: moved }), size);
      assert.deepEqual(await restoreFromRemote(remote, { id: "a" }), await Deno.readFile(first));
      const { states } = await loadAllStates(two.paths.state);
      assert.equal(states.find((state) => state.id === "a")?.branch_id, moved);
      // The standard restore of either id works: no folder holds two files' bytes.
      for (const [id, file] of [["a", first], [moved, second]]) {
        const out = join(root, `restored-${id}.cast`);
        const restored = await run(Deno.execPath(), {
          args: ["run", "-A", DAEMON_TS, "restore", "--repo", remote, "--output", out, id],
          env: one.env,
          clearEnv: true,
          timeoutMs: 60_000,
        });
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(await Deno.readFile(out), await Deno.readFile(file));
      }
    } finally {
      await one.cleanup();
      await two.cleanup();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "row 2: state/ and repos/ lost and the remote unreachable at the start: the recording waits, visibly, then resumes where the branch ends",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    try {
      const remote = bareRemote(t, "remote.git");
      await writeConfig(t.paths.home, { ...FAST_SETTINGS, repo_url: remote });
      await Deno.mkdir(t.paths.active, { recursive: true });
      const cast = join(t.paths.active, "a.cast");
      await appendBurst(cast, "before", 30, { pad: 60 });
      assert.equal((await runOnce(t.env)).code, 0);
      const pushed = (await remoteChunks(remote, { id: "a" })).length;
      const size = await appendBurst(cast, "after", 30, { pad: 60 });
      for (const dir of [t.paths.state, t.paths.repos, t.paths.spool]) {
        await Deno.remove(dir, { recursive: true });
      }
      await Deno.rename(remote, `${remote}.away`);
      const daemon = startDaemon(t.env);
      try {
        const health = await waitForHealth(t.paths.health, (h) => !!h.recordings.a?.waiting, {
          what: "a waiting for its branch in health.json",
        });
        assert.match(health.recordings.a.waiting!, /not known yet/);
        assert.equal(health.recordings.a.pushed_offset, 0);
        const status = await run(Deno.execPath(), {
          args: ["run", "-A", DAEMON_TS, "status"],
          env: t.env,
          clearEnv: true,
          timeoutMs: 60_000,
        });
        assert.match(status.stdout, /not known yet/);
        assert.equal(await commits(`${remote}.away`), pushed, "something was pushed meanwhile");
        await Deno.rename(`${remote}.away`, remote);
        await waitFor(async () => (await remoteEnd(remote, { id: "a" })) === size, {
          what: "the rest of a on the remote",
        });
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
      const chunks = await remoteChunks(remote, { id: "a" });
      assert.equal(assertTiling(chunks), size);
      assert.deepEqual(await restoreFromRemote(remote, { id: "a" }), await Deno.readFile(cast));
      assert.equal(await commits(remote), chunks.length, "a chunk was pushed twice");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "row 3: a remote that loses what it accepted (reset to an older commit) is noticed and given it again",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({ verify_interval_seconds: 1 }), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const cast = join(t.paths.active, "a.cast");
      const first = await appendBurst(cast, "first", 5);
      await waitFor(async () => (await remoteEnd(remote, { id: "a" })) === first, {
        what: "the first push",
      });
      const older = (await git(["rev-parse", "refs/heads/asciinema-recordings"], {
        gitDir: remote,
      })).stdout.trim();
      const second = await appendBurst(cast, "second", 5);
      await waitFor(async () => (await remoteEnd(remote, { id: "a" })) === second, {
        what: "the second push",
      });
      // A backup of the remote from before the second push is restored.
      await git(["update-ref", "refs/heads/asciinema-recordings", older], { gitDir: remote });
      assert.equal(await remoteEnd(remote, { id: "a" }), first);
      await waitFor(async () => (await remoteEnd(remote, { id: "a" })) === second, {
        what: "what the remote lost pushed again",
      });
      assert.deepEqual(await restoreFromRemote(remote, { id: "a" }), await Deno.readFile(cast));
    });
  },
});

Deno.test({
  name:
    "row 4: an ssh remote whose connection hangs: the timeout ends git and its ssh, the queue goes on, health says so",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    const bin = join(t.root, "bin");
    const args = join(t.root, "ssh.args");
    const pids = join(t.root, "ssh.pids");
    try {
      await Deno.mkdir(bin);
      // Like ssh on a black-holed connection: never answers, keeps git's pipes open.
      await Deno.writeTextFile(
        join(bin, "ssh"),
        `#!/bin/sh\necho "$*" >> '${args}'\nsleep 600 &\necho $! >> '${pids}'\nwait\n`,
        { mode: 0o755 },
      );
      await writeConfig(t.paths.home, {
        ...FAST_SETTINGS,
        repo_url: "ssh://git@blackhole.invalid/rec.git",
        push_timeout_seconds: 1,
      });
      await Deno.mkdir(t.paths.active, { recursive: true });
      await appendBurst(join(t.paths.active, "a.cast"), "data", 5);
      const daemon = startDaemon({ ...t.env, PATH: `${bin}:${t.env.PATH}` });
      try {
        await waitFor(
          async () => (await Deno.readTextFile(args).catch(() => "")).split("\n").length > 2,
          { what: "ssh asked again: the queue is not stuck", timeoutMs: 60_000 },
        );
        const health = await waitForHealth(
          t.paths.health,
          (h) =>
            Object.values(h.remotes).some((r) => r.error_kind === "network") &&
            !!h.recordings.a?.waiting,
          { what: "the hanging remote and the waiting recording in health.json" },
        );
        assert.notEqual(health.status, "ok");
        assert.match(await Deno.readTextFile(args), /ServerAliveInterval=15/);
        assert.match(await Deno.readTextFile(args), /ServerAliveCountMax=4/);
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
      // Every ssh the daemon started ended with its git (the last one with the daemon).
      for (const pid of (await Deno.readTextFile(pids)).split("\n").filter(Boolean)) {
        await waitFor(() => {
          try {
            Deno.kill(Number(pid), "SIGCONT");
            return false;
          } catch {
            return true;
          }
        }, { what: `ssh's child ${pid} gone` });
      }
    } finally {
      for (const pid of (await Deno.readTextFile(pids).catch(() => "")).split("\n")) {
        if (!pid) continue;
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
      await t.cleanup();
    }
  },
});

/** A branch of `recordings` recordings of `bytes` random bytes each, written into `gitDir`. */
async function fillBranch(gitDir: string, recordings: number, bytes: number): Promise<number> {
  let stream = "";
  let total = 0;
  for (let i = 0; i < recordings; i++) {
    const raw = crypto.getRandomValues(new Uint8Array(bytes * 3 / 4));
    const data = btoa(String.fromCharCode(...raw));
    total += data.length;
    const path = `chunks/other-${i}/000000_0-${data.length}.cast.zst`;
    stream += `commit refs/heads/asciinema-recordings\ncommitter other <o@x> ${
      1_700_000_000 + i
    } +0000\ndata 6\nchunk\nM 100644 inline ${path}\ndata ${data.length}\n${data}\n`;
  }
  const out = await git(["fast-import", "--quiet", "--done"], {
    gitDir,
    stdin: stream + "done\n",
    timeoutMs: 120_000,
  });
  if (!out.success) throw new Error(out.stderr);
  return total;
}

Deno.test({
  name:
    "row 5: joining a branch others filled, over a slow link: the new clone fetches the tip's trees, not the branch, and pushes",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const server = await startGitHttpServer({
      token: TOKEN,
      fetchBytesPerSecond: 40 * 1024,
      allowFilter: true,
    });
    const t = await makeTestHome();
    try {
      const repo = await server.createRepo("long");
      const size = await fillBranch(repo, 40, 64 * 1024);
      await writeConfig(t.paths.home, {
        ...FAST_SETTINGS,
        repo_url: server.repoUrl("long"),
        github_token_hosts: [`127.0.0.1:${server.port}`],
      });
      await Deno.mkdir(t.paths.active, { recursive: true });
      const end = await appendBurst(join(t.paths.active, "new.cast"), "joining", 10);
      const daemon = startDaemon({ ...t.env, ASCIINEMA_GITHUB_PAT: TOKEN });
      try {
        // The whole branch would need over a minute at this speed.
        await waitFor(async () => (await remoteEnd(repo, { id: "new" })) === end, {
          what: "the new machine's first chunk on the long branch",
          timeoutMs: 50_000,
        });
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
      assert.ok(
        server.stats.fetchedBytes < size / 10,
        `fetched ${server.stats.fetchedBytes} bytes of a ${size}-byte branch`,
      );
      assert.deepEqual(
        await restoreFromRemote(repo, { id: "new" }),
        await Deno.readFile(join(t.paths.active, "new.cast")),
      );
    } finally {
      await t.cleanup();
      await server.stop();
    }
  },
});
