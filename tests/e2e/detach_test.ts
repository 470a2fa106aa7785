/**
 * Detached mode for real: `daemon.ts start --detach` inside a tmux session,
 * the session is killed (the terminal closes), the daemon keeps running and
 * backing up; `daemon.ts stop` ends it within 3 s with health `stopped`.
 * Also: compile without its runtime falls back to `deno run` with the
 * narrow flags and says so; a second start says it is already running; a
 * killed daemon leaves a stale pidfile that stop and status handle.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertTools,
  ignoreWithout,
  makeTestHome,
  type TestHome,
  waitFor,
} from "../support/env.ts";
import { DAEMON_TS, remoteEnd, waitForHealth, writeConfig } from "../support/daemon.ts";
import { pidAlive } from "../../lib/sys/mod.ts";
import { run } from "../../lib/sys/mod.ts";
import { permissionsForHome } from "../../lib/service/mod.ts";
import { inspectPidfile } from "../../lib/service/mod.ts";
import { serviceState } from "../../lib/service/mod.ts";

const FAST = { idle_threshold: 0.3, scan_interval_seconds: 1, heartbeat_seconds: 1 };

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

function daemonCli(t: TestHome, args: string[], env: Record<string, string> = {}) {
  return run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, ...args],
    env: { ...t.env, ...env },
    clearEnv: true,
    timeoutMs: 120_000,
  });
}

async function appendBurst(path: string, tag: string): Promise<number> {
  const file = await Deno.open(path, { create: true, append: true, mode: 0o600 });
  try {
    if ((await file.stat()).size === 0) {
      await file.write(new TextEncoder().encode('{"version": 2, "width": 80, "height": 24}\n'));
    }
    let text = "";
    for (let i = 0; i < 10; i++) text += JSON.stringify([i / 10, "o", `${tag} ${i}\r\n`]) + "\n";
    await file.write(new TextEncoder().encode(text));
    return (await file.stat()).size;
  } finally {
    file.close();
  }
}

async function cmdline(pid: number): Promise<string[]> {
  return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0").filter(Boolean);
}

async function sessionId(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "start --detach in tmux survives the session being killed, keeps backing up; stop ends it within 3 s",
  ignore: ignoreWithout(["tmux", "git", "zstd"]) || Deno.build.os !== "linux",
  fn: async () => {
    await assertTools(["tmux", "git", "zstd"]);
    const t = await makeTestHome();
    const socket = join(t.root, "tmux.sock");
    const tmux = (args: string[]) =>
      run("tmux", {
        args: ["-S", socket, ...args],
        env: { ...t.env, TERM: "xterm-256color" },
        clearEnv: true,
        timeoutMs: 20_000,
      });
    let pid = 0;
    try {
      await writeConfig(t.paths.home, FAST);
      // The pane runs `start --detach` (compile is attempted and cannot get
      // its runtime), then stays open like an interactive terminal. Its exit
      // status appears whole (renamed into place): `echo >` creates the file
      // before it writes, and the test could read it empty.
      const out = join(t.root, "start.out");
      const rc = join(t.root, "start.rc");
      const exports = Object.entries({ ...t.env, DENORT_BIN: join(t.root, "no-denort") })
        .map(([key, value]) => `export ${key}=${shellQuote(value)}`).join("\n");
      await Deno.writeTextFile(
        join(t.root, "pane.sh"),
        `${exports}\n${shellQuote(Deno.execPath())} run -A --no-prompt ${
          shellQuote(DAEMON_TS)
        } start --detach >${shellQuote(out)} 2>&1\necho $? >${shellQuote(`${rc}.tmp`)}\nmv ${
          shellQuote(`${rc}.tmp`)
        } ${shellQuote(rc)}\nexec sleep 600\n`,
      );
      const created = await tmux([
        "new-session",
        "-d",
        "-s",
        "detach",
        "-x",
        "120",
        "-y",
        "30",
        `sh ${shellQuote(join(t.root, "pane.sh"))}`,
      ]);
      assert.equal(created.code, 0, created.stderr);
      await waitFor(() => exists(rc), { timeoutMs: 120_000, what: "start --detach to finish" });
      const output = await Deno.readTextFile(out);
      assert.equal((await Deno.readTextFile(rc)).trim(), "0", output);
      assert.match(output, /Started the daemon detached \(pid \d+\)/);
      assert.match(output, /nothing restarts it if it crashes/);
      assert.match(output, /Falling back to `deno run` with the same permissions/);
      assert.match(output, /DENORT_BIN/);

      const state = await inspectPidfile(t.paths);
      assert.equal(state.state, "running");
      pid = state.state === "running" ? state.pid : 0;
      assert.ok(pid > 0);
      assert.match(output, new RegExp(`pid ${pid}`));
      // Narrow permissions, never -A; its own session, not the pane's.
      const argv = await cmdline(pid);
      const { flags } = await permissionsForHome(t.paths.home);
      for (const flag of flags) {
        assert.ok(argv.includes(flag), `${flag} missing: ${argv.join(" ")}`);
      }
      assert.ok(!argv.includes("-A") && !argv.includes("--allow-all"), argv.join(" "));
      assert.deepEqual(argv.slice(-2), ["service", "run-detached"]);
      assert.equal(await sessionId(pid), pid, "the daemon leads its own session");
      const panePid = Number((await tmux(["display", "-p", "-t", "detach", "#{pane_pid}"])).stdout);
      assert.notEqual(await sessionId(panePid), await sessionId(pid));
      await waitForHealth(t.paths.health, (h) => h.pid === pid && h.status === "ok");
      assert.deepEqual(await serviceState({ paths: t.paths, os: "freebsd" }), {
        manager: "detached",
        installed: true,
        running: true,
        pid,
        detail: "detached: not restarted after a crash",
      });

      // A second start says so and changes nothing.
      const again = await daemonCli(t, ["start", "--detach", "--no-compile"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`already running \\(detached, pid ${pid}\\)`));

      // The terminal closes.
      const killed = await tmux(["kill-server"]);
      assert.equal(killed.code, 0, killed.stderr);
      await waitFor(async () => !(await pidAlive(panePid)), { what: "the pane's shell to end" });
      assert.ok(await pidAlive(pid), "the daemon survived the terminal");

      // It keeps backing up.
      const cast = join(t.paths.active, "after-close.cast");
      const size = await appendBurst(cast, "after the terminal closed");
      await waitFor(
        async () => (await remoteEnd(t.paths.backupGit, { id: "after-close" })) === size,
        { timeoutMs: 30_000, what: "a chunk in backup.git after the terminal closed" },
      );

      // stop: SIGTERM through the pidfile; it waits at most 3 s and exits 0 only if it stopped.
      const stopped = await daemonCli(t, ["stop"]);
      assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);
      assert.match(stopped.stdout, new RegExp(`Stopped the daemon \\(pid ${pid}\\)`));
      assert.equal(await pidAlive(pid), false);
      const health = JSON.parse(await Deno.readTextFile(t.paths.health));
      assert.equal(health.status, "stopped");
      assert.deepEqual(await inspectPidfile(t.paths), { state: "absent" });
      assert.equal(await serviceState({ paths: t.paths, os: "freebsd" }), undefined);
      const log = await Deno.readTextFile(join(t.paths.logs, "detached-stderr.log"));
      assert.ok(!/Requires \w+ access|NotCapable/.test(log), log);
      pid = 0;
    } finally {
      await tmux(["kill-server"]).catch(() => {});
      if (pid && await pidAlive(pid)) Deno.kill(pid, "SIGKILL");
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "a killed detached daemon is not restarted; status and stop report the stale pidfile",
  ignore: ignoreWithout(["git", "zstd"]) || Deno.build.os !== "linux",
  fn: async () => {
    await assertTools(["git", "zstd"]);
    const t = await makeTestHome();
    let pid = 0;
    try {
      await writeConfig(t.paths.home, FAST);
      const started = await daemonCli(t, ["start", "--detach", "--no-compile"]);
      assert.equal(started.code, 0, started.stdout + started.stderr);
      assert.match(started.stdout, /the service runs `deno run` with the daemon's permissions/);
      const state = await inspectPidfile(t.paths);
      assert.equal(state.state, "running");
      pid = state.state === "running" ? state.pid : 0;
      await waitForHealth(t.paths.health, (h) => h.pid === pid && h.status === "ok");
      Deno.kill(pid, "SIGKILL");
      // The kernel drops the lock once the last thread has exited.
      await waitFor(async () => (await inspectPidfile(t.paths)).state === "stale", {
        what: "the killed daemon's pidfile to be stale",
      });
      assert.equal(await pidAlive(pid), false);
      const seen = await serviceState({ paths: t.paths, os: "freebsd" });
      assert.equal(seen?.running, false);
      assert.equal(seen?.pid, pid);
      assert.match(seen?.detail ?? "", /not restarted/);
      const stopped = await daemonCli(t, ["stop"]);
      assert.equal(stopped.code, 0, stopped.stdout + stopped.stderr);
      assert.match(stopped.stdout, /was not running any more.*stale pidfile/);
      assert.deepEqual(await inspectPidfile(t.paths), { state: "absent" });
      const nothing = await daemonCli(t, ["stop"]);
      assert.equal(nothing.code, 0);
      assert.match(nothing.stdout, /was not running/);
      pid = 0;
    } finally {
      if (pid && await pidAlive(pid)) Deno.kill(pid, "SIGKILL");
      await t.cleanup();
    }
  },
});
