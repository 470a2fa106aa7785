/**
 * launchd: the LaunchAgent from `service print launchd` parses back (plist
 * package) with every key, compiled and deno-run forms; the launchctl driver
 * and start/stop/status against a stand-in `launchctl` first on PATH.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as plist from "plist";
import { makeTestHome, type TestHome } from "./support/env.ts";
import { makeLaunchctlStub } from "./support/service_stubs.ts";
import { DAEMON_TS } from "./support/daemon.ts";
import { run } from "../lib/exec.ts";
import { daemonPermissionFlags } from "../lib/permissions.ts";
import { DENO_CONFIG } from "../lib/service_program.ts";
import { serviceState, startService, stopService } from "../lib/service.ts";
import { Launchctl, parseLaunchctlPrint } from "../launchd/launchctl.ts";
import { isLegacyPlist, launchAgentPath, LAUNCHD_LABEL } from "../launchd/plist.ts";

const UID = 501;

function envSource(t: TestHome) {
  return { get: (key: string) => t.env[key], toObject: () => ({ ...t.env }) };
}

async function printLaunchd(t: TestHome, form: "--compiled" | "--deno-run") {
  const result = await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, "service", "print", "launchd", form],
    env: t.env,
    clearEnv: true,
    timeoutMs: 60_000,
  });
  assert.equal(result.code, 0, result.stderr);
  return result;
}

function checkCommonKeys(t: TestHome, agent: Record<string, unknown>) {
  assert.equal(agent.Label, "com.cc-skills.asciinema-chunker");
  assert.equal(agent.RunAtLoad, true);
  assert.equal(agent.KeepAlive, true);
  assert.equal(agent.ThrottleInterval, 10);
  assert.equal(agent.ProcessType, "Background");
  assert.equal(agent.WorkingDirectory, t.paths.home);
  assert.equal(agent.StandardOutPath, join(t.paths.logs, "launchd-stdout.log"));
  assert.equal(agent.StandardErrorPath, join(t.paths.logs, "launchd-stderr.log"));
  const env = agent.EnvironmentVariables as Record<string, string>;
  assert.equal(env.HOME, t.home);
  assert.equal(env.USER, t.env.USER);
  assert.equal(env.ASCIINEMA_HOME, t.paths.home);
  const path = env.PATH.split(":");
  for (const dir of ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin", "/bin"]) {
    assert.ok(path.includes(dir), `PATH lacks ${dir}: ${env.PATH}`);
  }
  // No secret or unexpected variable travels in the plist.
  for (const name of Object.keys(env)) {
    assert.match(name, /^(HOME|USER|PATH|ASCIINEMA_HOME|ASCIINEMA_SERVICE_MANAGER|DENO_\w+)$/);
  }
}

Deno.test("service print launchd: both forms parse back with every key", async () => {
  const t = await makeTestHome();
  try {
    // A notify host in config.json joins --allow-net.
    await Deno.mkdir(t.paths.home, { recursive: true });
    await Deno.writeTextFile(
      t.paths.config,
      JSON.stringify({ notify: { ntfy: { url: "https://ntfy.example.org/topic" } } }),
    );
    const compiled = await printLaunchd(t, "--compiled");
    assert.match(
      compiled.stderr,
      /Library\/LaunchAgents\/com\.cc-skills\.asciinema-chunker\.plist/,
    );
    const a = plist.parse(compiled.stdout) as Record<string, unknown>;
    checkCommonKeys(t, a);
    assert.deepEqual(a.ProgramArguments, [join(t.paths.bin, "asciinema-chunker"), "run"]);

    const denoRun = await printLaunchd(t, "--deno-run");
    const b = plist.parse(denoRun.stdout) as Record<string, unknown>;
    checkCommonKeys(t, b);
    const args = b.ProgramArguments as string[];
    const flags = daemonPermissionFlags({
      home: t.paths.home,
      os: "darwin",
      settings: { notify: { ntfy: { url: "https://ntfy.example.org/topic" } } } as never,
    });
    assert.ok(args[0].startsWith("/") && args[0].endsWith("deno"), args[0]);
    assert.deepEqual(args.slice(1), ["run", ...flags, "--config", DENO_CONFIG, DAEMON_TS, "run"]);
    const allowRun = flags.find((flag) => flag.startsWith("--allow-run="));
    assert.ok(
      !allowRun || allowRun.slice(12).split(",").every((path) => path.startsWith("/")),
      flags.join(" "),
    );
    assert.ok(flags.includes("--allow-net=api.pushover.net,ntfy.example.org"), flags.join(" "));
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"));
    assert.ok(!isLegacyPlist(denoRun.stdout));
  } finally {
    await t.cleanup();
  }
});

Deno.test("launchctl print is parsed for running, exited with a code, and not loaded", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID, exitCode: 78 });
    const launchctl = new Launchctl({ uid: UID, env: stub.env });
    assert.deepEqual(await launchctl.print(), { loaded: false, running: false });
    await stub.setState("running");
    const running = await launchctl.print();
    assert.equal(running.state, "running");
    assert.equal(running.running, true);
    assert.equal(running.pid, 4242);
    assert.equal(running.lastExit, "(never exited)");
    assert.equal(running.lastExitCode, undefined);
    assert.equal(running.path, `/Users/me/Library/LaunchAgents/${LAUNCHD_LABEL}.plist`);
    await stub.setState("exited");
    const exited = await launchctl.print();
    assert.equal(exited.loaded, true);
    assert.equal(exited.running, false, "a loaded but dead job is not running");
    assert.equal(exited.state, "not running");
    assert.equal(exited.pid, undefined);
    assert.equal(exited.lastExitCode, 78);
    assert.equal(exited.runs, 4);
    const calls = await stub.calls();
    assert.deepEqual(calls.filter((c) => c[0] === "print"), [
      ["print", `gui/${UID}/${LAUNCHD_LABEL}`],
      ["print", `gui/${UID}/${LAUNCHD_LABEL}`],
      ["print", `gui/${UID}/${LAUNCHD_LABEL}`],
    ]);
    // A killed job: the signal is kept in the description.
    const killed = parseLaunchctlPrint(
      `gui/1/x = {\n\tstate = not running\n\tlast exit code = (never exited)\n` +
        `\tlast terminating signal = Killed: 9\n}\n`,
    );
    assert.equal(killed.running, false);
    assert.match(killed.lastExit ?? "", /Killed: 9/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("start bootstraps the agent, says when already running; stop boots out and disables; status sees it", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID });
    const launchctl = new Launchctl({ uid: UID, env: stub.env });
    const lines: string[] = [];
    const options = {
      paths: t.paths,
      os: "darwin",
      env: envSource(t),
      launchctl,
      compile: "deno-run" as const,
      say: (line: string) => lines.push(line),
    };
    assert.equal(await serviceState(options), undefined, "nothing installed");
    const started = await startService(options);
    assert.equal(started.status, "started", JSON.stringify(started));
    assert.equal(started.backend, "launchd");
    assert.equal(started.pid, 4242);
    const plistPath = launchAgentPath(t.home);
    const agent = plist.parse(await Deno.readTextFile(plistPath)) as Record<string, unknown>;
    assert.equal(agent.Label, LAUNCHD_LABEL);
    let calls = await stub.calls();
    const verbs = calls.map((c) => c[0]).filter((v) => v !== "print" && v !== "help");
    assert.deepEqual(verbs, ["enable", "bootstrap"]);
    assert.deepEqual(calls.find((c) => c[0] === "bootstrap"), [
      "bootstrap",
      `gui/${UID}`,
      plistPath,
    ]);
    assert.deepEqual(calls.find((c) => c[0] === "enable"), [
      "enable",
      `gui/${UID}/${LAUNCHD_LABEL}`,
    ]);

    const again = await startService(options);
    assert.equal(again.status, "already-running");
    assert.equal(again.pid, 4242);

    assert.deepEqual(await serviceState(options), {
      manager: "launchd",
      installed: true,
      running: true,
      pid: 4242,
      detail: "state running, last exit (never exited)",
    });
    await stub.setState("exited");
    const dead = await serviceState(options);
    assert.equal(dead?.running, false);
    assert.match(dead?.detail ?? "", /last exit 1/);
    await stub.setState("running");

    const before = (await stub.calls()).length;
    const stopped = await stopService(options);
    assert.deepEqual(stopped.problems, []);
    assert.equal(stopped.wasRunning, true);
    calls = (await stub.calls()).slice(before);
    assert.deepEqual(calls.find((c) => c[0] === "bootout"), [
      "bootout",
      `gui/${UID}/${LAUNCHD_LABEL}`,
    ]);
    assert.deepEqual(calls.find((c) => c[0] === "disable"), [
      "disable",
      `gui/${UID}/${LAUNCHD_LABEL}`,
    ]);
    assert.ok(lines.some((line) => /stays stopped/.test(line)));
    const after = await serviceState(options);
    assert.equal(after?.running, false);
    assert.equal(after?.installed, true, "the plist stays; disable keeps it from loading");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a loaded but exited agent is restarted by start (bootout, bootstrap)", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID });
    await stub.setState("exited");
    const launchctl = new Launchctl({ uid: UID, env: stub.env });
    const outcome = await startService({
      paths: t.paths,
      os: "darwin",
      env: envSource(t),
      launchctl,
      compile: "deno-run",
    });
    assert.equal(outcome.status, "updated");
    const verbs = (await stub.calls()).map((c) => c[0]).filter((v) =>
      v !== "print" && v !== "help"
    );
    assert.deepEqual(verbs, ["bootout", "enable", "bootstrap"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a legacy plist running idle-chunker-daemon.sh is booted out and replaced", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID });
    const dir = join(t.home, "Library", "LaunchAgents");
    await Deno.mkdir(dir, { recursive: true });
    const legacy = plist.build({
      Label: LAUNCHD_LABEL,
      ProgramArguments: ["/bin/bash", "/Users/me/.claude/plugins/asciinema/idle-chunker-daemon.sh"],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      EnvironmentVariables: { IDLE_THRESHOLD: "30" },
    });
    const other = plist.build({
      Label: "com.example.old-chunker",
      ProgramArguments: ["/bin/bash", "-c", "exec ~/bin/idle-chunker-daemon.sh"],
    });
    const unrelated = plist.build({ Label: "com.example.other", ProgramArguments: ["/bin/true"] });
    await Deno.writeTextFile(launchAgentPath(t.home), legacy);
    await Deno.writeTextFile(join(dir, "com.example.old-chunker.plist"), other);
    await Deno.writeTextFile(join(dir, "com.example.other.plist"), unrelated);
    assert.ok(isLegacyPlist(legacy) && isLegacyPlist(other) && !isLegacyPlist(unrelated));
    await stub.setState("running");
    const lines: string[] = [];
    const outcome = await startService({
      paths: t.paths,
      os: "darwin",
      env: envSource(t),
      launchctl: new Launchctl({ uid: UID, env: stub.env }),
      compile: "deno-run",
      say: (line) => lines.push(line),
    });
    assert.equal(outcome.status, "started", JSON.stringify(outcome));
    const text = await Deno.readTextFile(launchAgentPath(t.home));
    assert.ok(!isLegacyPlist(text));
    const agent = plist.parse(text) as Record<string, unknown>;
    assert.equal(agent.KeepAlive, true);
    const calls = await stub.calls();
    assert.ok(
      calls.some((c) => c[0] === "bootout" && c[1] === `gui/${UID}/${LAUNCHD_LABEL}`),
      JSON.stringify(calls),
    );
    assert.ok(
      calls.some((c) => c[0] === "bootout" && c[1] === `gui/${UID}/com.example.old-chunker`),
    );
    await Deno.stat(join(dir, "com.example.old-chunker.plist.replaced-by-asciinema-chunker"));
    await assert.rejects(Deno.stat(join(dir, "com.example.old-chunker.plist")));
    await Deno.stat(join(dir, "com.example.other.plist"));
    assert.equal(lines.filter((line) => /Replaced the bash LaunchAgent/.test(line)).length, 2);
  } finally {
    await t.cleanup();
  }
});

Deno.test("without bootstrap (old launchctl) load -w / unload -w / list are used", async () => {
  const t = await makeTestHome();
  try {
    const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID, legacy: true });
    const launchctl = new Launchctl({ uid: UID, env: stub.env });
    const options = {
      paths: t.paths,
      os: "darwin",
      env: envSource(t),
      launchctl,
      compile: "deno-run" as const,
    };
    const outcome = await startService(options);
    assert.equal(outcome.status, "started", JSON.stringify(outcome));
    assert.equal(outcome.pid, 4242);
    const stopped = await stopService(options);
    assert.deepEqual(stopped.problems, []);
    const verbs = (await stub.calls()).map((c) => c.slice(0, 2).join(" "));
    assert.ok(verbs.includes("load -w"), verbs.join(", "));
    assert.ok(verbs.includes("unload -w"), verbs.join(", "));
    assert.ok(!verbs.some((v) => v.startsWith("bootstrap") || v.startsWith("bootout")));
  } finally {
    await t.cleanup();
  }
});
