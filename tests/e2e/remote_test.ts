/**
 * Remotes that go away, move under us, and a daemon stopped mid-work.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import { startNotifyServer } from "../support/notify_server.ts";
import {
  assertTiling,
  FAST_SETTINGS,
  remoteChunks,
  remoteEnd,
  restoreFromRemote,
  startDaemon,
  waitForHealth,
  withDaemon,
  writeConfig,
} from "../support/daemon.ts";
import { loadAllStates } from "../../lib/chunk/mod.ts";
import { formatChunkName } from "../../lib/chunk/mod.ts";
import { appendBurst, bareRemote } from "../support/recording.ts";

function gitSync(args: string[], env: Record<string, string> = {}): string {
  const out = new Deno.Command("git", {
    args,
    env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

Deno.test("offline: the remote disappears and returns; every byte arrives once and retries add no chunks", async () => {
  const settings = (t: TestHome) => ({ ...FAST_SETTINGS, repo_url: bareRemote(t, "remote.git") });
  await withDaemon(settings, async ({ t }) => {
    const remote = bareRemote(t, "remote.git");
    const cast = join(t.paths.active, "trip.cast");
    await Deno.mkdir(t.paths.active, { recursive: true });
    let size = await appendBurst(cast, "online");
    await waitFor(async () => (await remoteEnd(remote, { id: "trip" })) === size, {
      what: "first burst on the remote",
    });
    await Deno.rename(remote, `${remote}.away`);
    for (let burst = 0; burst < 3; burst++) {
      size = await appendBurst(cast, `offline ${burst}`);
      await waitFor(async () => {
        const { states } = await loadAllStates(t.paths.state);
        return states.find((s) => s.id === "trip")?.cut_offset === size;
      }, { what: `offline burst ${burst} cut into the spool` });
    }
    const health = await waitForHealth(
      t.paths.health,
      (h) =>
        Object.values(h.remotes).some((r) => r.last_error !== null) &&
        h.recordings.trip?.spool_chunks === 3,
      { what: "the push failure in health.json" },
    );
    assert.equal(health.status, "degraded");
    assert.equal(health.recordings.trip.spool_chunks, 3);
    // Let several retries fail (retry cap 1 s): they must not cut or commit again.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const { states } = await loadAllStates(t.paths.state);
    assert.equal(states.find((s) => s.id === "trip")?.next_seq, 4);
    await Deno.rename(`${remote}.away`, remote);
    await waitFor(async () => (await remoteEnd(remote, { id: "trip" })) === size, {
      what: "the backlog on the remote",
    });
    const chunks = await remoteChunks(remote, { id: "trip" });
    assert.equal(chunks.length, 4);
    assert.equal(assertTiling(chunks), size);
    assert.deepEqual(await restoreFromRemote(remote, { id: "trip" }), await Deno.readFile(cast));
    const commits = gitSync(["--git-dir", remote, "rev-list", "--count", "asciinema-recordings"]);
    assert.equal(Number(commits.trim()), 4);
    await waitForHealth(t.paths.health, (h) => h.status === "ok", { what: "recovery" });
  });
});

Deno.test("a commit added to the remote branch by someone else does not block pushing", async () => {
  const settings = (t: TestHome) => ({ ...FAST_SETTINGS, repo_url: bareRemote(t, "shared.git") });
  await withDaemon(settings, async ({ t }) => {
    const remote = bareRemote(t, "shared.git");
    const cast = join(t.paths.active, "mine.cast");
    await Deno.mkdir(t.paths.active, { recursive: true });
    let size = await appendBurst(cast, "first");
    await waitFor(async () => (await remoteEnd(remote, { id: "mine" })) === size, {
      what: "first burst",
    });
    // Another machine pushes to the same branch.
    const other = join(t.root, "other");
    const identity = {
      GIT_AUTHOR_NAME: "other",
      GIT_AUTHOR_EMAIL: "o@example.com",
      GIT_COMMITTER_NAME: "other",
      GIT_COMMITTER_EMAIL: "o@example.com",
    };
    gitSync(["clone", "--quiet", "--branch", "asciinema-recordings", remote, other]);
    await Deno.mkdir(join(other, "chunks", "theirs"), { recursive: true });
    await Deno.writeTextFile(join(other, "chunks", "theirs", "note.txt"), "from another machine\n");
    gitSync(["-C", other, "add", "."], identity);
    gitSync(["-C", other, "commit", "--quiet", "-m", "theirs"], identity);
    gitSync(["-C", other, "push", "--quiet", "origin", "asciinema-recordings"], identity);
    size = await appendBurst(cast, "second");
    await waitFor(async () => (await remoteEnd(remote, { id: "mine" })) === size, {
      what: "second burst after the remote moved",
    });
    const files = gitSync([
      "--git-dir",
      remote,
      "ls-tree",
      "-r",
      "--name-only",
      "asciinema-recordings",
    ]);
    assert.ok(files.includes("chunks/theirs/note.txt"), "the other machine's commit was kept");
    assert.deepEqual(await restoreFromRemote(remote, { id: "mine" }), await Deno.readFile(cast));
  });
});

Deno.test("SIGTERM during activity: exits while a push is held by the remote, health stopped, spool consistent", async () => {
  const t = await makeTestHome();
  await writeConfig(t.paths.home, {
    idle_threshold: 0.1,
    max_chunk_bytes: 1024,
    scan_interval_seconds: 1,
    heartbeat_seconds: 1,
  });
  const daemon = startDaemon(t.env);
  await waitForHealth(t.paths.health, (h) => h.pid > 0 && h.status !== "starting");
  const cast = join(t.paths.active, "busy.cast");
  let writing = true;
  const writer = (async () => {
    let n = 0;
    while (writing) {
      await appendBurst(cast, `busy ${n++}`, 40);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const held = join(t.root, "push-held");
  const release = join(t.root, "push-released");
  try {
    await waitFor(async () => (await remoteEnd(t.paths.backupGit, { id: "busy" })) > 0, {
      what: "activity",
    });
    // From now on the remote holds every push until the test releases it (bounded: 120 s).
    const hook = join(t.paths.backupGit, "hooks", "pre-receive");
    await Deno.mkdir(join(hook, ".."), { recursive: true });
    await Deno.writeTextFile(
      hook,
      `#!/bin/sh\ncat >/dev/null\n: > '${held}'\ni=0\n` +
        `while [ ! -e '${release}' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\nexit 0\n`,
      { mode: 0o755 },
    );
    await waitFor(() => exists(held), { what: "a push held by the remote" });
    daemon.kill("SIGTERM");
    // The event: the daemon exits by itself while its push is still held (released only after).
    // The guard is a hang detector far beyond any stop, never a measure of one.
    const guard = setTimeout(() => daemon.kill("SIGKILL"), 60_000);
    const status = await daemon.wait();
    clearTimeout(guard);
    assert.equal(await exists(release), false);
    writing = false;
    await writer;
    assert.equal(status.signal, null, `the daemon did not stop by itself\n${daemon.stderr()}`);
    assert.equal(status.code, 0, daemon.stderr());
    const health = JSON.parse(await Deno.readTextFile(t.paths.health));
    assert.equal(health.status, "stopped");
    // Spool consistent: exactly the pending chunks, no temp files.
    const { states } = await loadAllStates(t.paths.state);
    const state = states.find((s) => s.id === "busy")!;
    const names = (await Array.fromAsync(Deno.readDir(join(t.paths.spool, "busy")))
      .catch(() => [])).map((entry) => entry.name).sort();
    assert.deepEqual(names, state.pending.map((chunk) => formatChunkName(chunk)).sort());
    const end = state.pending.length ? state.pending.at(-1)!.end : state.pushed_offset;
    assert.equal(end, state.cut_offset);
  } finally {
    writing = false;
    await writer;
    await Deno.writeTextFile(release, "");
    daemon.kill("SIGKILL");
    await daemon.wait();
    await t.cleanup();
  }
});

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("the running daemon notifies once when pushes keep failing and once when they recover", async () => {
  const server = await startNotifyServer();
  const settings = (t: TestHome) => ({
    ...FAST_SETTINGS,
    repo_url: bareRemote(t, "flaky.git"),
    notify: { failure_grace_seconds: 1, ntfy: { url: server.ntfyUrl("chunker-test") } },
  });
  try {
    await withDaemon(settings, async ({ t }) => {
      const remote = bareRemote(t, "flaky.git");
      const cast = join(t.paths.active, "n.cast");
      await Deno.mkdir(t.paths.active, { recursive: true });
      await Deno.rename(remote, `${remote}.away`);
      let size = await appendBurst(cast, "while down");
      await waitFor(() => server.received.length >= 1, { what: "a failure notice" });
      assert.match(server.received[0].body, /fail/i);
      await Deno.rename(`${remote}.away`, remote);
      await waitFor(async () => (await remoteEnd(remote, { id: "n" })) === size, {
        what: "the backlog after recovery",
      });
      await waitFor(() => server.received.length >= 2, { what: "a recovery notice" });
      assert.match(server.received.at(-1)!.body, /again|recover|work/i);
      size = await appendBurst(cast, "after");
      await waitFor(async () => (await remoteEnd(remote, { id: "n" })) === size, { what: "more" });
      assert.equal(server.received.length, 2, "one failure notice and one recovery notice");
    });
  } finally {
    await server.close();
  }
});
