/**
 * The core review's table, rows 1–8: each row as it was reproduced against
 * the real daemon, now shown fixed. (Rows 9–16: core_faults_b_test.ts.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import {
  FAST_SETTINGS,
  readLogLines,
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
import {
  appendBurst,
  bareRemote,
  eventLines,
  remoteIds,
  V2_HEADER,
  V3_HEADER,
} from "../support/recording.ts";
import { failingZstd } from "../support/fake_zstd.ts";

const TOOLS = ["git", "zstd"];

function startsWith(whole: Uint8Array, part: Uint8Array): boolean {
  return part.length <= whole.length && part.every((byte, i) => whole[i] === byte);
}

Deno.test({
  name:
    "row 1: a writer that never pauses, every burst above max_chunk_bytes: its chunks are pushed while it writes and another recording is not kept waiting",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({ max_chunk_bytes: 4096 }), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const busy = join(t.paths.active, "busy.cast");
      let writing = true;
      let size = 0;
      const writer = (async () => {
        for (let i = 0; i < 400 && writing; i++) {
          size = await appendBurst(busy, `burst ${i}`, 40, { pad: 100 });
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const quiet = join(t.paths.active, "quiet.cast");
        const quietSize = await appendBurst(quiet, "quiet", 10);
        await waitFor(async () => (await remoteEnd(remote, { id: "quiet" })) === quietSize, {
          what: "the quiet recording pushed",
        });
        assert.ok(writing, "the quiet recording waited for the busy one to stop");
        await waitFor(async () => (await remoteEnd(remote, { id: "busy" })) > 0, {
          what: "busy chunks pushed while it writes",
        });
        assert.ok(writing, "nothing of the busy recording was pushed while it was written");
      } finally {
        writing = false;
        await writer;
      }
      // Hundreds of chunks: on a machine running two suites at once this takes a while.
      await waitFor(async () => (await remoteEnd(remote, { id: "busy" })) === size, {
        what: "the busy recording pushed in full",
        timeoutMs: 180_000,
      });
      assert.deepEqual(await restoreFromRemote(remote, { id: "busy" }), await Deno.readFile(busy));
    });
  },
});

Deno.test({
  name:
    "row 2: a slow writer (a line every 25 ms) makes a chunk per trigger, not per line; run --once beside it exits",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({}), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const slow = join(t.paths.active, "slow.cast");
      let size = 0;
      for (let i = 0; i < 100; i++) {
        size = await appendBurst(slow, `line ${i}`, 1);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await waitFor(async () => (await remoteEnd(remote, { id: "slow" })) === size, {
        what: "the slow recording pushed",
      });
      const chunks = await remoteChunks(remote, { id: "slow" });
      // A chunk per idle pause at most (a loaded machine delays the writer now and then).
      assert.ok(chunks.length <= 25, `${chunks.length} chunks for 100 lines in 2.5 s`);
      assert.deepEqual(await restoreFromRemote(remote, { id: "slow" }), await Deno.readFile(slow));
    });
    const t = await makeTestHome();
    try {
      await writeConfig(t.paths.home, remoteSettings({})(t));
      const cast = join(t.paths.active, "steady.cast");
      await Deno.mkdir(t.paths.active, { recursive: true });
      const atStart = await appendBurst(cast, "before", 50);
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing && i < 2000; i++) {
          await appendBurst(cast, `during ${i}`, 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      const once = await runOnce(t.env).finally(() => writing = false);
      await writer;
      assert.equal(once.code, 0, once.stderr);
      const remote = bareRemote(t, "remote.git");
      const end = await remoteEnd(remote, { id: "steady" });
      assert.ok(end >= atStart, `run --once pushed ${end} of the ${atStart} bytes there at start`);
      assert.ok((await remoteChunks(remote, { id: "steady" })).length <= 2);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "row 3: a backlog written at once is cut to the end when the file goes idle, the part below max_chunk_bytes included",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({ max_chunk_bytes: 64 * 1024 }), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const cast = join(t.paths.active, "big.cast");
      await Deno.writeTextFile(cast, V2_HEADER + eventLines("big", 8000, { pad: 80 }));
      const size = (await Deno.stat(cast)).size;
      assert.ok(size > 10 * 64 * 1024 && size % (64 * 1024) !== 0);
      await waitFor(async () => (await remoteEnd(remote, { id: "big" })) === size, {
        what: "the whole backlog pushed",
      });
      assert.deepEqual(await restoreFromRemote(remote, { id: "big" }), await Deno.readFile(cast));
    });
  },
});

Deno.test({
  name:
    "row 4: a .cast replaced by rename while its backlog is cut: the old id holds only old bytes, the new file is stored once",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({ max_chunk_bytes: 16 * 1024 }), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const cast = join(t.paths.active, "r.cast");
      const old = new TextEncoder().encode(V2_HEADER + eventLines("old", 20000, { pad: 60 }));
      await Deno.writeFile(cast, old);
      await waitFor(async () => {
        const lines = await readLogLines(t.paths.home);
        return lines.some((line) => /^Cut r #/.test(String(line.message)));
      }, { what: "the first cut", intervalMs: 5 });
      const fresh = new TextEncoder().encode(V2_HEADER + eventLines("new", 300));
      await Deno.writeFile(join(t.paths.active, "r.cast.tmp"), fresh);
      await Deno.rename(join(t.paths.active, "r.cast.tmp"), cast);
      await waitFor(async () => (await remoteEnd(remote, { id: "r~2" })) === fresh.length, {
        what: "the new file pushed as r~2",
      });
      assert.deepEqual(remoteIds(remote), ["r", "r~2"]);
      const first = await restoreFromRemote(remote, { id: "r" });
      assert.ok(
        first.length > 0 && startsWith(old, first),
        "r holds bytes that are not the old file's",
      );
      assert.deepEqual(await restoreFromRemote(remote, { id: "r~2" }), fresh);
    });
  },
});

Deno.test({
  name:
    "row 5: a file removed or rewritten in place while the daemon is down (same inode) is a new generation from its first byte",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    for (const how of ["rewrite in place", "rm and create", "same size, in place"] as const) {
      const t = await makeTestHome();
      try {
        await writeConfig(t.paths.home, remoteSettings({})(t));
        await Deno.mkdir(t.paths.active, { recursive: true });
        const cast = join(t.paths.active, "r.cast");
        const first = new TextEncoder().encode(V2_HEADER + eventLines("first", 20));
        await Deno.writeFile(cast, first);
        assert.equal((await runOnce(t.env)).code, 0);
        const ino = (await Deno.stat(cast)).ino;
        // The same size as what was cut: nothing new to cut, so only the fingerprint tells.
        const second = how === "same size, in place"
          ? new TextEncoder().encode(V2_HEADER.replace("80", "81") + eventLines("first", 20))
          : new TextEncoder().encode(
            '{"version": 2, "width": 100, "height": 30}\n' + eventLines("second", 60),
          );
        if (how === "rm and create") await Deno.remove(cast);
        await Deno.writeFile(cast, second);
        if (how !== "rm and create") assert.equal((await Deno.stat(cast)).ino, ino);
        const again = await runOnce(t.env);
        assert.equal(again.code, 0, again.stderr);
        const remote = bareRemote(t, "remote.git");
        assert.deepEqual(await restoreFromRemote(remote, { id: "r" }), first, how);
        assert.deepEqual(await restoreFromRemote(remote, { id: "r~2" }), second, how);
      } finally {
        await t.cleanup();
      }
    }
  },
});

Deno.test({
  name:
    "row 6: a recording ended while the remote was down, then overwritten in place by a new one: the new one is cut and stays in active/",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const missing = (t: TestHome) => join(t.root, "later.git");
    await withDaemon((t) => ({ ...FAST_SETTINGS, repo_url: missing(t) }), async ({ t }) => {
      const cast = join(t.paths.active, "r.cast");
      const json = join(t.paths.active, "r.json");
      const old = V3_HEADER + '[0.1, "o", "old\\r\\n"]\n[0.1, "x", "0"]\n';
      await Deno.writeTextFile(json, JSON.stringify({ started: new Date().toISOString() }));
      await Deno.writeTextFile(cast, old);
      await waitForHealth(t.paths.health, (h) => h.recordings.r?.state === "ended", {
        what: "r ended, its final chunk spooled",
      });
      const fresh = V3_HEADER + '[0.1, "o", "a new recording\\r\\n"]\n'.repeat(30);
      await Deno.writeTextFile(cast, fresh);
      await Deno.writeTextFile(json, JSON.stringify({ started: new Date().toISOString() }));
      const remote = bareRemote(t, "later.git");
      await waitFor(async () => (await remoteEnd(remote, { id: "r~2" })) === fresh.length, {
        what: "the new recording pushed as r~2",
      });
      assert.equal(await Deno.readTextFile(cast), fresh, "the live file was moved away");
      // The old generation was cut before its remote could be read: it goes once it is read.
      await waitFor(async () => (await remoteEnd(remote, { id: "r" })) === old.length, {
        what: "the old recording pushed as r",
      });
      assert.equal(
        new TextDecoder().decode(await restoreFromRemote(remote, { id: "r" })),
        old,
      );
      const done = await Array.fromAsync(Deno.readDir(t.paths.done)).catch(() => []);
      assert.deepEqual(done.map((entry) => entry.name), []);
    });
  },
});

Deno.test({
  name:
    "row 7: done/ on another filesystem (EXDEV): an ended recording is copied there once, with one manifest",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    let other = "";
    try {
      await withDaemon(remoteSettings({}), async ({ t }) => {
        other = await tempDirElsewhere(t.root, "chunker-done-");
        await Deno.remove(t.paths.done, { recursive: true }).catch(() => {});
        await Deno.symlink(other, t.paths.done);
        const remote = bareRemote(t, "remote.git");
        const text = V3_HEADER + '[0.1, "o", "hi\\r\\n"]\n[0.1, "x", "0"]\n';
        await Deno.writeTextFile(join(t.paths.active, "r.cast"), text);
        await waitFor(async () => {
          try {
            return (await Deno.readTextFile(join(other, "r.cast"))) === text;
          } catch {
            return false;
          }
        }, { what: "r.cast in done/" });
        // A few scans later still one recording, one manifest.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        assert.deepEqual(remoteIds(remote), ["r"]);
        const manifests = new Deno.Command("git", {
          args: ["ls-tree", "-r", "--name-only", "refs/heads/asciinema-recordings", "recordings/"],
          env: { GIT_DIR: remote },
          stdout: "piped",
        }).outputSync();
        assert.deepEqual(
          new TextDecoder().decode(manifests.stdout).split("\n")
            .filter((path) => path.endsWith("/manifest.json")), // (its text index may be there too)
          ["recordings/r/manifest.json"],
        );
        await assert.rejects(Deno.stat(join(t.paths.active, "r.cast")));
      });
    } finally {
      if (other) await Deno.remove(other, { recursive: true }).catch(() => {});
    }
  },
});

/** Folders that may be on another filesystem than the test home (tmpfs, disk). */
const OTHER_FILESYSTEMS = ["/dev/shm", "/var/tmp", "/tmp"];

/** A new temporary folder on another filesystem than `near`. */
async function tempDirElsewhere(near: string, prefix: string): Promise<string> {
  const dev = (await Deno.stat(near)).dev;
  for (const dir of OTHER_FILESYSTEMS) {
    try {
      if ((await Deno.stat(dir)).dev !== dev) return await Deno.makeTempDir({ dir, prefix });
    } catch {
      // absent or not writable: the next one
    }
  }
  const tried = OTHER_FILESYSTEMS.join(", ");
  throw new Error(`none of ${tried} is on another filesystem than ${near}: no EXDEV to test`);
}

Deno.test({
  name:
    "row 8: a failed cut (zstd write error) shows in health and is retried without the file growing",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    const zstd = await failingZstd(t.root);
    try {
      await writeConfig(t.paths.home, remoteSettings({})(t));
      await Deno.mkdir(t.paths.active, { recursive: true });
      const cast = join(t.paths.active, "r.cast");
      const size = await appendBurst(cast, "data", 20);
      await zstd.fail(true);
      const daemon = startDaemon({ ...t.env, PATH: zstd.path });
      try {
        const health = await waitForHealth(
          t.paths.health,
          (h) =>
            h.recordings.r?.state === "error" &&
            /Cutting r failed/.test(h.recordings.r.last_error ?? ""),
          {
            what: "the failed cut in health.json",
          },
        );
        assert.equal(health.status, "degraded");
        await zstd.fail(false);
        const remote = bareRemote(t, "remote.git");
        await waitFor(async () => (await remoteEnd(remote, { id: "r" })) === size, {
          what: "the cut retried and pushed",
        });
        assert.equal((await Deno.stat(cast)).size, size);
        await waitForHealth(t.paths.health, (h) => h.status === "ok", { what: "health ok again" });
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
    } finally {
      await t.cleanup();
    }
  },
});
