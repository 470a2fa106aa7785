/**
 * systemd: the unit from `service print systemd` passes `systemd-analyze
 * verify` with no warnings (compiled and deno-run forms, a home with a space
 * and a `%` in its path); the systemctl driver and start/stop/status against
 * a stand-in `systemctl` first on PATH.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertTools, ignoreWithout, makeTestHome, type TestHome } from "../support/env.ts";
import { makeSystemctlStub, writeFakeBuild } from "../support/service_stubs.ts";
import { DAEMON_TS } from "../support/daemon.ts";
import { run } from "../../lib/sys/mod.ts";
import { homePaths } from "../../lib/sys/mod.ts";
import { chooseBackend, serviceState, startService, stopService } from "../../lib/service/mod.ts";
import { parseShow, Systemctl } from "../../systemd/systemctl.ts";
import { quoteEnvironment, quoteExecArg, UNIT_NAME, userUnitPath } from "../../systemd/unit.ts";

function envSource(t: TestHome) {
  return { get: (key: string) => t.env[key], toObject: () => ({ ...t.env }) };
}

/** A test home whose ASCIINEMA_HOME has a space and a `%` in its path. */
async function oddHome(): Promise<TestHome> {
  const t = await makeTestHome();
  const paths = homePaths(join(t.home, "my recordings 100%", ".asciinema"));
  return { ...t, paths, env: { ...t.env, ASCIINEMA_HOME: paths.home } };
}

async function printUnit(t: TestHome, form: "--compiled" | "--deno-run"): Promise<string> {
  const result = await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, "service", "print", "systemd", form],
    env: t.env,
    clearEnv: true,
    timeoutMs: 60_000,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /\.config\/systemd\/user\/asciinema-chunker\.service/);
  return result.stdout;
}

async function verify(t: TestHome, text: string): Promise<void> {
  const dir = join(t.root, `verify-${crypto.randomUUID()}`);
  const runtime = join(t.root, "xdg-runtime");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.mkdir(runtime, { recursive: true, mode: 0o700 });
  const unit = join(dir, UNIT_NAME);
  await Deno.writeTextFile(unit, text);
  for (const mode of [[], ["--user"]]) {
    const result = await run("systemd-analyze", {
      args: [...mode, "verify", unit],
      env: { XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `verify ${mode.join(" ")}: ${result.stderr}${result.stdout}`);
    assert.equal(
      (result.stdout + result.stderr).trim(),
      "",
      `systemd-analyze ${mode.join(" ")} verify warned:\n${result.stderr}${result.stdout}`,
    );
  }
}

Deno.test({
  name: "service print systemd passes systemd-analyze verify with no warnings, both forms",
  ignore: ignoreWithout(["systemd-analyze"]),
  fn: async () => {
    await assertTools(["systemd-analyze"]);
    const t = await oddHome();
    try {
      // The compiled form's ExecStart must exist for verify: a real executable there.
      await Deno.mkdir(t.paths.bin, { recursive: true });
      await Deno.copyFile("/bin/true", join(t.paths.bin, "asciinema-chunker"));
      await Deno.chmod(join(t.paths.bin, "asciinema-chunker"), 0o755);
      await Deno.mkdir(t.paths.home, { recursive: true });
      const compiled = await printUnit(t, "--compiled");
      assert.match(compiled, /^Restart=always$/m);
      assert.match(compiled, /^RestartSec=10$/m);
      assert.match(compiled, /^WantedBy=default\.target$/m);
      assert.match(compiled, /^WorkingDirectory=.*my recordings 100%%\/\.asciinema$/m);
      assert.ok(
        compiled.includes(
          `ExecStart="${join(t.paths.bin, "asciinema-chunker").replace("%", "%%")}" "run"`,
        ),
        compiled,
      );
      assert.ok(
        compiled.includes(`Environment="ASCIINEMA_HOME=${t.paths.home.replace("%", "%%")}"`),
      );
      assert.ok(compiled.includes(`Environment="HOME=${t.home}"`));
      assert.match(compiled, /^Environment="PATH=[^"]*\/usr\/bin[^"]*"$/m);
      await verify(t, compiled);

      const denoRun = await printUnit(t, "--deno-run");
      const exec = /^ExecStart=(.*)$/m.exec(denoRun)![1];
      assert.match(exec, /"--allow-read=[^"]*my recordings 100%%\/\.asciinema,\/proc[,"]/);
      assert.match(exec, /"--no-prompt"/);
      assert.ok(!/"-A"|--allow-all/.test(exec));
      assert.ok(exec.endsWith(`"${DAEMON_TS}" "run"`), exec);
      await verify(t, denoRun);
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test("ExecStart and Environment quoting: spaces, quotes, backslashes, % and $", () => {
  assert.equal(quoteExecArg("/a b/c"), '"/a b/c"');
  assert.equal(quoteExecArg('say "hi" \\ 5% $HOME'), '"say \\"hi\\" \\\\ 5%% $$HOME"');
  assert.equal(quoteExecArg("/x/$y%z", { executable: true }), '"/x/$y%%z"');
  assert.throws(() => quoteExecArg('/x/"y"', { executable: true }), /quotes and backslashes/);
  assert.throws(() => quoteExecArg("a\nb"), /control character/);
  assert.equal(quoteEnvironment("P", 'a b"c%'), '"P=a b\\"c%%"');
});

Deno.test("systemctl driver: available, daemon-reload, enable --now, show parsed, disable --now, linger hint", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeSystemctlStub(t.root, { unit: UNIT_NAME, exitStatus: 2 });
    const systemctl = new Systemctl({ env: stub.env });
    assert.equal(await systemctl.available(), true);
    const missing = await systemctl.show();
    assert.equal(missing.installed, false);
    assert.equal(missing.loadState, "not-found");
    await systemctl.daemonReload();
    await systemctl.enableNow();
    const running = await systemctl.show();
    assert.deepEqual(
      [running.activeState, running.subState, running.mainPid, running.running, running.installed],
      ["active", "running", 4343, true, true],
    );
    assert.equal(running.unitFileState, "enabled");
    await stub.setState("exited");
    const crashed = await systemctl.show();
    assert.equal(crashed.running, false);
    assert.equal(crashed.execMainStatus, 2);
    assert.equal(crashed.subState, "auto-restart");
    assert.equal(crashed.restarts, 3);
    await systemctl.disableNow();
    assert.equal((await systemctl.show()).unitFileState, "disabled");
    assert.match((await systemctl.lingerHint("me")) ?? "", /loginctl enable-linger me/);
    const calls = await stub.calls();
    assert.deepEqual(calls.slice(0, 5), [
      ["--user", "show-environment"],
      [
        "--user",
        "show",
        UNIT_NAME,
        "--property=LoadState,ActiveState,SubState,MainPID,ExecMainStatus,ExecMainCode," +
        "UnitFileState,Result,NRestarts,FragmentPath",
      ],
      ["--user", "daemon-reload"],
      ["--user", "enable", "--now", UNIT_NAME],
      calls[4],
    ]);
    assert.ok(calls.some((c) => c.join(" ") === `--user disable --now ${UNIT_NAME}`));
    assert.ok(calls.some((c) => c.join(" ") === "show-user me --property=Linger"));
    const lingering = await makeSystemctlStub(join(t.root, "l"), { unit: UNIT_NAME, linger: true });
    assert.equal(await new Systemctl({ env: lingering.env }).lingerHint("me"), undefined);
    assert.equal(parseShow("MainPID=0\nActiveState=active\n").mainPid, undefined);
  } finally {
    await t.cleanup();
  }
});

Deno.test("Linux: systemd is chosen only when a user manager answers", async () => {
  const t = await makeTestHome();
  try {
    const yes = await makeSystemctlStub(join(t.root, "yes"), { unit: UNIT_NAME });
    const no = await makeSystemctlStub(join(t.root, "no"), { unit: UNIT_NAME, available: false });
    const base = { paths: t.paths, env: envSource(t) };
    assert.equal(
      await chooseBackend({ ...base, os: "linux", systemctl: new Systemctl({ env: yes.env }) }),
      "systemd",
    );
    assert.equal(
      await chooseBackend({ ...base, os: "linux", systemctl: new Systemctl({ env: no.env }) }),
      "detached",
    );
    assert.equal(await chooseBackend({ ...base, os: "darwin" }), "launchd");
    assert.equal(await chooseBackend({ ...base, os: "freebsd" }), "detached");
  } finally {
    await t.cleanup();
  }
});

Deno.test("start installs the unit and enables it; again says already running; stop disables; status follows", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeSystemctlStub(t.root, { unit: UNIT_NAME });
    const lines: string[] = [];
    const options = {
      paths: t.paths,
      os: "linux",
      env: envSource(t),
      systemctl: new Systemctl({ env: stub.env, loginctl: join(stub.binDir, "loginctl") }),
      compile: "deno-run" as const,
      say: (line: string) => lines.push(line),
    };
    assert.equal(await serviceState(options), undefined);
    const started = await startService(options);
    assert.equal(started.status, "started", JSON.stringify(started));
    assert.equal(started.backend, "systemd");
    assert.equal(started.pid, 4343);
    const unitPath = userUnitPath(t.home);
    const text = await Deno.readTextFile(unitPath);
    assert.match(text, /^Environment="ASCIINEMA_SERVICE_MANAGER=systemd"$/m);
    assert.ok(lines.some((line) => /loginctl enable-linger/.test(line)), lines.join("\n"));
    const verbs = (await stub.calls()).filter((c) => c[0] === "--user").map((c) => c[1])
      .filter((v) => v !== "show" && v !== "show-environment");
    assert.deepEqual(verbs, ["daemon-reload", "enable"]);

    const again = await startService(options);
    assert.equal(again.status, "already-running");
    const state = await serviceState(options);
    assert.deepEqual(
      { ...state, detail: undefined },
      { manager: "systemd", installed: true, running: true, pid: 4343, detail: undefined },
    );

    const stopped = await stopService(options);
    assert.deepEqual(stopped.problems, []);
    assert.equal(stopped.wasRunning, true);
    assert.ok(
      (await stub.calls()).some((c) => c.join(" ") === `--user disable --now ${UNIT_NAME}`),
    );
    const after = await serviceState(options);
    assert.equal(after?.running, false);
    assert.match(after?.detail ?? "", /inactive\/dead/);
    // The unit file stays; it is disabled, so it does not come back at the next login.
    await Deno.stat(unitPath);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a rebuilt binary is restarted (systemctl --user restart) although the unit is unchanged", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeSystemctlStub(t.root, { unit: UNIT_NAME, linger: true });
    const options = {
      paths: t.paths,
      os: "linux",
      env: envSource(t),
      systemctl: new Systemctl({ env: stub.env }),
      compile: "compiled" as const,
      timeoutMs: 2_000,
    };
    const build = (compiledAt: string) => writeFakeBuild(t.paths, compiledAt);
    await build("2026-01-01T00:00:00.000Z");
    assert.equal((await startService(options)).status, "started");
    assert.equal((await startService(options)).status, "already-running");
    const before = (await stub.calls()).length;
    await build("2026-02-01T00:00:00.000Z");
    const outcome = await startService(options);
    assert.equal(outcome.status, "restarted", JSON.stringify(outcome));
    const verbs = (await stub.calls()).slice(before).map((c) => c[1]);
    assert.ok(verbs.includes("restart"), verbs.join(", "));
    assert.ok(!verbs.includes("enable"), "the unit was not reinstalled");
  } finally {
    await t.cleanup();
  }
});
