/**
 * The daemon's start before its loop: the home layout, logging, the pidfile
 * and config.json. In a terminal a problem here ends the daemon at once
 * (exit 3: another daemon runs; exit 2: invalid config.json). Under a
 * service manager that would be a crash loop — launchd's `KeepAlive` and
 * systemd's `Restart=always` start it again every 10 s, forever, each time
 * adding to the log — so there the daemon stays up instead:
 *
 * - another daemon holds the pidfile (say one started in a terminal): it
 *   logs that once and tries to claim the pidfile again every few seconds,
 *   taking over when the other one stops (health.json stays the other's);
 * - config.json is invalid: it writes `status: "error"` with the reason
 *   to health.json (so `status` shows it), keeps its heartbeat fresh and
 *   re-reads config.json every few seconds, starting as soon as it is valid.
 *
 * KeepAlive stays `true` rather than `{SuccessfulExit: false}`: a daemon
 * stopped by a plain `kill` exits 0 and must come back too.
 *
 * Under launchd or detached, the stderr file (which nothing rotates) is cut
 * to its last {@linkcode STDERR_KEEP_BYTES} at start when it has grown past
 * {@linkcode STDERR_MAX_BYTES}, and only warnings and errors go to it.
 *
 * @module
 */
import { join } from "node:path";
import { type Health, readHealth, writeHealth } from "../status/mod.ts";
import {
  consoleLevelFor,
  delay,
  ensureHome,
  type HomePaths,
  loadSettings,
  log,
  redact,
  type Settings,
  SettingsError,
  setupLogging,
  shutdownLogging,
  termSafe,
  writeFully,
} from "../sys/mod.ts";
import { claimPidfile, releasePidfile, type RunMode, runModeFrom } from "./pidfile.ts";

/** A stderr file longer than this is cut at start. */
const STDERR_MAX_BYTES = 1024 * 1024;
/** How much of the stderr file's end is kept when it is cut. */
export const STDERR_KEEP_BYTES = 256 * 1024;
/** How often a waiting daemon tries the pidfile or config.json again. */
const STARTUP_RETRY_MS = 5000;

/** True for the managers that restart the daemon whenever it exits. */
function restartsOnExit(mode: RunMode): boolean {
  return mode === "launchd" || mode === "systemd";
}

/**
 * Cuts `path` to its last `keepBytes` when it is larger than `maxBytes`
 * (the writer appends, so it goes on at the new end). True when it did.
 */
export async function trimLogFile(
  path: string,
  options: { maxBytes?: number; keepBytes?: number } = {},
): Promise<boolean> {
  const maxBytes = options.maxBytes ?? STDERR_MAX_BYTES;
  const keepBytes = options.keepBytes ?? STDERR_KEEP_BYTES;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch {
    return false;
  }
  try {
    const { size } = await file.stat();
    if (size <= maxBytes) return false;
    const keep = new Uint8Array(Math.min(keepBytes, size));
    await file.seek(size - keep.length, Deno.SeekMode.Start);
    let read = 0;
    while (read < keep.length) {
      const n = await file.read(keep.subarray(read));
      if (n === null) break;
      read += n;
    }
    // Start at a line boundary.
    const newline = keep.indexOf(10);
    const tail = newline >= 0 && newline + 1 < read ? keep.subarray(newline + 1, read) : keep;
    const note = new TextEncoder().encode(
      `[asciinema-chunker: cut to the last ${tail.length} bytes at start (was ${size})]\n`,
    );
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await writeFully(file, note);
    await writeFully(file, tail);
    return true;
  } finally {
    file.close();
  }
}

/** Options for {@linkcode prepareDaemon}. */
export interface PrepareOptions {
  /** `run --once`: never wait, exit with the code. */
  once?: boolean;
  /** How it was started (default from `ASCIINEMA_SERVICE_MANAGER`). */
  mode?: RunMode;
  /** Pause between attempts (default {@linkcode STARTUP_RETRY_MS}). */
  retryMs?: number;
  /** Ends a wait (default: SIGTERM, SIGINT, SIGHUP). */
  signal?: AbortSignal;
  /** stderr lines (tests). */
  consoleWrite?: (text: string) => void;
}

/** What {@linkcode prepareDaemon} gives: go on with the settings, or exit with a code. */
export type Prepared = { ok: true; settings: Settings } | { ok: false; code: number };

function signalsController(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  const onSignal = () => controller.abort();
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of signals) Deno.removeSignalListener(name, onSignal);
    },
  };
}

/** health.json while config.json is invalid: `error`, the reason, a fresh heartbeat. */
function configErrorHealth(
  message: string,
  options: { previous?: Health; intervalSeconds: number; startedAt: string },
): Health {
  const now = new Date().toISOString();
  return {
    status: "error",
    message,
    last_update: now,
    last_push: options.previous?.last_push ?? null,
    chunks_pushed: options.previous?.chunks_pushed ?? 0,
    pid: Deno.pid,
    idle_threshold: options.previous?.idle_threshold ?? 30,
    zstd_level: options.previous?.zstd_level ?? 3,
    heartbeat: now,
    heartbeat_interval_seconds: options.intervalSeconds,
    started_at: options.startedAt,
    recordings: {},
    remotes: {},
    last_error: message,
  };
}

/**
 * Creates the home, sets up logging, claims the pidfile and loads
 * config.json; under launchd or systemd it waits out another daemon and an
 * invalid config.json instead of exiting (see the module doc). On
 * `{ok: true}` the caller holds the pidfile and releases it at the end; on
 * `{ok: false}` nothing is held and logging is shut down.
 */
export async function prepareDaemon(
  paths: HomePaths,
  options: PrepareOptions = {},
): Promise<Prepared> {
  const mode = options.mode ?? runModeFrom();
  const wait = restartsOnExit(mode) && !options.once;
  const retryMs = options.retryMs ?? STARTUP_RETRY_MS;
  await ensureHome(paths);
  if (mode === "launchd" || mode === "detached") {
    await trimLogFile(join(paths.logs, `${mode}-stderr.log`)).catch(() => false);
  }
  await setupLogging({
    logFile: paths.logFile,
    console: true,
    consoleLevel: consoleLevelFor(mode),
    consoleWrite: options.consoleWrite,
  });
  const say = (raw: string) => {
    const text = termSafe(redact(raw));
    options.consoleWrite ? options.consoleWrite(`${text}\n`) : console.error(text);
  };
  const own = options.signal ? undefined : signalsController();
  const signal = options.signal ?? own!.signal;
  try {
    // One daemon per home: two processes must never cut the same files.
    let announced = false;
    while (true) {
      const claim = await claimPidfile(paths);
      if (claim.ok) break;
      const message = `another daemon is already running for ${paths.home}${
        claim.pid ? ` (pid ${claim.pid})` : ""
      }; see \`deno task daemon-status\``;
      if (!wait) {
        log("daemon").error(message);
        say(`asciinema-chunker: ${message}`);
        await shutdownLogging();
        return { ok: false, code: 3 };
      }
      if (!announced) {
        log("daemon").warn(
          "{message}; waiting for it to stop (trying again every {seconds} s) instead of " +
            "exiting, which {mode} would answer with a restart every 10 s",
          { message, seconds: retryMs / 1000, mode },
        );
        announced = true;
      }
      if (!(await delay(retryMs, { signal }))) {
        await shutdownLogging();
        return { ok: false, code: 0 };
      }
    }
    const startedAt = new Date().toISOString();
    const previous = await readHealth(paths.health);
    let reported = "";
    while (true) {
      try {
        const settings = await loadSettings(paths.config);
        if (reported) log("daemon").info("config.json is valid again; starting");
        return { ok: true, settings };
      } catch (error) {
        if (!(error instanceof SettingsError)) {
          await releasePidfile(paths);
          throw error;
        }
        if (!wait) {
          log("daemon").error("Invalid settings, not starting:\n{message}", {
            message: error.message,
          });
          say("asciinema-chunker: invalid settings, not starting:");
          for (const line of error.message.split("\n")) say(line);
          await shutdownLogging();
          await releasePidfile(paths);
          return { ok: false, code: 2 };
        }
        const message = `invalid settings, waiting for a fix (config.json is re-read every ${
          retryMs / 1000
        } s): ${error.message}`;
        if (message !== reported) {
          log("daemon").error("{message}", { message });
          reported = message;
        }
        await writeHealth(
          paths.health,
          configErrorHealth(message, {
            previous,
            intervalSeconds: Math.max(1, Math.ceil(retryMs / 1000)),
            startedAt,
          }),
        ).catch(() => {});
        if (!(await delay(retryMs, { signal }))) {
          const stopped = await readHealth(paths.health);
          if (stopped) await writeHealth(paths.health, { ...stopped, status: "stopped" });
          await shutdownLogging();
          await releasePidfile(paths);
          return { ok: false, code: 0 };
        }
      }
    }
  } finally {
    own?.dispose();
  }
}
