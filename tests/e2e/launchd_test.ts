/**
 * launchd: the LaunchAgent from `service print launchd` parses back (plist
 * package) with every key, compiled and deno-run forms; the launchctl driver
 * and start/stop/status against a stand-in `launchctl` first on PATH.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as plist from "plist";
import { makeTestHome, type TestHome } from "../support/env.ts";
import {
  type LaunchctlStubOptions,
  makeLaunchctlStub,
  type ToolStub,
  writeFakeBuild,
} from "../support/service_stubs.ts";
import { DAEMON_TS } from "../support/daemon.ts";
import { run } from "../../lib/sys/mod.ts";
import { daemonPermissionFlags } from "../../lib/service/mod.ts";
import { DENO_CONFIG } from "../../lib/service/mod.ts";
import { serviceState, startService, stopService } from "../../lib/service/mod.ts";
import { Launchctl, parseLaunchctlPrint } from "../../launchd/launchctl.ts";
import {
  ALLOW_PROTECTED_ENV,
  protectedFolderOf,
  protectedFolderProblem,
} from "../../lib/service/mod.ts";
import { homePaths } from "../../lib/sys/mod.ts";
import { isLegacyPlist, launchAgentPath, LAUNCHD_LABEL } from "../../launchd/plist.ts";

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
    assert.ok(
      flags.includes("--allow-net=api.pushover.net,ntfy.example.org,api.github.com"),
      flags.join(" "),
    );
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

// ------------------------------------------------ what a Mac user would hit (#19)

/** Runs `fn` with a test home and a launchctl stand-in (`options` on top of label and uid). */
async function withLaunchd(
  options: Partial<LaunchctlStubOptions>,
  fn: (t: TestHome, stub: ToolStub) => Promise<void>,
): Promise<void> {
  const t = await makeTestHome();
  try {
    await fn(t, await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID, ...options }));
  } finally {
    await t.cleanup();
  }
}

/** A fast driver: short polls and retry pauses. */
function fastLaunchctl(stub: { env: Record<string, string> }, leaveTimeoutMs = 5_000) {
  return new Launchctl({
    uid: UID,
    env: stub.env,
    pollMs: 10,
    retryDelayMs: 10,
    leaveTimeoutMs,
  });
}

function darwinOptions(t: TestHome, launchctl: Launchctl, lines: string[] = []) {
  return {
    paths: t.paths,
    os: "darwin",
    env: envSource(t),
    launchctl,
    compile: "deno-run" as const,
    timeoutMs: 2_000,
    say: (line: string) => lines.push(line),
  };
}

function verbsOf(calls: string[][]): string[] {
  return calls.map((c) => c[0]).filter((v) => v !== "print" && v !== "help");
}

Deno.test("print: both `last exit code` forms (78 and `78: EX_CONFIG`) give the code", async () => {
  const t = await makeTestHome();
  try {
    for (const printFormat of ["old", "modern"] as const) {
      const stub = await makeLaunchctlStub(join(t.root, printFormat), {
        label: LAUNCHD_LABEL,
        uid: UID,
        exitCode: 78,
        printFormat,
      });
      await stub.setState("exited");
      const state = await new Launchctl({ uid: UID, env: stub.env }).print();
      assert.equal(state.lastExitCode, 78, printFormat);
      assert.equal(state.lastExit, printFormat === "old" ? "78" : "78: EX_CONFIG");
    }
    const parsed = parseLaunchctlPrint("gui/1/x = {\n\tlast exit code = 2: No such file\n}\n");
    assert.equal(parsed.lastExitCode, 2);
    assert.equal(
      parseLaunchctlPrint("x = {\n\tlast exit code = (never exited)\n}\n").lastExitCode,
      undefined,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("restart waits for the old job to leave: bootstrap only after print says 113", async () => {
  for (const busyCode of [5, 37] as const) {
    const t = await makeTestHome();
    try {
      // launchd keeps the old job for three more prints; bootstrap meanwhile answers 5 or 37.
      const stub = await makeLaunchctlStub(t.root, {
        label: LAUNCHD_LABEL,
        uid: UID,
        leaveAfter: 3,
        busyCode,
      });
      await stub.setState("exited");
      const outcome = await startService(darwinOptions(t, fastLaunchctl(stub)));
      assert.equal(outcome.status, "updated", JSON.stringify(outcome));
      const calls = await stub.calls();
      assert.deepEqual(verbsOf(calls), ["bootout", "enable", "bootstrap"], `busy ${busyCode}`);
      const bootout = calls.findIndex((c) => c[0] === "bootout");
      const bootstrap = calls.findIndex((c) => c[0] === "bootstrap");
      const prints = calls.slice(bootout, bootstrap).filter((c) => c[0] === "print");
      assert.ok(prints.length >= 4, `polled print until gone: ${JSON.stringify(calls)}`);
    } finally {
      await t.cleanup();
    }
  }
});

Deno.test("bootout answering 36 (in progress) is waited for, not thrown", () =>
  withLaunchd({ leaveAfter: 2, bootoutInProgress: true }, async (_t, stub) => {
    await stub.setState("running");
    const launchctl = fastLaunchctl(stub);
    assert.equal(await launchctl.bootout(), true);
    assert.equal((await launchctl.print()).loaded, false);
  }));

Deno.test("bootstrap failing now and then with `5: Input/output error` is retried", () =>
  withLaunchd({ flakyBootstraps: 2 }, async (t, stub) => {
    const outcome = await startService(darwinOptions(t, fastLaunchctl(stub)));
    assert.equal(outcome.status, "started", JSON.stringify(outcome));
    assert.deepEqual(verbsOf(await stub.calls()), [
      "enable",
      "bootstrap",
      "bootstrap",
      "bootstrap",
    ]);
  }));

Deno.test("stop disables the agent even when bootout fails (it must not return at login)", () =>
  withLaunchd({ leaveAfter: 100_000, bootoutInProgress: true }, async (t, stub) => {
    await stub.setState("running");
    const stopped = await stopService(darwinOptions(t, fastLaunchctl(stub, 200)));
    assert.equal(stopped.problems.length, 1, JSON.stringify(stopped));
    assert.match(stopped.problems[0], /still loaded/);
    assert.deepEqual(verbsOf(await stub.calls()), ["bootout", "disable"]);
  }));

Deno.test("a rebuilt binary is restarted with kickstart -k although the plist is unchanged", () =>
  withLaunchd({}, async (t, stub) => {
    const lines: string[] = [];
    const options = {
      ...darwinOptions(t, fastLaunchctl(stub), lines),
      compile: "compiled" as const,
    };
    const build = (compiledAt: string) => writeFakeBuild(t.paths, compiledAt);
    await build("2026-01-01T00:00:00.000Z");
    assert.equal((await startService(options)).status, "started");
    const plistBefore = await Deno.readTextFile(launchAgentPath(t.home));
    assert.equal((await startService(options)).status, "already-running");
    // `git pull` + start: recompiled into the same path, same plist text.
    await build("2026-02-01T00:00:00.000Z");
    const outcome = await startService(options);
    assert.equal(outcome.status, "restarted", JSON.stringify(outcome));
    assert.equal(outcome.pid, 4243, "a new process");
    assert.equal(await Deno.readTextFile(launchAgentPath(t.home)), plistBefore);
    const calls = await stub.calls();
    assert.deepEqual(calls.find((c) => c[0] === "kickstart"), [
      "kickstart",
      "-k",
      `gui/${UID}/${LAUNCHD_LABEL}`,
    ]);
    assert.ok(lines.some((line) => /rebuilt/.test(line)), lines.join("\n"));
    assert.equal((await startService(options)).status, "already-running");
  }));

Deno.test("ASCIINEMA_HOME or the checkout in ~/Documents, ~/Desktop, ~/Downloads: refused with the fix", async () => {
  for (const folder of ["Documents", "Desktop", "Downloads"]) {
    const t = await makeTestHome();
    try {
      const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID });
      const paths = homePaths(join(t.home, folder, "asciinema"));
      const outcome = await startService({ ...darwinOptions(t, fastLaunchctl(stub)), paths });
      assert.equal(outcome.status, "failed", JSON.stringify(outcome));
      assert.match(outcome.message ?? "", new RegExp(`inside ~/${folder}`));
      assert.match(outcome.message ?? "", /Operation not permitted/);
      assert.match(outcome.message ?? "", /Full Disk Access/);
      assert.match(outcome.message ?? "", /daemon-start --detach/);
      assert.deepEqual(verbsOf(await stub.calls()), [], "nothing installed");
      await assert.rejects(Deno.stat(launchAgentPath(t.home)));
    } finally {
      await t.cleanup();
    }
  }
  // The checkout (deno run form) and symbolic links count too; other systems are not checked.
  const t = await makeTestHome();
  try {
    await Deno.mkdir(join(t.home, "Documents", "code"), { recursive: true });
    await Deno.symlink(join(t.home, "Documents", "code"), join(t.home, "code"));
    const checkout = join(t.home, "code", "asciinema-chunker", "daemon.ts");
    assert.equal(protectedFolderOf(checkout, t.home), "~/Documents");
    assert.equal(protectedFolderOf(join(t.home, ".asciinema"), t.home), undefined);
    const needed = [{ what: "the checkout", path: checkout }];
    assert.match(protectedFolderProblem(needed, { home: t.home, os: "darwin" }) ?? "", /checkout/);
    assert.equal(protectedFolderProblem(needed, { home: t.home, os: "linux" }), undefined);
    const granted = { get: (key: string) => key === ALLOW_PROTECTED_ENV ? "1" : undefined };
    assert.equal(
      protectedFolderProblem(needed, { home: t.home, os: "darwin", env: granted }),
      undefined,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("no GUI login (SSH): start refuses with the fix and --detach instead of `Bootstrap failed: 5`", () =>
  withLaunchd({ noGui: true }, async (t, stub) => {
    const launchctl = fastLaunchctl(stub);
    assert.equal(await launchctl.guiSessionExists(), false);
    const outcome = await startService(darwinOptions(t, launchctl));
    assert.equal(outcome.status, "failed", JSON.stringify(outcome));
    assert.match(outcome.message ?? "", /gui\/501/);
    assert.match(outcome.message ?? "", /logged in/);
    assert.match(outcome.message ?? "", /keychain/);
    assert.match(outcome.message ?? "", /daemon-start --detach/);
    assert.ok(!verbsOf(await stub.calls()).includes("bootstrap"));
    const withGui = await makeLaunchctlStub(join(t.root, "gui"), {
      label: LAUNCHD_LABEL,
      uid: UID,
    });
    assert.equal(await fastLaunchctl(withGui).guiSessionExists(), true);
  }));

Deno.test("a Login Item switched off: the failure names the Login Items setting", () =>
  withLaunchd({ loginItemOff: true }, async (t, stub) => {
    const outcome = await startService(darwinOptions(t, fastLaunchctl(stub)));
    assert.equal(outcome.status, "failed", JSON.stringify(outcome));
    assert.match(outcome.message ?? "", /Bootstrap failed: 5: Input\/output error/);
    assert.match(outcome.message ?? "", /Login Items/);
    assert.match(outcome.message ?? "", /Allow in the Background/);
  }));

Deno.test("$ASCIINEMA_HOME and logs/ exist before the first bootstrap (else launchd gives EX_CONFIG)", async () => {
  const t = await makeTestHome();
  try {
    await assert.rejects(Deno.stat(t.paths.home), "a fresh machine: no ASCIINEMA_HOME yet");
    const stub = await makeLaunchctlStub(t.root, { label: LAUNCHD_LABEL, uid: UID });
    const outcome = await startService(darwinOptions(t, fastLaunchctl(stub)));
    assert.equal(outcome.status, "started", JSON.stringify(outcome));
    assert.ok((await Deno.stat(t.paths.logs)).isDirectory);
    // What launchd does when they are missing, and what we then say.
    await stub.setState("config");
    const state = await fastLaunchctl(stub).print();
    assert.equal(state.lastExitCode, 78);
  } finally {
    await t.cleanup();
  }
});
