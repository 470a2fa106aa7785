/**
 * Issue 23, low items: core dumps are off (a crash wrote a core file holding
 * the token), and the crash-test hook is never part of what is installed.
 * The service definitions carry the limit; the daemon lowers its own on
 * Linux (`prlimit`), so a daemon started from a shell that allows cores has
 * none either.
 */
import assert from "node:assert/strict";
import * as plist from "plist";
import { FAILPOINT_FLAG } from "../../lib/engine/mod.ts";
import { detachedArgv, REDIRECT_SCRIPT, serviceDefinition } from "../../lib/service/mod.ts";
import { DAEMON_TS, FAST_SETTINGS, waitForHealth, writeConfig } from "../support/daemon.ts";
import { ignoreWithout, makeTestHome } from "../support/env.ts";
import { runDaemonCli } from "../support/fake_branch.ts";

Deno.test("the systemd unit says LimitCORE=0, the LaunchAgent Core 0 (soft and hard), detached mode ulimit -c 0; none passes the failpoint flag", async () => {
  const t = await makeTestHome();
  try {
    const unit = await runDaemonCli(["service", "print", "systemd"], { env: t.env, cwd: t.root });
    assert.equal(unit.code, 0, unit.stderr);
    assert.match(unit.stdout, /^\[Service\][\s\S]*^LimitCORE=0$/m);
    const agent = await runDaemonCli(["service", "print", "launchd"], { env: t.env, cwd: t.root });
    assert.equal(agent.code, 0, agent.stderr);
    const parsed = plist.parse(agent.stdout) as Record<string, Record<string, number>>;
    assert.deepEqual(parsed.SoftResourceLimits, { Core: 0 });
    assert.deepEqual(parsed.HardResourceLimits, { Core: 0 });
    assert.match(REDIRECT_SCRIPT, /^ulimit -c 0\b/);
    for (const backend of ["systemd", "launchd"] as const) {
      for (const compile of ["never", "compiled"] as const) {
        const definition = await serviceDefinition(backend, { paths: t.paths, compile });
        assert.ok(!definition.text.includes(FAILPOINT_FLAG), `${backend} ${compile}`);
        assert.ok(!detachedArgv(definition.spec).includes(FAILPOINT_FLAG));
      }
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test({
  name:
    "on Linux the running daemon's core limit is 0, soft and hard, even when started from a shell that allows core files",
  ignore: Deno.build.os !== "linux" || ignoreWithout(["prlimit", "sh"]),
  async fn() {
    const t = await makeTestHome();
    await writeConfig(t.paths.home, { ...FAST_SETTINGS });
    // The shell raises the soft limit as far as it may; the daemon must bring both to 0.
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'ulimit -S -c "$(ulimit -H -c)" 2>/dev/null; exec "$@"',
        "sh",
        Deno.execPath(),
        "run",
        "-A",
        "--no-prompt",
        DAEMON_TS,
        "run",
      ],
      env: t.env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    try {
      await waitForHealth(t.paths.health, (h) => h.pid === child.pid, { what: "the daemon up" });
      const limits = await Deno.readTextFile(`/proc/${child.pid}/limits`);
      const core = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(limits);
      assert.ok(core, limits);
      assert.deepEqual([core[1], core[2]], ["0", "0"], limits);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await stderr;
      await t.cleanup();
    }
  },
});
