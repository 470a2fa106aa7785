#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env --allow-run --allow-net=api.github.com --no-prompt
//usr/bin/true 2>/dev/null || :; echo "ERROR: run ./bootstrap.ts directly; do not source it" >&2; case $- in *e*) return 0 2>/dev/null || exit 1;; esac; return 1 2>/dev/null || exit 1
/**
 * bootstrap.ts: starts one asciinema recording that the daemon backs up.
 * It only records; cutting chunks and pushing them is the daemon's job.
 *
 * Run it directly (`./bootstrap.ts [options]` or `deno task bootstrap`).
 * Line 2 above is a TypeScript comment, but a shell that `source`s this file
 * runs it as a command (`//usr/bin/true` is `/usr/bin/true`, which macOS and
 * Linux both have; macOS has no `/bin/true`). Should even that be missing,
 * `2>/dev/null || :` keeps the shell quiet and `set -e` from firing. It
 * prints an error and `return`s before reading anything else, so the
 * person's shell, its options and its traps stay as they were. Under `set
 * -e` it returns 0, so the shell is not closed by the failed `source` either.
 *
 * What it does:
 * 1. Preflight: warns loudly when the daemon is not running or unhealthy
 *    (health.json: pid alive, heartbeat fresh), and records anyway.
 * 2. Decides where the recording goes (repo and branch) and its id.
 * 3. Writes `active/<id>.json`, then runs `asciinema rec active/<id>.cast`
 *    with the terminal inherited, and records the asciinema process as
 *    `recorder_pid`.
 * 4. Afterwards (also after Ctrl-C, SIGTERM or SIGHUP) writes `ended` into
 *    the `.json`, so the daemon cuts the final chunk at once, and prints
 *    where the recording is, whether it is backed up yet, and how to
 *    restore it.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { basename, isAbsolute, join, resolve } from "node:path";
import { buildRecArgs, detectAsciinema } from "./lib/recording/asciinema_cli.ts";
import { restoreCommandLine } from "./lib/cli/restore.ts";
import { printFatal, printLine } from "./lib/cli/output.ts";
import { termSafe } from "./lib/sys/terminal_text.ts";
import { backupNote } from "./lib/cli/backup_note.ts";
import { git } from "./lib/git/hermetic.ts";
import { daemonLiveness, type Health, readHealth } from "./lib/status/health.ts";
import { ensureHome, type HomePaths, homePaths } from "./lib/sys/paths.ts";
import { repoSlug } from "./lib/git/target.ts";
import { allocateRecordingId } from "./lib/recording/id.ts";
import {
  createRecordingConfig,
  markRecordingEnded,
  type RecordingConfig,
  updateRecordingConfig,
} from "./lib/recording/config.ts";
import { displayUrl, parseRemoteUrl } from "./lib/git/remote_url.ts";
import { DEFAULT_BRANCH, readRawSettings } from "./lib/sys/settings.ts";
import { branchNameProblem } from "./lib/sys/git_names.ts";
import { clearGitHubControlMasters } from "./lib/git/ssh_control.ts";
import { loadState, statePath } from "./lib/chunk/state.ts";

/** Command-line options of bootstrap.ts. */
export interface BootstrapOptions {
  /** Remote to back up to (overrides REPO_URL, config.json and origin). */
  repo?: string;
  /** Branch (overrides BRANCH and config.json). */
  branch?: string;
  /** Workspace name (default: the directory's name). */
  workspace?: string;
  /** Title of the recording. */
  title?: string;
  /** Command to record instead of a shell. */
  command?: string;
  /** Idle time limit in seconds. */
  idleTimeLimit?: number;
  /** Record keystrokes too. */
  captureInput?: boolean;
  /** Directory the recording starts in (default: the current one). */
  cwd?: string;
  /** Seconds to wait for the backup after the recording (default 10; 0: do not wait). */
  wait?: number;
  /** Push this recording to a public GitHub repository even unencrypted (`allow_public`). */
  allowPublic?: boolean;
}

/** Where the recording's chunks go, and where each choice came from. */
export interface Target {
  /** Remote URL or path; undefined: the daemon's default (config.json or backup.git). */
  repoUrl?: string;
  /** Which source gave `repoUrl`. */
  repoSource: "--repo" | "REPO_URL" | "config.json" | "origin" | "default";
  /** Branch. */
  branch: string;
  /** Which source gave `branch`. */
  branchSource: "--branch" | "BRANCH" | "config.json" | "default";
}

/** Options for {@linkcode resolveTarget}. */
export interface ResolveTargetOptions {
  /** Environment (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** Directory whose git `origin` is the last resort. */
  cwd: string;
  /** config.json path. */
  configPath: string;
}

/** The raw `remote.origin.url` of the repository containing `cwd`, if any. */
export async function originUrl(cwd: string): Promise<string | undefined> {
  try {
    const result = await git(["config", "--get", "remote.origin.url"], {
      cwd,
      timeoutMs: 10_000,
    });
    const url = result.success ? result.stdout.trim() : "";
    return url || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides repo and branch: repo from `--repo`, `REPO_URL`, config.json's
 * `repo_url`, or the `origin` of the repository around `cwd` (GitHub SSH
 * forms become HTTPS), else none (the daemon's embedded default); branch
 * from `--branch`, `BRANCH`, config.json's `branch`, or
 * `asciinema-recordings`. Returns warnings for things it skipped.
 */
export async function resolveTarget(
  options: Pick<BootstrapOptions, "repo" | "branch">,
  context: ResolveTargetOptions,
): Promise<{ target: Target; warnings: string[] }> {
  const env = context.env ?? Deno.env;
  const warnings: string[] = [];
  let config: Record<string, unknown> = {};
  try {
    config = await readRawSettings(context.configPath);
  } catch (error) {
    warnings.push(
      `${context.configPath} is unreadable (${
        error instanceof Error ? error.message : String(error)
      }); ignoring its repo_url and branch`,
    );
  }
  const configString = (key: string) => {
    const value = config[key];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") return value;
    warnings.push(`config.json: ${key} is ${JSON.stringify(value)}, not a string; ignoring it`);
    return undefined;
  };

  let repoUrl: string | undefined;
  let repoSource: Target["repoSource"] = "default";
  const repoEnv = env.get("REPO_URL");
  const repoConfig = configString("repo_url");
  if (options.repo) {
    repoUrl = options.repo;
    repoSource = "--repo";
  } else if (repoEnv) {
    repoUrl = repoEnv;
    repoSource = "REPO_URL";
  } else if (repoConfig) {
    repoUrl = repoConfig;
    repoSource = "config.json";
  } else {
    const origin = await originUrl(context.cwd);
    if (origin) {
      repoUrl = origin;
      repoSource = "origin";
    }
  }

  if (repoUrl !== undefined) {
    const given = repoUrl;
    try {
      const parsed = parseRemoteUrl(given);
      if (parsed.hadUserinfo) {
        warnings.push(
          `the ${repoSource} URL carried credentials; they were removed (the daemon pushes with its own token)`,
        );
      }
      repoUrl = parsed.url;
      if (parsed.kind === "local" && !/^file:/i.test(repoUrl) && !isAbsolute(repoUrl)) {
        repoUrl = resolve(context.cwd, repoUrl);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (repoSource !== "origin") throw new Error(`${repoSource}: ${reason}`);
      warnings.push(
        `the git origin ${
          displayUrl(given)
        } cannot be used (${reason}); using the daemon's default remote`,
      );
      repoUrl = undefined;
      repoSource = "default";
    }
  }

  let branch = DEFAULT_BRANCH;
  let branchSource: Target["branchSource"] = "default";
  const branchEnv = env.get("BRANCH");
  const branchConfig = configString("branch");
  if (options.branch) {
    branch = options.branch;
    branchSource = "--branch";
  } else if (branchEnv) {
    branch = branchEnv;
    branchSource = "BRANCH";
  } else if (branchConfig) {
    branch = branchConfig;
    branchSource = "config.json";
  }
  const problem = branchNameProblem(branch);
  if (problem) throw new Error(`branch from ${branchSource}: ${problem}`);
  return { target: { repoUrl, repoSource, branch, branchSource }, warnings };
}

/** The daemon as bootstrap sees it before recording. */
export interface DaemonCheck {
  /** True when health.json names a live pid with a fresh heartbeat and it is not stopped. */
  running: boolean;
  /** Why it is not running or not healthy; null when all is well. */
  problem: string | null;
  /** The health.json read, if any. */
  health?: Health;
}

/** Options for {@linkcode checkDaemon}. */
export interface CheckDaemonOptions {
  /** Clock in milliseconds (default `Date.now()`). */
  now?: number;
  /** Process liveness (default: lib/sys/process.ts `pidAlive`). */
  isAlive?: (pid: number) => Promise<boolean>;
}

/**
 * Reads health.json: the daemon runs when its pid is alive and its
 * heartbeat is younger than three heartbeat intervals. A running daemon
 * whose status is `degraded` or `error` is reported as a problem too.
 */
export async function checkDaemon(
  healthPath: string,
  options: CheckDaemonOptions = {},
): Promise<DaemonCheck> {
  const now = options.now ?? Date.now();
  const health = await readHealth(healthPath);
  if (!health) {
    return { running: false, problem: "the daemon has never run here (no health.json)" };
  }
  if (health.status === "stopped") {
    return { running: false, problem: `the daemon was stopped (${health.last_update})`, health };
  }
  const pid = health.pid;
  if (!Number.isInteger(pid) || pid <= 0) {
    return { running: false, problem: "health.json names no daemon pid", health };
  }
  const live = await daemonLiveness(health, { now, isAlive: options.isAlive });
  if (live.pidAlive === false) {
    return {
      running: false,
      problem: `the daemon (pid ${pid}) is gone without a clean stop: it crashed or was killed`,
      health,
    };
  }
  if (live.heartbeatStale) {
    const age = live.heartbeatAgeSeconds;
    return {
      running: false,
      problem: `the daemon (pid ${pid}) has not written a heartbeat for ${
        age === null ? "ever" : `${age} s`
      } (expected every ${live.intervalSeconds} s): it is stuck or gone`,
      health,
    };
  }
  if (health.status === "degraded" || health.status === "error") {
    return {
      running: true,
      problem: `the daemon runs but is ${health.status}: ${health.message}${
        health.last_error ? ` (${health.last_error})` : ""
      }`,
      health,
    };
  }
  return { running: true, problem: null, health };
}

/**
 * The loud warning shown when the daemon is not running or unhealthy (the
 * problem quotes health.json, which quotes remotes: escaped by `termSafe`).
 */
export function daemonWarning(check: DaemonCheck, castPath: string): string {
  const bar = "!".repeat(72);
  const problem = termSafe(check.problem ?? "");
  castPath = termSafe(castPath);
  const lines = check.running
    ? [
      `WARNING: ${problem}.`,
      "This recording is saved locally and queued, but backups may not reach the remote.",
      "Check: deno task daemon-status    Logs: deno task daemon-logs",
    ]
    : [
      `WARNING: the backup daemon is NOT running: ${problem}.`,
      `This recording is saved only locally (${castPath}) and is NOT backed up`,
      "until the daemon runs. Start it with:",
      "",
      "    deno task daemon-start",
    ];
  return [bar, ...lines, bar].join("\n");
}

/** How far the backup of a recording got. */
export interface BackupProgress {
  /** Where the .cast is now (active/ or done/), or null when there is none. */
  castPath: string | null;
  /** Its size in bytes. */
  size: number;
  /** Bytes pushed to the remote (from the daemon's checkpoint), or null when unknown. */
  pushed: number | null;
  /** True when the daemon finished it (all pushed, manifest written, moved to done/). */
  done: boolean;
}

/** Reads the daemon's checkpoint (`state/<id>.json`) and the file size. */
export async function backupProgress(paths: HomePaths, id: string): Promise<BackupProgress> {
  let castPath: string | null = null;
  let size = 0;
  for (const dir of [paths.active, paths.done]) {
    try {
      const info = await Deno.stat(join(dir, `${id}.cast`));
      castPath = join(dir, `${id}.cast`);
      size = info.size;
      break;
    } catch {
      // not here
    }
  }
  let pushed: number | null = null;
  let done = false;
  const state = await loadState(statePath(paths.state, id)).catch(() => undefined);
  if (state && !(state instanceof Error)) {
    pushed = state.pushed_offset;
    done = state.done;
  } else {
    const health = await readHealth(paths.health);
    const rec = health?.recordings?.[id];
    if (rec && typeof rec.pushed_offset === "number") pushed = rec.pushed_offset;
  }
  return { castPath, size, pushed, done };
}

/** The summary printed after the recording (every field from outside escaped by `termSafe`). */
export function summary(
  id: string,
  progress: BackupProgress,
  options: { daemonRunning: boolean; target: Target },
): string {
  const where = termSafe(
    options.target.repoUrl
      ? `${options.target.repoUrl} (branch ${options.target.branch})`
      : `the daemon's default remote (branch ${options.target.branch})`,
  );
  const lines = [`Recording ${termSafe(id)}`];
  if (!progress.castPath) {
    lines.push("  Nothing was recorded (asciinema wrote no file).");
    return lines.join("\n");
  }
  lines.push(`  File:      ${termSafe(progress.castPath)} (${progress.size} bytes)`);
  if (progress.done || (progress.pushed !== null && progress.pushed >= progress.size)) {
    lines.push(`  Backed up: yes, all ${progress.size} bytes are on ${where}`);
  } else if (options.daemonRunning) {
    lines.push(
      `  Backed up: not yet (${
        progress.pushed ?? 0
      } of ${progress.size} bytes pushed to ${where}); the daemon is on it`,
      "             check with: deno task daemon-status",
    );
  } else {
    lines.push(
      `  Backed up: NO (${
        progress.pushed ?? 0
      } of ${progress.size} bytes pushed): the daemon is not running`,
      "             start it with: deno task daemon-start",
    );
  }
  lines.push(`  Restore:   ${termSafe(restoreCommandLine(id))}`);
  return lines.join("\n");
}

function parseSeconds(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number) || number < 0) {
      throw new InvalidArgumentError(`${name} must be a number of seconds, got ${value}`);
    }
    return number;
  };
}

/** Builds the command line (exported for tests). */
export function buildCli(action: (options: BootstrapOptions) => Promise<void>) {
  return new Command()
    .name("bootstrap.ts")
    .description(
      "Record a terminal session with asciinema into ~/.asciinema/active/, where the backup daemon picks it up.",
    )
    .option("--repo <url>", "remote to back up to (default: REPO_URL, config.json, git origin)")
    .option("--branch <name>", "branch (default: BRANCH, config.json, asciinema-recordings)")
    .option("--workspace <name>", "workspace name in the id (default: the directory's name)")
    .option("-t, --title <title>", "title of the recording")
    .option("-c, --command <command>", "record this command instead of a shell")
    .option(
      "-i, --idle-time-limit <seconds>",
      "cap recorded idle time",
      parseSeconds("--idle-time-limit"),
    )
    .option("--capture-input", "record keystrokes too (passwords you type included)")
    .option(
      "--allow-public",
      "let the daemon push this recording to a public GitHub repository even unencrypted",
    )
    .option(
      "--wait <seconds>",
      "after recording, wait this long for the backup (0: do not wait)",
      parseSeconds("--wait"),
      10,
    )
    .addOption(new Option("--cwd <dir>", "directory to record in").hideHelp())
    .showHelpAfterError()
    .action(async (options) => {
      await action(options);
    });
}

/** Where the recording's files are. */
interface Recording {
  id: string;
  jsonPath: string;
  castPath: string;
}

async function waitForBackup(paths: HomePaths, id: string, seconds: number, stop: AbortSignal) {
  const deadline = Date.now() + seconds * 1000;
  let progress = await backupProgress(paths, id);
  while (
    Date.now() < deadline && !stop.aborted && progress.castPath &&
    !(progress.done || (progress.pushed !== null && progress.pushed >= progress.size))
  ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    progress = await backupProgress(paths, id);
  }
  return progress;
}

/**
 * After asciinema exits: writes `ended` into the config, removes the files
 * of a recording that never started (empty .cast), and tidies a config left
 * behind when the daemon already moved the .cast to done/.
 */
async function finishRecording(paths: HomePaths, recording: Recording): Promise<void> {
  const ended = await markRecordingEnded(recording.jsonPath);
  if (!ended.ok && !ended.missing) {
    printLine(`Warning: could not mark the recording as ended: ${ended.error}`);
  }
  let size: number | null = null;
  try {
    size = (await Deno.lstat(recording.castPath)).size;
  } catch {
    size = null;
  }
  if (size === 0) {
    // asciinema never wrote its header: nothing to back up.
    await Deno.remove(recording.castPath).catch(() => {});
    await Deno.remove(recording.jsonPath).catch(() => {});
  } else if (size === null) {
    await tidyAfterEnd(paths, recording);
  }
}

/** If the daemon already moved the .cast to done/, a config written back into active/ is an orphan: move it along. */
async function tidyAfterEnd(paths: HomePaths, recording: Recording): Promise<void> {
  try {
    await Deno.lstat(recording.castPath);
    return; // still in active/: the daemon will move both
  } catch {
    // gone from active/
  }
  try {
    await Deno.lstat(recording.jsonPath);
  } catch {
    return;
  }
  const target = join(paths.done, `${recording.id}.json`);
  const taken = await Deno.lstat(target).then(() => true, () => false);
  if (taken) await Deno.remove(recording.jsonPath).catch(() => {});
  else await Deno.rename(recording.jsonPath, target).catch(() => {});
}

/** Restores a terminal left in raw mode by a recorder that was killed. */
async function restoreTerminal(): Promise<void> {
  if (!Deno.stdin.isTerminal()) return;
  try {
    await new Deno.Command("stty", {
      args: ["sane"],
      stdin: "inherit",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(5000),
    }).output();
  } catch {
    // best effort
  }
}

/** Records one session; returns the exit code. */
export async function record(options: BootstrapOptions): Promise<number> {
  const cwd = resolve(options.cwd ?? Deno.cwd());
  const paths = homePaths();
  await ensureHome(paths);

  const asciinema = await detectAsciinema();
  if (!asciinema.ok) {
    printLine(`ERROR: ${asciinema.error}`);
    return 1;
  }
  if (Deno.env.get("ASCIINEMA_REC") === "1") {
    console.error(
      "Note: this terminal is already being recorded by asciinema; starting a nested recording.",
    );
  }

  let resolved;
  try {
    resolved = await resolveTarget(options, { cwd, configPath: paths.config });
  } catch (error) {
    printLine(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const { target, warnings } = resolved;
  for (const warning of warnings) printLine(`Warning: ${warning}`);

  const workspace = options.workspace || basename(cwd) || "workspace";
  const started = new Date();
  const localRepo = join(
    paths.repos,
    repoSlug({ url: target.repoUrl ?? paths.backupGit, branch: target.branch }),
  );
  const base: RecordingConfig = {
    ...(target.repoUrl ? { repo_url: target.repoUrl } : {}),
    branch: target.branch,
    local_repo: localRepo,
    workspace,
    started: started.toISOString(),
    recorder_pid: Deno.pid,
    asciinema_version: asciinema.version.text,
    ...(options.title ? { title: options.title } : {}),
    ...(options.allowPublic ? { allow_public: true } : {}),
  };
  // Signals: from here on, never die leaving a recording without `ended`.
  // SIGTERM/SIGHUP/SIGINT sent to bootstrap go on to asciinema; a recorder that will not stop is
  // escalated to SIGTERM, then SIGKILL.
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  let received: Deno.Signal | null = null;
  const stopWaiting = new AbortController();
  let child: Deno.ChildProcess | undefined;
  let childExited = false;
  let escalation: ReturnType<typeof setTimeout> | undefined;
  const escalate = (steps: Deno.Signal[]) => {
    clearTimeout(escalation);
    const [next, ...rest] = steps;
    if (!next) return;
    escalation = setTimeout(() => {
      try {
        child?.kill(next);
      } catch {
        // gone
      }
      escalate(rest);
    }, 5000);
  };
  const listeners = signals.map((signal) => {
    const listener = () => {
      stopWaiting.abort();
      if (childExited) return; // only the wait for the backup is cut short
      if (!child) {
        received ??= signal; // not started yet: do not start
        return;
      }
      const first = received === null;
      received ??= signal;
      try {
        child.kill(first ? signal : "SIGKILL");
      } catch {
        // already gone
      }
      if (first) escalate(["SIGTERM", "SIGKILL"]);
    };
    Deno.addSignalListener(signal, listener);
    return { signal, listener };
  });

  const id = await allocateRecordingId(workspace, {
    now: started,
    claim: async (candidate) => {
      for (const dir of [paths.active, paths.done]) {
        try {
          await Deno.lstat(join(dir, `${candidate}.cast`));
          throw new Deno.errors.AlreadyExists(`${candidate}.cast exists`);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      const jsonPath = join(paths.active, `${candidate}.json`);
      await createRecordingConfig(jsonPath, base);
      // An empty, private .cast: asciinema (with --overwrite) truncates it and
      // keeps its 0600 mode, whatever the person's umask.
      try {
        (await Deno.open(join(paths.active, `${candidate}.cast`), {
          write: true,
          createNew: true,
          mode: 0o600,
        })).close();
      } catch (error) {
        await Deno.remove(jsonPath).catch(() => {});
        throw error;
      }
    },
  });
  const recording: Recording = {
    id,
    jsonPath: join(paths.active, `${id}.json`),
    castPath: join(paths.active, `${id}.cast`),
  };

  const [check, note] = await Promise.all([
    checkDaemon(paths.health),
    // Encrypted? A public GitHub repository? (at most 2 s, best effort, no token)
    readRawSettings(paths.config).catch(() => ({})).then((config) =>
      backupNote({
        paths,
        config,
        repoUrl: target.repoUrl,
        branch: target.branch,
        allowPublic: options.allowPublic,
      })
    ),
    // Stale GitHub ControlMasters make the person's own git hang; only those are closed.
    clearGitHubControlMasters().catch(() => []),
  ]);
  if (check.problem) console.error(daemonWarning(check, recording.castPath));

  let args: string[];
  try {
    args = buildRecArgs(asciinema.version, {
      file: recording.castPath,
      title: options.title,
      command: options.command,
      idleTimeLimit: options.idleTimeLimit,
      captureInput: options.captureInput,
      overwrite: true,
    });
  } catch (error) {
    await Deno.remove(recording.jsonPath).catch(() => {});
    await Deno.remove(recording.castPath).catch(() => {});
    printLine(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }

  printLine(`Recording ${id}`);
  printLine(
    `  into ${recording.castPath}, backed up to ${
      target.repoUrl ?? "the daemon's default remote"
    } (branch ${target.branch})`,
  );
  printLine(`  chunks ${note.text}`);
  if (note.warning) printLine(note.warning);

  let code = 1;
  try {
    if (received) return 128 + signalNumber(received);
    try {
      // The recorder runs as long as the person records: no timeout by design.
      child = new Deno.Command("asciinema", {
        args,
        cwd,
        env: { ASCIINEMA_CHUNKER_ID: id },
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      printLine(
        `ERROR: could not start asciinema: ${error instanceof Error ? error.message : error}`,
      );
      return 1;
    }
    // asciinema lives exactly as long as the recording: the daemon watches its pid.
    await updateRecordingConfig(recording.jsonPath, { recorder_pid: child.pid });
    const status = await child.status;
    childExited = true;
    clearTimeout(escalation);
    code = status.code;
    if (status.signal) {
      code = 128 + signalNumber(status.signal);
      await restoreTerminal();
    }
  } finally {
    clearTimeout(escalation);
    await finishRecording(paths, recording);
    if (!child) {
      for (const { signal, listener } of listeners) Deno.removeSignalListener(signal, listener);
    }
  }
  if (received) {
    console.error(`Stopped by ${received}.`);
    code = 128 + signalNumber(received);
  }

  const waitSeconds = received ? 0 : options.wait ?? 10;
  const daemonNow = await checkDaemon(paths.health);
  const progress = daemonNow.running && waitSeconds > 0
    ? await waitForBackup(paths, id, waitSeconds, stopWaiting.signal)
    : await backupProgress(paths, id);
  for (const { signal, listener } of listeners) Deno.removeSignalListener(signal, listener);
  console.error(summary(id, progress, { daemonRunning: daemonNow.running, target }));
  return code;
}

function signalNumber(signal: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 1;
}

/** Parses `argv` and records; returns the exit code (an error is one line, never a stack trace). */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  try {
    await buildCli(async (options) => {
      code = await record(options);
    }).parseAsync(argv, { from: "user" });
  } catch (error) {
    return printFatal(error, "ERROR");
  }
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
