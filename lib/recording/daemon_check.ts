/**
 * The daemon as bootstrap sees it before and after a recording: running and
 * healthy (health.json: a live pid, a fresh heartbeat), and the loud warning
 * when it is not.
 *
 * @module
 */
import { daemonLiveness, type Health, readHealth } from "../status/mod.ts";
import { termSafe } from "../sys/mod.ts";

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
