/**
 * One permission list: the compile task's flags, the `deno run` fallback's
 * and `deno task daemon`'s are the same; compile's exact command line; the
 * fallback when compile cannot get its runtime (for real); and the daemon
 * under the narrow flags (not -A, stdin null, --no-prompt) backing up a
 * recording end to end, notifying over loopback, with no denial.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertTools, ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import {
  assertTiling,
  DAEMON_TS,
  readLogLines,
  remoteChunks,
  remoteEnd,
  restoreFromRemote,
  startDaemon,
  writeConfig,
} from "../support/daemon.ts";
import { startNotifyServer } from "../support/notify_server.ts";
import { compileCommand, DENORT_HINT, resolveProgram } from "../../lib/service/mod.ts";
import { foregroundArgv } from "../../lib/service/launch_daemon.ts";
import {
  DAEMON_ENV_VARS,
  daemonRunPaths,
  daemonTools,
  permissionsForHome,
  toolLookupPaths,
} from "../../lib/service/mod.ts";
import { findOnPath, run } from "../../lib/sys/mod.ts";
import { binaryPath, DENO_CONFIG } from "../../lib/service/mod.ts";
import { serviceDefinition } from "../../lib/service/mod.ts";

/** The permission flags in an argv, in order. */
function permissionFlags(argv: string[]): string[] {
  return argv.filter((arg) =>
    arg === "--no-prompt" || arg.startsWith("--allow-") || arg.startsWith("--deny-") ||
    arg === "-A"
  );
}

Deno.test("compile, the deno-run fallback, the service definitions and `deno task daemon` use one flag list", async () => {
  const t = await makeTestHome();
  try {
    await writeConfig(t.paths.home, {
      notify: { ntfy: { url: "https://ntfy.example.org/alerts" } },
    });
    const { flags } = await permissionsForHome(t.paths.home);
    const compile = compileCommand(flags, binaryPath(t.paths), { deno: "/usr/bin/deno" });
    const fallback = await resolveProgram(t.paths, flags, { compile: "deno-run" });
    const launcher = await foregroundArgv(t.paths.home, ["--once"]);
    const env = { get: (key: string) => t.env[key] };
    const systemd = await serviceDefinition("systemd", {
      paths: t.paths,
      env,
      os: "linux",
      compile: "deno-run",
    });
    assert.deepEqual(permissionFlags(compile.args), flags);
    assert.deepEqual(permissionFlags(fallback.argv), flags);
    assert.deepEqual(permissionFlags(launcher), flags);
    assert.deepEqual(permissionFlags(systemd.spec.program.argv), flags);
    assert.ok(!flags.includes("-A"));
    // The exact command line of `deno task compile`.
    assert.deepEqual(compile, {
      command: "/usr/bin/deno",
      args: [
        "compile",
        ...flags,
        "--no-check",
        "--config",
        DENO_CONFIG,
        "--output",
        join(t.paths.home, "bin", "asciinema-chunker"),
        DAEMON_TS,
      ],
    });
    if (Deno.build.os === "linux") {
      assert.deepEqual(flags, [
        "--no-prompt",
        `--allow-read=${[t.paths.home, "/proc", ...toolLookupPaths()].join(",")}`,
        `--allow-write=${t.paths.home}`,
        `--allow-run=${daemonRunPaths({ path: t.env.PATH }).join(",")}`,
        "--allow-net=api.pushover.net,ntfy.example.org,api.github.com",
        `--allow-env=${DAEMON_ENV_VARS.join(",")}`,
        "--allow-sys=hostname",
      ]);
    }
    // `deno task daemon` runs exactly the fallback's argv, plus the task's arguments.
    assert.deepEqual(launcher.slice(1), [...fallback.argv.slice(1), "--once"]);
    assert.deepEqual(fallback.argv.slice(-3), [DENO_CONFIG, DAEMON_TS, "run"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("compile without its runtime falls back to deno run with the same flags, and says so (for real)", async () => {
  const t = await makeTestHome();
  try {
    const { flags } = await permissionsForHome(t.paths.home);
    const said: string[] = [];
    const program = await resolveProgram(t.paths, flags, {
      env: { ...t.env, DENORT_BIN: join(t.root, "no-such-denort") },
      say: (line) => said.push(line),
      timeoutMs: 120_000,
    });
    assert.equal(program.kind, "deno-run");
    assert.match(program.reason ?? "", /denort/i);
    assert.deepEqual(permissionFlags(program.argv), flags);
    const text = said.join("\n");
    assert.match(text, /Compiling the daemon/);
    assert.match(text, /Falling back to `deno run` with the same permissions/);
    assert.match(text, /DENORT_BIN/);
    assert.ok(DENORT_HINT.includes(Deno.version.deno));
    await assert.rejects(Deno.stat(binaryPath(t.paths)), "no half-written binary is left");
  } finally {
    await t.cleanup();
  }
});

Deno.test({
  name: "under the narrow flags the credential store `auto` still finds secret-tool",
  ignore: ignoreWithout(["secret-tool"]) || Deno.build.os !== "linux",
  fn: async () => {
    await assertTools(["secret-tool"]);
    const t = await makeTestHome();
    try {
      const { flags } = await permissionsForHome(t.paths.home);
      const probe = join(t.root, "probe.ts");
      const credentials = new URL("../../lib/credentials/store.ts", import.meta.url).href;
      await Deno.writeTextFile(
        probe,
        `import { autoStoreKind } from ${JSON.stringify(credentials)};\n` +
          "console.log(await autoStoreKind());\n",
      );
      const result = await run(Deno.execPath(), {
        args: ["run", ...flags, "--config", DENO_CONFIG, probe],
        env: t.env,
        clearEnv: true,
        timeoutMs: 60_000,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), "secret-service", result.stderr);
    } finally {
      await t.cleanup();
    }
  },
});

const LAUNCH_DAEMON_TS = new URL("../../lib/service/launch_daemon.ts", import.meta.url).pathname;
const encoder = new TextEncoder();

function gitSync(args: string[]): void {
  const out = new Deno.Command("git", {
    args,
    env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const DENIAL = /Requires \w+ access|NotCapable|PermissionDenied|run again with the --allow/;

Deno.test("the daemon under the narrow flags (not -A, stdin null, no prompt) backs up, notifies and finalizes with no denial", async () => {
  const server = await startNotifyServer();
  const t = await makeTestHome();
  // A remote outside ASCIINEMA_HOME: git reaches it, Deno never does.
  const remote = join(t.root, "elsewhere", "backup.git");
  gitSync(["init", "--bare", "--quiet", remote]);
  await writeConfig(t.paths.home, {
    repo_url: remote,
    idle_threshold: 0.3,
    scan_interval_seconds: 1,
    heartbeat_seconds: 1,
    retry_max_seconds: 1,
    notify: {
      failure_grace_seconds: 1,
      pushover: { api_url: server.pushoverUrl },
      ntfy: { url: server.ntfyUrl("narrow") },
    },
  });
  const { flags } = await permissionsForHome(t.paths.home);
  assert.ok(flags.includes("--allow-net=127.0.0.1,api.github.com"), flags.join(" "));
  const daemon = startDaemon(
    { ...t.env, ASCIINEMA_PUSHOVER_APP: "app-token-narrow", ASCIINEMA_PUSHOVER_USER: "user-key" },
    { permissions: flags },
  );
  try {
    const cast = join(t.paths.active, "narrow.cast");
    await Deno.mkdir(t.paths.active, { recursive: true });
    const file = await Deno.open(cast, { create: true, append: true, mode: 0o600 });
    const line = (i: number) => JSON.stringify([0.05, "o", `line ${i} \u00e9 "q" \\ \r\n`]) + "\n";
    await file.write(encoder.encode(
      JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp: 1 }) + "\n",
    ));
    let n = 0;
    const burst = async (count: number) => {
      for (let i = 0; i < count; i++) await file.write(encoder.encode(line(n++)));
      return (await file.stat()).size;
    };
    let size = await burst(20);
    await waitFor(async () => (await remoteEnd(remote, { id: "narrow" })) === size, {
      what: "the first burst on the remote",
    });
    // An outage: pushes fail, the notifiers (loopback Pushover and ntfy) are told.
    await Deno.rename(remote, `${remote}.away`);
    size = await burst(20);
    await waitFor(() => server.received.some((r) => r.service === "ntfy"), {
      what: "a failure notice over ntfy",
    });
    await waitFor(() => server.received.some((r) => r.service === "pushover"), {
      what: "a failure notice over Pushover",
    });
    await Deno.rename(`${remote}.away`, remote);
    await waitFor(async () => (await remoteEnd(remote, { id: "narrow" })) === size, {
      what: "the backlog after the outage",
    });
    await burst(20);
    await file.write(encoder.encode(JSON.stringify([0.5, "x", "0"]) + "\n"));
    file.close();
    const original = await Deno.readFile(cast);
    await waitFor(async () => {
      try {
        await Deno.stat(join(t.paths.done, "narrow.cast"));
        return true;
      } catch {
        return false;
      }
    }, { what: "the recording to move to done/" });
    const chunks = await remoteChunks(remote, { id: "narrow" });
    assert.equal(assertTiling(chunks), original.length);
    assert.deepEqual(await restoreFromRemote(remote, { id: "narrow" }), original);
    daemon.kill("SIGTERM");
    const status = await daemon.wait();
    assert.equal(status.code, 0, daemon.stderr());
    const health = JSON.parse(await Deno.readTextFile(t.paths.health));
    assert.equal(health.status, "stopped");
    const log = (await readLogLines(t.paths.home)).map((entry) => JSON.stringify(entry));
    assert.ok(!DENIAL.test(daemon.stderr()), `a permission was denied:\n${daemon.stderr()}`);
    const denied = log.filter((entry) => DENIAL.test(entry));
    assert.deepEqual(denied, [], "no permission denial in chunker.log");
  } finally {
    daemon.kill("SIGTERM");
    await daemon.wait();
    await server.close();
    await t.cleanup();
  }
});

Deno.test("the run permission names only programs that exist, as absolute paths: no Deno `Info` line without secret-tool", async () => {
  const t = await makeTestHome();
  try {
    // A PATH with git, zstd and deno but no secret-tool (and no ssh).
    const bin = join(t.root, "bin");
    await Deno.mkdir(bin);
    for (const tool of ["git", "zstd"]) {
      const found = findOnPath(tool);
      if (found) await Deno.symlink(found, join(bin, tool));
    }
    await Deno.symlink(Deno.execPath(), join(bin, "deno"));
    const run = daemonRunPaths({ os: "linux", path: bin }).filter((p) => p.startsWith(bin));
    assert.deepEqual(
      run,
      ["git", "zstd"].filter((tool) => findOnPath(tool)).map((tool) => join(bin, tool)),
    );
    const everywhere = daemonRunPaths({ os: "linux", path: bin });
    for (const path of everywhere) {
      assert.ok(path.startsWith("/"), path);
      assert.ok(daemonTools("linux").includes(path.split("/").pop()!), path);
      assert.ok(Deno.statSync(path).isFile, path);
    }

    // `deno task daemon --once` with that PATH: the daemon starts and ends without an Info line.
    const env = { ...t.env, PATH: bin };
    const once = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", LAUNCH_DAEMON_TS, "--once"],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stderr = new TextDecoder().decode(once.stderr);
    assert.doesNotMatch(stderr, /Info|Failed to resolve/, stderr);
    assert.equal(once.code, 0, stderr);
  } finally {
    await t.cleanup();
  }
});

Deno.test("under the narrow flags a timed-out command is ended with everything it started (Deno.kill is not allowed there)", async () => {
  const t = await makeTestHome();
  try {
    const { flags } = await permissionsForHome(t.paths.home);
    // git starts a shell that leaves a sleep in the background and waits on another.
    await Deno.mkdir(t.paths.home, { recursive: true });
    const script = join(t.paths.home, "timeout_probe.ts");
    await Deno.writeTextFile(
      script,
      `import { run } from ${
        JSON.stringify(new URL("../../lib/sys/exec.ts", import.meta.url).href)
      };
const result = await run("git", {
  args: ["-c", "alias.hang=!sleep 60 & echo $!; exec sleep 61", "hang"],
  timeoutMs: 300,
});
console.log(JSON.stringify({ timedOut: result.timedOut, code: result.code, out: result.stdout }));
`,
    );
    const probe = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "--no-check", script],
      env: t.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stderr = new TextDecoder().decode(probe.stderr);
    assert.equal(probe.code, 0, stderr);
    assert.doesNotMatch(stderr, DENIAL, stderr);
    const said = JSON.parse(new TextDecoder().decode(probe.stdout));
    // Killed (a signal), not run to its end.
    assert.equal(said.timedOut, true);
    assert.equal(said.code, -1);
    // The background sleep git's shell left is gone too (or a zombie nobody reaps here).
    const pid = Number(said.out.trim());
    assert.ok(Number.isInteger(pid) && pid > 0, said.out);
    const gone = await waitFor(async () => {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
      return stat === "" || /^\d+ \(.*\) Z /.test(stat);
    }, { timeoutMs: 10_000 }).then(() => true, () => false);
    assert.ok(gone, `the background sleep ${pid} still runs`);
  } finally {
    await t.cleanup();
  }
});
