/**
 * Real asciinema (Debian's 2.x) recording a scripted command in tmux into
 * active/ while the daemon runs; the pushed chunks restore byte-identical.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertTools, ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import {
  remoteEnd,
  restoreFromRemote,
  startDaemon,
  waitForHealth,
  writeConfig,
} from "../support/daemon.ts";
import { run } from "../../lib/sys/mod.ts";

const TOOLS = ["asciinema", "tmux"];

Deno.test({
  name: "asciinema 2.x in tmux records into active/ and the remote restores it byte-identical",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const t = await makeTestHome();
    await writeConfig(t.paths.home, {
      idle_threshold: 0.3,
      scan_interval_seconds: 1,
      heartbeat_seconds: 1,
    });
    const daemon = startDaemon(t.env);
    const socket = `chunker-test-${Deno.pid}-${Date.now()}`;
    const tmux = (args: string[]) =>
      run("tmux", { args: ["-L", socket, ...args], env: t.env, clearEnv: true, timeoutMs: 60_000 });
    try {
      await waitForHealth(t.paths.health, (h) => h.status === "ok");
      const script = join(t.root, "script.sh");
      await Deno.writeTextFile(
        script,
        [
          "#!/bin/sh",
          'for i in 1 2 3; do echo "step $i: caf\u00e9 \u2603"; sleep 0.6; done',
          "printf 'no newline at the end'",
        ].join("\n") + "\n",
      );
      const cast = join(t.paths.active, "tmux-rec.cast");
      const command =
        `asciinema rec --quiet -c 'sh ${script}' '${cast}'; tmux -L ${socket} wait-for -S done`;
      const started = await tmux([
        "new-session",
        "-d",
        "-s",
        "rec",
        "-x",
        "100",
        "-y",
        "30",
        command,
      ]);
      assert.ok(started.success, started.stderr);
      const finished = await tmux(["wait-for", "done"]);
      assert.ok(finished.success, finished.stderr);
      const original = await Deno.readFile(cast);
      assert.ok(original.length > 100, "asciinema wrote a recording");
      await waitFor(
        async () => (await remoteEnd(t.paths.backupGit, { id: "tmux-rec" })) === original.length,
        {
          what: "the whole recording on the remote",
        },
      );
      assert.deepEqual(await restoreFromRemote(t.paths.backupGit, { id: "tmux-rec" }), original);
    } finally {
      await tmux(["kill-server"]);
      daemon.kill("SIGTERM");
      await daemon.wait();
      await t.cleanup();
    }
  },
});
