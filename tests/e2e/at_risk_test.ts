/**
 * Issue 18: at most `max_chunk_seconds` + `push_interval_seconds` of a
 * session at risk while the terminal never goes quiet, pushes shared between
 * recordings, and a notice when pushes stall. Time is compressed: seconds
 * stand for the defaults' tens of seconds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, waitFor } from "../support/env.ts";
import {
  FAST_SETTINGS,
  remoteChunks,
  remoteEnd,
  waitForHealth,
  withDaemon,
} from "../support/daemon.ts";
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

const SETTINGS = {
  ...FAST_SETTINGS,
  // Never quiet long enough for an idle cut: only age cuts back the writer up.
  idle_threshold: 30,
  max_chunk_seconds: 1,
  push_interval_seconds: 1,
};

/** Writes a redraw to every path every `everyMs` until `stop()`; counts the redraws. */
function countedWriters(paths: string[], everyMs: number) {
  let writing = true;
  let redraws = 0;
  const done = (async () => {
    for (let i = 0; writing; i++) {
      for (const path of paths) await appendBurst(path, `redraw ${i}`, 1);
      redraws++;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    redraws: () => redraws,
    stop: async () => {
      writing = false;
      await done;
    },
  };
}

/** The number of chunks of `id` on the remote. */
async function chunksOn(remote: string, id: string): Promise<number> {
  return (await remoteChunks(remote, { id })).length;
}

// How long a byte may wait (max_chunk_seconds + push_interval_seconds) is a rule of time, shown
// with a stepped clock in tests/unit/engine/model_test.ts; here the events it stands for.
Deno.test({
  name:
    "while the writer never pauses, age cuts back it up as it writes (chunks arrive before it stops), and redraws do not make a commit each",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withDaemon(
      (t) => ({
        ...SETTINGS,
        // Never an idle cut: only age cuts can back the writer up while it writes.
        idle_threshold: 86400,
        repo_url: countingRemote(bareRemote(t, "remote.git")),
      }),
      async ({ t }) => {
        const cast = join(t.paths.active, "busy.cast");
        const remote = bareRemote(t, "remote.git");
        const writer = countedWriters([cast], 50);
        try {
          // The event: several chunks on the remote while the writer has not paused once.
          await waitFor(async () => (await chunksOn(remote, "busy")) >= 4, {
            what: "four chunks pushed while the writer still writes",
            timeoutMs: 60_000,
          });
        } finally {
          await writer.stop();
        }
        const redraws = writer.redraws();
        const commits = git(remote, ["rev-list", "asciinema-recordings"]).split("\n").filter(
          Boolean,
        ).length;
        // A redraw every 50 ms, an age cut every second: one commit per many redraws.
        assert.ok(commits * 3 <= redraws, `${commits} commits for ${redraws} redraws`);
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
        const ids = ["a", "b", "c"];
        const paths = ids.map((id) => join(t.paths.active, `${id}.cast`));
        const remote = bareRemote(t, "remote.git");
        const writer = countedWriters(paths, 50);
        try {
          // Several age cuts of every recording, however slowly the daemon runs.
          await waitFor(async () => {
            for (const id of ids) if ((await chunksOn(remote, id)) < 3) return false;
            return true;
          }, { what: "three chunks of every recording pushed", timeoutMs: 60_000 });
        } finally {
          await writer.stop();
        }
        // Everything written is pushed (the first push, which creates the branch, is not
        // compared with one before it).
        const sizes = await Promise.all(paths.map(async (path) => (await Deno.stat(path)).size));
        await waitFor(async () => {
          for (const [i, id] of ids.entries()) {
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
          const seen = new Set([...log.matchAll(/^Cast-Id: (.+)$/gm)].map((m) => m[1]));
          shared = seen.size > 1;
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
        const writer = countedWriters([cast], 100);
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
