/**
 * Runs `bootstrap.ts` in tmux like a person would (tests/bootstrap_test.ts and
 * tests/remote_lookup_test.ts): a tmux server of its own per test, one
 * session per run, the exit code and stderr written to files.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../lib/sys/mod.ts";
import { type DaemonProcess, startDaemon, waitForHealth } from "./daemon.ts";
import { assertTools, makeTestHome, type TestHome } from "./env.ts";

/** bootstrap.ts of this checkout. */
export const BOOTSTRAP = fileURLToPath(new URL("../../bootstrap.ts", import.meta.url));

/** Single-quotes `value` for sh. */
export function shq(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A tmux server of its own (unique socket) for one test, kept alive by an
 * idle session so a `wait-for` signal is not lost when the last recording's
 * session ends.
 */
export async function tmuxFor(t: TestHome) {
  const socket = `bootstrap-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const tmux = (args: string[]) =>
    run("tmux", { args: ["-L", socket, ...args], env: t.env, clearEnv: true, timeoutMs: 90_000 });
  const keeper = await tmux(["new-session", "-d", "-s", "keeper", "sleep 3600"]);
  assert.ok(keeper.success, keeper.stderr);
  return { socket, tmux };
}

/** One bootstrap run inside tmux: its output files and pid. */
export interface BootstrapRun {
  session: string;
  channel: string;
  stderrPath: string;
  rcPath: string;
  pidPath: string;
}

/** Starts `./bootstrap.ts args` in a new tmux session, in `cwd`, like a person would. */
export async function startBootstrap(
  t: TestHome,
  tmux: Awaited<ReturnType<typeof tmuxFor>>,
  options: { cwd: string; args: string[]; name: string },
): Promise<BootstrapRun> {
  const out = join(t.root, `run-${options.name}`);
  await Deno.mkdir(out, { recursive: true });
  const run: BootstrapRun = {
    session: options.name,
    channel: `done-${options.name}`,
    stderrPath: join(out, "stderr"),
    rcPath: join(out, "rc"),
    pidPath: join(out, "pid"),
  };
  const script = join(out, "run.sh");
  await Deno.writeTextFile(
    script,
    [
      `cd ${shq(options.cwd)} || exit 1`,
      // The inner shell execs into bootstrap.ts, so the pid file names bootstrap itself.
      `sh -c 'echo $$ > "$1"; shift; exec "$@"' sh ${shq(run.pidPath)} ${shq(BOOTSTRAP)} ${
        options.args.map(shq).join(" ")
      } 2> ${shq(run.stderrPath)}`,
      `echo $? > ${shq(run.rcPath)}`,
      `tmux -L ${shq(tmux.socket)} wait-for -S ${shq(run.channel)}`,
    ].join("\n") + "\n",
  );
  const started = await tmux.tmux([
    "new-session",
    "-d",
    "-s",
    run.session,
    "-x",
    "80",
    "-y",
    "24",
    `sh ${shq(script)}`,
  ]);
  assert.ok(started.success, started.stderr);
  return run;
}

/** Waits for a bootstrap run to end: its exit code and stderr. */
export async function finished(tmux: Awaited<ReturnType<typeof tmuxFor>>, run: BootstrapRun) {
  const waited = await tmux.tmux(["wait-for", run.channel]);
  assert.ok(waited.success, waited.stderr);
  return {
    code: Number((await Deno.readTextFile(run.rcPath)).trim()),
    stderr: await Deno.readTextFile(run.stderrPath),
  };
}

/** The id bootstrap printed (`Recording <id>`). */
export function idFrom(stderr: string): string {
  const match = /^Recording (\S+)$/m.exec(stderr);
  assert.ok(match, `no id in:\n${stderr}`);
  return match[1];
}

/** A stand-in `ssh` on PATH that logs its arguments (bootstrap clears GitHub ControlMasters). */
export async function fakeSsh(t: TestHome): Promise<string> {
  const bin = join(t.root, "bin");
  await Deno.mkdir(bin, { recursive: true });
  const logPath = join(t.root, "ssh.log");
  await Deno.writeTextFile(
    join(bin, "ssh"),
    `#!/bin/sh\necho "$*" >> ${
      shq(logPath)
    }\necho "Control socket connect: No such file or directory" >&2\nexit 255\n`,
  );
  await Deno.chmod(join(bin, "ssh"), 0o755);
  t.env.PATH = `${bin}:${t.env.PATH}`;
  return logPath;
}

/**
 * Runs `body` with a fresh home (a stand-in `ssh` on its PATH) and a tmux
 * server of its own for bootstraps, no daemon; removes both whatever
 * happened. Fails at once when asciinema or tmux is missing.
 */
export async function withBootstrapHome(
  body: (rig: { t: TestHome; tmux: Awaited<ReturnType<typeof tmuxFor>> }) => Promise<void>,
): Promise<void> {
  await assertTools(["asciinema", "tmux"]);
  const t = await makeTestHome();
  await fakeSsh(t);
  const tmux = await tmuxFor(t);
  try {
    await body({ t, tmux });
  } finally {
    await tmux.tmux(["kill-server"]);
    await t.cleanup();
  }
}

/** What {@linkcode withRecordingDaemon} hands the test body. */
export interface RecordingRig {
  /** The hermetic home (a stand-in `ssh` on its PATH). */
  t: TestHome;
  /** The test's own tmux server. */
  tmux: Awaited<ReturnType<typeof tmuxFor>>;
  /** The daemon, running and healthy. */
  daemon: DaemonProcess;
}

/**
 * Runs `body` with a daemon running in a fresh home, configured so that only
 * a recording's `ended` makes it cut the final chunk quickly (idle threshold
 * 60 s, scan and heartbeat every second), and a tmux server for bootstraps.
 */
export async function withRecordingDaemon(
  body: (rig: RecordingRig) => Promise<void>,
  settings: Record<string, unknown> = {},
): Promise<void> {
  const t = await makeTestHome();
  await fakeSsh(t);
  await Deno.mkdir(t.paths.home, { recursive: true });
  await Deno.writeTextFile(
    t.paths.config,
    JSON.stringify({
      idle_threshold: 60,
      scan_interval_seconds: 1,
      heartbeat_seconds: 1,
      ...settings,
    }),
  );
  const daemon = startDaemon(t.env);
  const tmux = await tmuxFor(t);
  try {
    await waitForHealth(t.paths.health, (h) => h.status === "ok");
    await body({ t, tmux, daemon });
  } finally {
    await tmux.tmux(["kill-server"]);
    daemon.kill("SIGTERM");
    await daemon.wait();
    await t.cleanup();
  }
}
