/**
 * `play` with the real asciinema (Debian's 2.x) in tmux (issue 16,
 * acceptance 4): `--follow` shows output appended on the recording machine
 * within seconds, while the daemon pushes it; a finished v3 recording plays
 * (converted to v2 for asciinema 2.x); the temporary file is private and
 * gone afterwards; without asciinema the error says how to install it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertTools, ignoreWithout, type TestHome, waitFor } from "../support/env.ts";
import {
  DAEMON_TS,
  FAST_SETTINGS,
  remoteEnd,
  waitForHealth,
  withDaemon,
} from "../support/daemon.ts";
import { V3_HEADER } from "../support/recording.ts";
import { v1Cast } from "../support/casts.ts";
import { run } from "../../lib/sys/exec.ts";
import { shellQuote } from "../../lib/sys/format.ts";

const TOOLS = ["asciinema", "tmux", "git", "zstd"];

/** A tmux server of its own, running `command` in a 100x30 pane. */
function tmuxRig(t: TestHome) {
  const socket = `chunker-play-${Deno.pid}-${Date.now()}`;
  const tmux = (args: string[]) =>
    run("tmux", { args: ["-L", socket, ...args], env: t.env, clearEnv: true, timeoutMs: 60_000 });
  return {
    tmux,
    start: (command: string) =>
      tmux(["new-session", "-d", "-s", "play", "-x", "100", "-y", "30", command]),
    screen: async () => (await tmux(["capture-pane", "-p", "-t", "play"])).stdout,
    stop: () => tmux(["kill-server"]),
  };
}

/** The shell command that runs `daemon.ts <args>`, then says how it exited and waits. */
function playCommand(t: TestHome, tmp: string, args: string[]): string {
  const env = Object.entries({ ...t.env, TMPDIR: tmp })
    .map(([key, value]) => `${key}=${shellQuote(value)}`).join(" ");
  const deno = shellQuote(Deno.execPath());
  return `env -i ${env} ${deno} run -A --no-prompt ${shellQuote(DAEMON_TS)} ${
    args.map(shellQuote).join(" ")
  }; echo "EXITED $?"; sleep 120`;
}

async function entries(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name);
}

Deno.test({
  name:
    "play --follow shows output appended on the recording machine within seconds (real asciinema in tmux)",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withDaemon(FAST_SETTINGS, async ({ t }) => {
      await waitForHealth(t.paths.health, (h) => h.status === "ok");
      const cast = join(t.paths.active, "live.cast");
      const event = (data: string) => JSON.stringify([Date.now() / 1000 - start, "o", data]) + "\n";
      const start = Date.now() / 1000;
      await Deno.writeTextFile(
        cast,
        '{"version": 2, "width": 100, "height": 30}\n' + event("first part MARK-ONE\r\n"),
      );
      const pushed = async () => (await remoteEnd(t.paths.backupGit, { id: "live" }));
      await waitFor(async () => (await pushed()) === (await Deno.stat(cast)).size, {
        what: "the first part on the branch",
      });
      const tmp = join(t.root, "tmp");
      await Deno.mkdir(tmp);
      const rig = tmuxRig(t);
      try {
        const started = await rig.start(
          playCommand(t, tmp, ["play", "--follow", "--interval", "0.5", "live"]),
        );
        assert.ok(started.success, started.stderr);
        await waitFor(async () => (await rig.screen()).includes("MARK-ONE"), {
          what: "what the branch held, played",
        });
        // While it plays: one private temporary file.
        const dir = (await entries(tmp)).find((name) => name.startsWith("asciinema-play-"));
        assert.ok(dir, "play's private folder");
        const [file] = (await entries(join(tmp, dir))).filter((name) => name.endsWith(".cast"));
        assert.equal((await Deno.stat(join(tmp, dir))).mode! & 0o777, 0o700);
        assert.equal((await Deno.stat(join(tmp, dir, file))).mode! & 0o777, 0o600);

        // The recording machine writes more; the daemon pushes it; the player shows it.
        await Deno.writeTextFile(cast, event("appended later MARK-TWO\r\n"), { append: true });
        await waitFor(async () => (await rig.screen()).includes("MARK-TWO"), {
          what: "the appended output in the player",
          timeoutMs: 20_000,
        });
        assert.ok(!(await rig.screen()).includes("EXITED"), "still following");

        // The recording ends: the player plays the rest and exits; the temporary file is gone.
        await Deno.writeTextFile(cast, event("the end MARK-THREE\r\n"), { append: true });
        await Deno.writeTextFile(
          join(t.paths.active, "live.json"),
          JSON.stringify({ ended: new Date().toISOString() }),
        );
        await waitFor(async () => (await rig.screen()).includes("EXITED 0"), {
          what: "play --follow ending with the recording",
          timeoutMs: 30_000,
        });
        const screen = await rig.screen();
        assert.ok(screen.indexOf("MARK-TWO") < screen.indexOf("MARK-THREE"), screen);
        assert.deepEqual(await entries(tmp), []);
      } finally {
        await rig.stop();
      }
    });
  },
});

Deno.test({
  name:
    "play plays a finished v3 (and v1) recording with asciinema 2.x; without asciinema it says how to install it",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withDaemon(FAST_SETTINGS, async ({ t }) => {
      await waitForHealth(t.paths.health, (h) => h.status === "ok");
      await Deno.writeTextFile(
        join(t.paths.active, "done3.cast"),
        V3_HEADER + '[0.2, "o", "played from v3 MARK-V3\\r\\n"]\n[0.1, "x", "0"]\n',
      );
      await waitFor(async () => {
        try {
          await Deno.stat(join(t.paths.done, "done3.cast"));
          return true;
        } catch {
          return false;
        }
      }, { what: "done3 finished" });
      const tmp = join(t.root, "tmp");
      await Deno.mkdir(tmp);
      const rig = tmuxRig(t);
      try {
        assert.ok((await rig.start(playCommand(t, tmp, ["play", "done3"]))).success);
        await waitFor(async () => (await rig.screen()).includes("EXITED 0"), {
          what: "play to end",
        });
        assert.match(await rig.screen(), /played from v3 MARK-V3/);
        assert.deepEqual(await entries(tmp), []);
      } finally {
        await rig.stop();
      }
      // asciicast v1 (asciinema 1.x), backed up as it is, plays too (issue 27).
      await Deno.writeTextFile(
        join(t.paths.active, "done1.cast"),
        v1Cast([[0.2, "played from v1 MARK-V1\r\n"]], { cols: 100, rows: 30 }),
      );
      await Deno.writeTextFile(
        join(t.paths.active, "done1.json"),
        JSON.stringify({ ended: new Date().toISOString() }),
      );
      await waitFor(async () => {
        try {
          await Deno.stat(join(t.paths.done, "done1.cast"));
          return true;
        } catch {
          return false;
        }
      }, { what: "done1 finished" });
      const v1Rig = tmuxRig(t);
      try {
        assert.ok((await v1Rig.start(playCommand(t, tmp, ["play", "done1"]))).success);
        await waitFor(async () => (await v1Rig.screen()).includes("EXITED 0"), {
          what: "play of v1 to end",
        });
        assert.match(await v1Rig.screen(), /played from v1 MARK-V1/);
        assert.deepEqual(await entries(tmp), []);
      } finally {
        await v1Rig.stop();
      }
      const missing = await run(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", DAEMON_TS, "play", "done3"],
        env: { ...t.env, PATH: join(t.root, "empty-path") },
        clearEnv: true,
        timeoutMs: 60_000,
      });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /asciinema is not installed.*sudo apt install asciinema/s);
    });
  },
});
