/**
 * Issue 18: at most `max_chunk_seconds` + `push_interval_seconds` of a
 * session at risk while the terminal never goes quiet, pushes shared between
 * recordings, and a notice when pushes stall. Time is compressed: seconds
 * stand for the defaults' tens of seconds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, waitFor } from "../support/env.ts";
import { FAST_SETTINGS, remoteEnd, waitForHealth, withDaemon } from "../support/daemon.ts";
import { readHealth } from "../../lib/status/mod.ts";
import { startNotifyServer } from "../support/notify_server.ts";
import { appendBurst, bareRemote } from "../support/recording.ts";

const TOOLS = ["git", "zstd"];
const decoder = new TextDecoder();

function git(gitDir: string, args: string[]): string {
  const out = new Deno.Command("git", {
    args,
    env: { GIT_DIR: gitDir, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(decoder.decode(out.stderr));
  return decoder.decode(out.stdout);
}

/** A remote that keeps a reflog entry per push. */
function countingRemote(path: string): string {
  git(path, ["config", "core.logAllRefUpdates", "always"]);
  return path;
}

/** Writes a redraw to every path every `everyMs` until `stop()`. */
function tuiWriters(paths: string[], everyMs: number) {
  let writing = true;
  const done = (async () => {
    for (let i = 0; writing; i++) {
      for (const path of paths) await appendBurst(path, `redraw ${i}`, 1);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      writing = false;
      await done;
    },
  };
}

const SETTINGS = {
  ...FAST_SETTINGS,
  // Never quiet long enough for an idle cut: only age cuts back the writer up.
  idle_threshold: 30,
  max_chunk_seconds: 1,
  push_interval_seconds: 1,
};

Deno.test({
  name:
    "while the writer never pauses, no byte waits longer than max_chunk_seconds + push_interval_seconds, and redraws do not make a commit each",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(
      (t) => ({ ...SETTINGS, repo_url: countingRemote(bareRemote(t, "remote.git")) }),
      async ({ t }) => {
        const cast = join(t.paths.active, "busy.cast");
        const writer = tuiWriters([cast], 50);
        const ages: number[] = [];
        try {
          const started = performance.now();
          while (performance.now() - started < 7000) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            const health = await readHealth(t.paths.health);
            const age = health?.recordings.busy?.unpushed_age_seconds;
            if (typeof age === "number") ages.push(age);
          }
        } finally {
          await writer.stop();
        }
        assert.ok(ages.length > 10, `only ${ages.length} samples`);
        // 1 s to the age cut + 1 s of push interval, plus a heartbeat of staleness and slack.
        const worst = Math.max(...ages);
        assert.ok(worst <= 4, `${worst} s of output waited to be pushed (samples: ${ages})`);
        const remote = bareRemote(t, "remote.git");
        assert.ok((await remoteEnd(remote, { id: "busy" })) > 0);
        const commits = git(remote, ["rev-list", "asciinema-recordings"]).split("\n").filter(
          Boolean,
        ).length;
        // About 140 redraws in 7 s: one chunk per age cut, not per redraw.
        assert.ok(commits <= 12, `${commits} commits for 7 s of redraws`);
      },
    );
  },
});

Deno.test({
  name: "chunks of several busy recordings share pushes (fewer pushes than commits)",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(
      (t) => ({ ...SETTINGS, repo_url: countingRemote(bareRemote(t, "remote.git")) }),
      async ({ t }) => {
        const paths = ["a", "b", "c"].map((id) => join(t.paths.active, `${id}.cast`));
        const writer = tuiWriters(paths, 50);
        await new Promise((resolve) => setTimeout(resolve, 6000));
        await writer.stop();
        const remote = bareRemote(t, "remote.git");
        // Everything written is pushed (age cuts, a second apart): the pushes of the whole run,
        // however slowly the daemon started (the first push, which creates the branch, is not
        // compared with one before it).
        const sizes = await Promise.all(paths.map(async (path) => (await Deno.stat(path)).size));
        await waitFor(async () => {
          for (const [i, id] of ["a", "b", "c"].entries()) {
            if ((await remoteEnd(remote, { id })) < sizes[i]) return false;
          }
          return true;
        }, { what: "every byte written on the remote" });
        const pushes = git(remote, ["reflog", "show", "--format=%H", "asciinema-recordings"])
          .split("\n").filter(Boolean);
        const commits = git(remote, ["rev-list", "asciinema-recordings"]).split("\n").filter(
          Boolean,
        );
        assert.ok(
          pushes.length < commits.length,
          `${pushes.length} pushes, ${commits.length} commits`,
        );
        // Some push carried chunks of more than one recording.
        let shared = false;
        for (let i = 0; i + 1 < pushes.length && !shared; i++) {
          const log = git(remote, ["log", "--format=%B", `${pushes[i + 1]}..${pushes[i]}`]);
          const ids = new Set([...log.matchAll(/^Cast-Id: (.+)$/gm)].map((m) => m[1]));
          shared = ids.size > 1;
        }
        assert.ok(shared, "no push carried chunks of two recordings");
      },
    );
  },
});

Deno.test({
  name:
    "status and health.json show the age of the oldest unpushed byte; a behind notice fires when pushes stall and a caught-up notice after",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const server = await startNotifyServer();
    try {
      await withDaemon((t) => ({
        ...SETTINGS,
        repo_url: join(t.root, "later.git"),
        notify: {
          behind_minutes: 0.05,
          failure_grace_seconds: 3600,
          ntfy: { url: server.ntfyUrl("behind") },
        },
      }), async ({ t }) => {
        const cast = join(t.paths.active, "r.cast");
        const writer = tuiWriters([cast], 100);
        try {
          const health = await waitForHealth(
            t.paths.health,
            (h) => (h.recordings.r?.unpushed_age_seconds ?? 0) > 3,
            { what: "3 s unpushed" },
          );
          assert.ok(health.recordings.r.oldest_unpushed_at);
          await waitFor(
            () =>
              server.received.some((n) =>
                /falling behind/.test(n.body + JSON.stringify(n.headers))
              ),
            {
              what: "the behind notice",
            },
          );
          const status = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "--no-prompt",
              new URL("../../daemon.ts", import.meta.url).pathname,
              "status",
            ],
            env: t.env,
            clearEnv: true,
            stdout: "piped",
            stderr: "piped",
          }).outputSync();
          assert.match(
            decoder.decode(status.stdout),
            /r +recording: .*oldest unpushed byte \d+ s old/,
          );
          bareRemote(t, "later.git");
          await waitFor(
            () => server.received.some((n) => /caught up/.test(n.body + JSON.stringify(n.headers))),
            {
              what: "the caught-up notice",
            },
          );
          await waitForHealth(
            t.paths.health,
            (h) => (h.recordings.r?.unpushed_age_seconds ?? 99) < 3,
            { what: "caught up in health" },
          );
        } finally {
          await writer.stop();
        }
        const behind = server.received.filter((n) =>
          /falling behind/.test(n.body + JSON.stringify(n.headers))
        );
        assert.equal(behind.length, 1, "more than one behind notice");
      });
    } finally {
      await server.close();
    }
  },
});
