/**
 * The second core review's table, rows 6–10, and the idle cut on stale facts
 * (rows 1–5: core_faults_c_test.ts). Each as it was reproduced against the
 * real daemon, now shown fixed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import {
  FAST_SETTINGS,
  readLogLines,
  remoteChunks,
  remoteEnd,
  remoteSettings,
  restoreFromRemote,
  startDaemon,
  waitForHealth,
  withDaemon,
  writeConfig,
} from "../support/daemon.ts";
import { appendBurst, bareRemote, remoteIds, V3_HEADER } from "../support/recording.ts";
import { FAILPOINT_FLAG } from "../../lib/engine/mod.ts";
import { git } from "../../lib/git/mod.ts";
import { readHealth } from "../../lib/status/mod.ts";
import { exists, run } from "../../lib/sys/mod.ts";

const TOOLS = ["git", "zstd"];

Deno.test({
  name:
    "row 6: 100 recordings appear at once: each gets its first chunk on the remote, and health never says 'all backed up' while chunks wait",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({}), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      const staging = join(t.root, "staging");
      await Deno.mkdir(staging);
      const ids = Array.from({ length: 100 }, (_, i) => `many-${i}`);
      for (const id of ids) await appendBurst(join(staging, `${id}.cast`), id, 3);
      for (const id of ids) {
        await Deno.rename(join(staging, `${id}.cast`), join(t.paths.active, `${id}.cast`));
      }
      const lies: string[] = [];
      await waitFor(async () => {
        const health = await readHealth(t.paths.health);
        const queued = Object.values(health?.remotes ?? {})
          .reduce((sum, remote) => sum + remote.queued_chunks, 0);
        if (health && queued > 0 && /all backed up/.test(health.message)) lies.push(health.message);
        return remoteIds(remote).length === ids.length;
      }, { what: "every recording's first chunk on the remote", timeoutMs: 120_000 });
      assert.deepEqual(lies, [], "health said all backed up while chunks were queued");
      for (const id of ["many-0", "many-99"]) {
        assert.deepEqual(
          await restoreFromRemote(remote, { id }),
          await Deno.readFile(join(t.paths.active, `${id}.cast`)),
        );
      }
    });
  },
});

Deno.test({
  name:
    "row 7: a recording whose .json is a FIFO is held with a clear message; others go on and SIGTERM stops the daemon",
  ignore: ignoreWithout([...TOOLS, "mkfifo"]),
  async fn() {
    const t = await makeTestHome();
    try {
      await writeConfig(t.paths.home, remoteSettings({})(t));
      await Deno.mkdir(t.paths.active, { recursive: true });
      const made = await run("mkfifo", { args: [join(t.paths.active, "odd.json")] });
      assert.ok(made.success, made.stderr);
      await appendBurst(join(t.paths.active, "odd.cast"), "odd", 5);
      const daemon = startDaemon(t.env);
      try {
        const size = await appendBurst(join(t.paths.active, "fine.cast"), "fine", 5);
        await waitFor(
          async () => (await remoteEnd(bareRemote(t, "remote.git"), { id: "fine" })) === size,
          { what: "the other recording pushed" },
        );
        const health = await waitForHealth(
          t.paths.health,
          (h) => h.recordings.odd?.state === "held",
          { what: "odd held" },
        );
        assert.match(health.recordings.odd.last_error ?? "", /odd\.json is not a regular file/);
      } finally {
        daemon.kill("SIGTERM");
        // A daemon stuck on the FIFO would never exit: killed after a while, it fails below.
        const late = setTimeout(() => daemon.kill("SIGKILL"), 30_000);
        const status = await daemon.wait();
        clearTimeout(late);
        assert.equal(status.code, 0, daemon.stderr());
      }
      assert.equal((await readHealth(t.paths.health))?.status, "stopped");
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "row 8: a recording whose file name is not valid UTF-8 is reported in the log and in health, never silently skipped",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({}), async ({ t }) => {
      // A name with the byte 0xff, which no UTF-8 string can hold.
      const made = await run("sh", {
        args: [
          "-c",
          `printf '%s\\n' '{"version": 2, "width": 80, "height": 24}' > "$(printf 'bad\\377name.cast')"`,
        ],
        cwd: t.paths.active,
      });
      assert.ok(made.success, made.stderr);
      const health = await waitForHealth(
        t.paths.health,
        (h) =>
          Object.values(h.recordings).some((rec) => /not valid UTF-8/.test(rec.last_error ?? "")),
        { what: "the unreadable name in health.json" },
      );
      assert.notEqual(health.status, "ok");
      await waitFor(
        async () =>
          (await readLogLines(t.paths.home)).some((line) =>
            line.level === "ERROR" && /not valid UTF-8/.test(String(line.message))
          ),
        { what: "the unreadable name in the log" },
      );
    });
  },
});

Deno.test({
  name:
    "row 9: SIGKILL right after a finish moved the file to done/: the text index is still committed after the restart",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome();
    try {
      const remote = bareRemote(t, "remote.git");
      await writeConfig(t.paths.home, { ...FAST_SETTINGS, repo_url: remote });
      await Deno.mkdir(t.paths.active, { recursive: true });
      await Deno.writeTextFile(
        join(t.paths.active, "r.cast"),
        V3_HEADER + '[0.1, "o", "searchable words\\r\\n"]\n[0.1, "x", "0"]\n',
      );
      const crashing = startDaemon({ ...t.env, ASCIINEMA_FAILPOINT: "finish.after-move" }, {
        args: [FAILPOINT_FLAG],
      });
      const status = await crashing.wait();
      assert.equal(status.signal, "SIGKILL", crashing.stderr());
      assert.ok(await exists(join(t.paths.done, "r.cast")), "the move did not happen");
      const daemon = startDaemon(t.env);
      try {
        await waitFor(
          async () =>
            (await git(
              ["cat-file", "-e", "refs/heads/asciinema-recordings:recordings/r/text.zst"],
              {
                gitDir: remote,
              },
            )).success,
          { what: "the text index of r on the remote" },
        );
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
    "row 10: a remote force-pushed to an unrelated history: reported in health; a finished recording is not re-published, the live one stays whole",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(remoteSettings({ verify_interval_seconds: 1 }), async ({ t }) => {
      const remote = bareRemote(t, "remote.git");
      await Deno.writeTextFile(
        join(t.paths.active, "old.cast"),
        V3_HEADER + '[0.1, "o", "finished long ago\\r\\n"]\n[0.1, "x", "0"]\n',
      );
      const live = join(t.paths.active, "live.cast");
      const first = await appendBurst(live, "live", 5);
      await waitFor(async () =>
        (await remoteEnd(remote, { id: "live" })) === first &&
        (await exists(join(t.paths.done, "old.cast"))), { what: "both pushed, old finished" });
      // Somebody replaces the branch with an unrelated history.
      const other = join(t.root, "other.git");
      await git(["init", "--bare", "--quiet", other]);
      const made = await git(["fast-import", "--quiet", "--done"], {
        gitDir: other,
        stdin:
          "commit refs/heads/asciinema-recordings\ncommitter x <x@x> 1 +0000\ndata 6\nfresh\nM 100644 inline README\ndata 3\nhi\n\ndone\n",
      });
      assert.ok(made.success, made.stderr);
      // The daemon may be pushing at that moment (its push holds the ref's lock): the force
      // push is tried again until the ref is the other history's, whatever else it says.
      let forced = { success: false, stderr: "" };
      await waitFor(async () => {
        forced = await git(["push", "--force", remote, "refs/heads/asciinema-recordings"], {
          gitDir: other,
        });
        return forced.success || !/cannot lock ref|failed to update ref/.test(forced.stderr);
      }, { what: "the force push to go through beside the daemon's pushes" });
      assert.ok(forced.success, forced.stderr);
      const health = await waitForHealth(
        t.paths.health,
        (h) => Object.values(h.remotes).some((r) => /unrelated history/.test(r.notice ?? "")),
        { what: "the rewritten remote reported in health.json" },
      );
      assert.equal(health.status, "degraded");
      assert.match(Object.values(health.remotes)[0].notice ?? "", /old/);
      const size = await appendBurst(live, "after the rewrite", 5);
      await waitFor(async () => (await remoteEnd(remote, { id: "live" })) === size, {
        what: "the live recording whole on the rewritten remote",
      });
      assert.deepEqual(await restoreFromRemote(remote, { id: "live" }), await Deno.readFile(live));
      assert.deepEqual(await remoteChunks(remote, { id: "old" }), [], "old was re-published");
      const ids = remoteIds(remote);
      assert.deepEqual(ids, ["live"]);
    });
  },
});

Deno.test({
  name:
    "idle cuts are taken on fresh facts: a terminal written without pause gets no 'idle' chunk, however short idle_threshold is",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(
      remoteSettings({ idle_threshold: 0.5, max_chunk_seconds: 2 }),
      async ({ t }) => {
        const cast = join(t.paths.active, "busy.cast");
        let writing = true;
        // Sizes after which the writer itself paused long (a loaded machine stalls it now and
        // then): an idle cut may end only there.
        const pausedAt = new Set<number>();
        let size = 0;
        const writer = (async () => {
          let last = performance.now();
          // Twenty writes a second: the watcher compares listings every two seconds meanwhile.
          for (let i = 0; i < 400 && writing; i++) {
            const before = size;
            size = await appendBurst(cast, `burst ${i}`, 1);
            const now = performance.now();
            if (i > 0 && now - last >= 400) pausedAt.add(before);
            last = now;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          pausedAt.add(size);
        })();
        try {
          await waitFor(async () => {
            const cuts = (await readLogLines(t.paths.home)).filter((line) =>
              /^Cut busy #/.test(String(line.message))
            );
            return cuts.length >= 4;
          }, { what: "four chunks while it writes", timeoutMs: 60_000 });
        } finally {
          writing = false;
          await writer;
        }
        const idleEnds = (await readLogLines(t.paths.home))
          .map((line) => /^Cut busy #\d+ \[\d+, (\d+)\) .*idle\)$/.exec(String(line.message)))
          .filter((match) => match !== null)
          .map((match) => Number(match[1]));
        // Every idle cut ends where the writer really paused (none at all on a quiet machine).
        assert.deepEqual(idleEnds.filter((end) => !pausedAt.has(end)), []);
      },
    );
  },
});
