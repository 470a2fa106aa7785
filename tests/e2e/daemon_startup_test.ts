/**
 * The daemon's start under a service manager: stderr carries warnings and
 * errors only and is cut when it has grown; an invalid config.json or
 * another daemon keeps it waiting (health.json says why) instead of exiting
 * into launchd's KeepAlive / systemd's Restart=always crash loop; in a
 * terminal it still exits 2 or 3 at once.
 */
import assert from "node:assert/strict";
import { makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import { DAEMON_TS } from "../support/daemon.ts";
import { prepareDaemon } from "../../lib/service/mod.ts";
import { readHealth } from "../../lib/status/mod.ts";
import { shutdownLogging } from "../../lib/sys/mod.ts";
import { inspectPidfile, releasePidfile } from "../../lib/service/mod.ts";

/** Undoes a prepareDaemon in this process: pidfile, logging, the test home. */
async function endPrepared(t: TestHome): Promise<void> {
  await releasePidfile(t.paths);
  await shutdownLogging();
  await t.cleanup();
}

Deno.test("invalid config.json under launchd: the daemon waits, health.json says why, and it starts once fixed", async () => {
  const t = await makeTestHome();
  const lines: string[] = [];
  try {
    await Deno.mkdir(t.paths.home, { recursive: true });
    await Deno.writeTextFile(t.paths.config, JSON.stringify({ zstd_level: 99 }));
    // In a terminal: exit 2 at once, as before.
    const foreground = await prepareDaemon(t.paths, {
      mode: "foreground",
      consoleWrite: (text) => lines.push(text),
    });
    assert.deepEqual(foreground, { ok: false, code: 2 });
    assert.equal((await inspectPidfile(t.paths)).state, "absent");

    const controller = new AbortController();
    let settled = false;
    const waiting = prepareDaemon(t.paths, {
      mode: "launchd",
      retryMs: 50,
      signal: controller.signal,
      consoleWrite: (text) => lines.push(text),
    }).finally(() => settled = true);
    await waitFor(async () => (await readHealth(t.paths.health))?.status === "error");
    const health = await readHealth(t.paths.health);
    assert.match(health!.message, /zstd_level/);
    assert.match(health!.message, /re-read every/);
    assert.equal(health!.pid, Deno.pid);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(settled, false, "still up, not exited into a restart loop");
    // Reported once, not on every re-read.
    assert.equal(lines.filter((line) => /waiting for a fix/.test(line)).length, 1, lines.join(""));
    await Deno.writeTextFile(t.paths.config, JSON.stringify({ zstd_level: 5 }));
    const prepared = await waiting;
    assert.equal(prepared.ok, true);
    assert.equal(prepared.ok && prepared.settings.zstd_level, 5);
    assert.equal((await inspectPidfile(t.paths)).state, "running");
  } finally {
    await endPrepared(t);
  }
});

Deno.test("another daemon holds the pidfile: under systemd wait and take over; in a terminal exit 3", async () => {
  const t = await makeTestHome();
  await Deno.mkdir(t.paths.run, { recursive: true });
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { claimPidfile } from ${
        JSON.stringify(new URL("../../lib/service/pidfile.ts", import.meta.url).href)
      };
       import { homePaths } from ${
        JSON.stringify(new URL("../../lib/sys/paths.ts", import.meta.url).href)
      };
       const claim = await claimPidfile(homePaths(${JSON.stringify(t.paths.home)}));
       console.log(claim.ok ? "claimed" : "no");
       setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /claimed/);
    const terminal = await prepareDaemon(t.paths, { mode: "foreground", consoleWrite: () => {} });
    assert.deepEqual(terminal, { ok: false, code: 3 });

    let settled = false;
    const waiting = prepareDaemon(t.paths, {
      mode: "systemd",
      retryMs: 50,
      signal: new AbortController().signal,
      consoleWrite: () => {},
    }).finally(() => settled = true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(settled, false, "waits while the other daemon runs");
    holder.kill("SIGKILL");
    await holder.status;
    reader.releaseLock();
    await holder.stdout.cancel().catch(() => {});
    const prepared = await waiting;
    assert.equal(prepared.ok, true);
    const state = await inspectPidfile(t.paths);
    assert.equal(state.state === "running" && state.pid, Deno.pid);
  } finally {
    try {
      holder.kill("SIGKILL");
      await holder.status;
    } catch {
      // gone already
    }
    await endPrepared(t);
  }
});

Deno.test("daemon.ts run under launchd with an invalid config.json stays up (no exit 2) and stops on SIGTERM", async () => {
  const t = await makeTestHome();
  try {
    await Deno.mkdir(t.paths.home, { recursive: true });
    await Deno.writeTextFile(t.paths.config, "{ not json");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", DAEMON_TS, "run"],
      env: { ...t.env, ASCIINEMA_SERVICE_MANAGER: "launchd" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    await waitFor(async () => (await readHealth(t.paths.health))?.status === "error", {
      timeoutMs: 60_000,
      what: "health.json status error",
    });
    assert.match((await readHealth(t.paths.health))!.message, /not valid JSON/);
    child.kill("SIGTERM");
    const result = await output;
    assert.equal(result.code, 0);
    const stderr = new TextDecoder().decode(result.stderr);
    assert.match(stderr, /not valid JSON/);
    assert.equal(stderr.split("\n").filter((line) => /\bINFO\b/i.test(line)).length, 0, stderr);
    assert.equal((await readHealth(t.paths.health))!.status, "stopped");
  } finally {
    await t.cleanup();
  }
});
