/**
 * One recording as `bootstrap.ts` makes it: decide where it goes, claim an id
 * (`active/<id>.json` and an empty private `.cast`), run asciinema with the
 * terminal inherited (signals passed on, a recorder that will not stop
 * escalated), then mark it ended, tidy what the daemon already moved, and
 * report how far the backup got. {@linkcode record} returns the exit code.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { clearGitHubControlMasters, repoSlug } from "../git/mod.ts";
import {
  ensureHome,
  errorMessage,
  type HomePaths,
  homePaths,
  printLine,
  readRawSettings,
} from "../sys/mod.ts";
import { type AsciinemaVersion, buildRecArgs, detectAsciinema } from "./asciinema_cli.ts";
import { backupNote } from "./backup_note.ts";
import { backupProgress, summary, waitForBackup } from "./backup_progress.ts";
import {
  createRecordingConfig,
  markRecordingEnded,
  type RecordingConfig,
  updateRecordingConfig,
} from "./config.ts";
import { checkDaemon, daemonWarning } from "./daemon_check.ts";
import { allocateRecordingId } from "./id.ts";
import { remoteOf, resolveTarget, type Target } from "./target.ts";

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

/** Where the recording's files are. */
interface RecordingFiles {
  id: string;
  jsonPath: string;
  castPath: string;
}

/** The `.json` bootstrap writes before asciinema starts. */
function initialConfig(
  paths: HomePaths,
  target: Target,
  options: BootstrapOptions & { workspace: string; started: Date; asciinemaVersion: string },
): RecordingConfig {
  const remote = remoteOf({ url: target.repoUrl, branch: target.branch }, {
    backupGit: paths.backupGit,
  });
  return {
    ...(target.repoUrl ? { repo_url: target.repoUrl } : {}),
    branch: target.branch,
    local_repo: join(paths.repos, repoSlug(remote)),
    workspace: options.workspace,
    started: options.started.toISOString(),
    recorder_pid: Deno.pid,
    asciinema_version: options.asciinemaVersion,
    ...(options.title ? { title: options.title } : {}),
    ...(options.allowPublic ? { allow_public: true } : {}),
  };
}

/** Claims a free id: its `.json` and an empty private `.cast` in `active/`. */
async function claimRecording(
  paths: HomePaths,
  options: { workspace: string; started: Date; config: RecordingConfig },
): Promise<RecordingFiles> {
  const id = await allocateRecordingId(options.workspace, {
    now: options.started,
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
      await createRecordingConfig(jsonPath, options.config);
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
  return {
    id,
    jsonPath: join(paths.active, `${id}.json`),
    castPath: join(paths.active, `${id}.cast`),
  };
}

/**
 * From its creation on, a recording never dies without `ended`: SIGINT,
 * SIGTERM and SIGHUP go on to asciinema (a second one as SIGKILL); a recorder
 * that will not stop is sent SIGTERM, then SIGKILL, 5 s apart. Before it
 * started, a signal only keeps it from starting; after it exited, a signal
 * only cuts the wait for the backup short.
 */
class RecorderSignals {
  /** The first signal received, or null. */
  received: Deno.Signal | null = null;
  /** Aborted by any signal: ends the wait for the backup. */
  readonly stopWaiting = new AbortController();
  #child: Deno.ChildProcess | undefined;
  #exited = false;
  #escalation: ReturnType<typeof setTimeout> | undefined;
  #listeners: { signal: Deno.Signal; listener: () => void }[];

  constructor() {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    this.#listeners = signals.map((signal) => {
      const listener = () => this.#on(signal);
      Deno.addSignalListener(signal, listener);
      return { signal, listener };
    });
  }

  /** The recorder started: signals go to it from now on. */
  started(child: Deno.ChildProcess): void {
    this.#child = child;
  }

  /** The recorder exited: no more escalation. */
  exited(): void {
    this.#exited = true;
    clearTimeout(this.#escalation);
  }

  /** Stops listening. */
  dispose(): void {
    clearTimeout(this.#escalation);
    for (const { signal, listener } of this.#listeners) {
      Deno.removeSignalListener(signal, listener);
    }
  }

  #on(signal: Deno.Signal): void {
    this.stopWaiting.abort();
    if (this.#exited) return; // only the wait for the backup is cut short
    if (!this.#child) {
      this.received ??= signal; // not started yet: do not start
      return;
    }
    const first = this.received === null;
    this.received ??= signal;
    this.#kill(first ? signal : "SIGKILL");
    if (first) this.#escalate(["SIGTERM", "SIGKILL"]);
  }

  #kill(signal: Deno.Signal): void {
    try {
      this.#child?.kill(signal);
    } catch {
      // already gone
    }
  }

  #escalate(steps: Deno.Signal[]): void {
    clearTimeout(this.#escalation);
    const [next, ...rest] = steps;
    if (!next) return;
    this.#escalation = setTimeout(() => {
      this.#kill(next);
      this.#escalate(rest);
    }, 5000);
  }
}

/**
 * After asciinema exits: writes `ended` into the config, removes the files
 * of a recording that never started (empty .cast), and tidies a config left
 * behind when the daemon already moved the .cast to done/.
 */
async function endRecording(paths: HomePaths, recording: RecordingFiles): Promise<void> {
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
async function tidyAfterEnd(paths: HomePaths, recording: RecordingFiles): Promise<void> {
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

/** Prints where the recording goes, and what the daemon and the remote look like. */
async function announce(
  paths: HomePaths,
  recording: RecordingFiles,
  options: { target: Target; allowPublic?: boolean },
): Promise<void> {
  const { target } = options;
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
  printLine(`Recording ${recording.id}`);
  printLine(
    `  into ${recording.castPath}, backed up to ${
      target.repoUrl ?? "the daemon's default remote"
    } (branch ${target.branch})`,
  );
  printLine(`  chunks ${note.text}`);
  if (note.warning) printLine(note.warning);
}

/**
 * Runs asciinema with the terminal inherited until it exits; returns its exit
 * code (128 + the signal's number when a signal ended it), and whether it ran
 * at all (a signal before the start, or a failed start: nothing more to say).
 * The recording is marked ended whatever happens.
 */
async function runRecorder(
  paths: HomePaths,
  recording: RecordingFiles,
  options: { args: string[]; cwd: string; signals: RecorderSignals },
): Promise<{ code: number; ran: boolean }> {
  const { signals } = options;
  try {
    if (signals.received) return { code: 128 + signalNumber(signals.received), ran: false };
    let child: Deno.ChildProcess;
    try {
      // The recorder runs as long as the person records: no timeout by design.
      child = new Deno.Command("asciinema", {
        args: options.args,
        cwd: options.cwd,
        env: { ASCIINEMA_CHUNKER_ID: recording.id },
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      printLine(
        `ERROR: could not start asciinema: ${errorMessage(error)}`,
      );
      return { code: 1, ran: false };
    }
    signals.started(child);
    // asciinema lives exactly as long as the recording: the daemon watches its pid.
    await updateRecordingConfig(recording.jsonPath, { recorder_pid: child.pid });
    const status = await child.status;
    signals.exited();
    if (!status.signal) return { code: status.code, ran: true };
    await restoreTerminal();
    return { code: 128 + signalNumber(status.signal), ran: true };
  } finally {
    signals.exited();
    await endRecording(paths, recording);
  }
}

/** The asciinema command line, or an error (the claimed files are removed). */
async function recorderArgs(
  version: AsciinemaVersion,
  recording: RecordingFiles,
  options: BootstrapOptions,
): Promise<string[] | Error> {
  try {
    return buildRecArgs(version, {
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
    return error instanceof Error ? error : new Error(String(error));
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
    printLine(`ERROR: ${errorMessage(error)}`);
    return 2;
  }
  const { target, warnings } = resolved;
  for (const warning of warnings) printLine(`Warning: ${warning}`);

  const workspace = options.workspace || basename(cwd) || "workspace";
  const started = new Date();
  const config = initialConfig(paths, target, {
    ...options,
    workspace,
    started,
    asciinemaVersion: asciinema.version.text,
  });
  // From here on, never die leaving a recording without `ended`.
  const signals = new RecorderSignals();
  try {
    const recording = await claimRecording(paths, { workspace, started, config });
    await announce(paths, recording, { target, allowPublic: options.allowPublic });
    const args = await recorderArgs(asciinema.version, recording, options);
    if (args instanceof Error) {
      printLine(`ERROR: ${args.message}`);
      return 2;
    }
    const ran = await runRecorder(paths, recording, { args, cwd, signals });
    if (!ran.ran) return ran.code;
    let code = ran.code;
    if (signals.received) {
      console.error(`Stopped by ${signals.received}.`);
      code = 128 + signalNumber(signals.received);
    }
    const waitSeconds = signals.received ? 0 : options.wait ?? 10;
    const daemonNow = await checkDaemon(paths.health);
    const progress = daemonNow.running && waitSeconds > 0
      ? await waitForBackup(paths, recording.id, {
        seconds: waitSeconds,
        signal: signals.stopWaiting.signal,
      })
      : await backupProgress(paths, recording.id);
    signals.dispose();
    console.error(summary(recording.id, progress, { daemonRunning: daemonNow.running, target }));
    return code;
  } finally {
    signals.dispose();
  }
}
