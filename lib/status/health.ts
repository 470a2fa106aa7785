/**
 * `health.json`: the daemon's health, rewritten atomically. Keeps the bash
 * version's fields (`status`, `message`, `last_update`, `last_push`,
 * `chunks_pushed`, `pid`, `idle_threshold`, `zstd_level`) and adds ours.
 *
 * @module
 */
import type { ErrorKind } from "../git/mod.ts";
import { pidAlive, readJsonIfExists, writeJsonAtomic } from "../sys/mod.ts";

/** The daemon's state as a whole, as `health.json` says it. */
export type HealthStatus = "starting" | "ok" | "degraded" | "error" | "stopped";

/** Per-recording health. */
export interface RecordingHealth {
  /** The folder its chunks go to (`<id>` or `<id>~N` for a new generation). */
  chunk_id: string;
  /** Size of the `.cast` file when last looked at. */
  size: number;
  /** Bytes cut into chunks. */
  cut_offset: number;
  /** Bytes pushed to the remote. */
  pushed_offset: number;
  /** Chunks waiting in the spool. */
  spool_chunks: number;
  /** Bytes (compressed) waiting in the spool. */
  spool_bytes: number;
  /** When the oldest byte not yet pushed was first seen (ISO), or null. */
  oldest_pending_at: string | null;
  /**
   * When the oldest byte of the file that is not on the remote yet (cut or
   * not) was first seen (ISO), or null when everything is pushed.
   */
  oldest_unpushed_at?: string | null;
  /** Its age in seconds when health.json was written: what a lost laptop would cost. */
  unpushed_age_seconds?: number | null;
  /** `recording`, `ended`, `held` (not published: fix its config, or a public repository) or `error`. */
  state: "recording" | "ended" | "held" | "error";
  /** Remote URL (never with credentials). */
  remote: string;
  branch: string;
  /** The last problem with this recording, or null. */
  last_error: string | null;
  /**
   * Why it is not published yet though nothing is wrong with it: where it
   * starts on its remote's branch is not known (the branch could not be read).
   */
  waiting?: string;
}

/** Per-remote (clone) health. */
export interface RemoteHealth {
  /** Remote URL (never with credentials). */
  url: string;
  branch: string;
  /** Last successful push (ISO) or null. */
  last_push: string | null;
  /** Last push error, or null when the last push worked. */
  last_error: string | null;
  /** Kind of the last error. */
  error_kind: ErrorKind | null;
  /** When pushes started failing (ISO), or null. */
  failing_since: string | null;
  /** When the next attempt is due (ISO), or null. */
  next_retry_at: string | null;
  /** Chunks committed or spooled and not yet pushed. */
  queued_chunks: number;
  /** A GitHub remote's visibility, as the GitHub API last said (absent: not asked). */
  visibility?: "public" | "private" | "unknown";
  /** What the remote did that people should know (it went back, it was rewritten). */
  notice?: string;
}

/** The whole health.json document. */
export interface Health {
  /** Overall status. */
  status: HealthStatus;
  /** One line for people. */
  message: string;
  /** When this document was written (ISO). */
  last_update: string;
  /** Last successful push to any remote (ISO) or null. */
  last_push: string | null;
  /** Chunks pushed over the daemon's lifetime (persisted across restarts). */
  chunks_pushed: number;
  /** The daemon's pid. */
  pid: number;
  /** Idle threshold in seconds. */
  idle_threshold: number;
  zstd_level: number;
  /** Last heartbeat (ISO); refreshed every `heartbeat_interval_seconds`. */
  heartbeat: string;
  /** Seconds between heartbeats. */
  heartbeat_interval_seconds: number;
  /** When this daemon process started (ISO). */
  started_at: string;
  /** Active recordings by id. */
  recordings: Record<string, RecordingHealth>;
  /** Remotes by clone slug. */
  remotes: Record<string, RemoteHealth>;
  /** The most recent error anywhere, or null. */
  last_error: string | null;
}

/** Writes health.json atomically (0600). */
export async function writeHealth(path: string, health: Health): Promise<void> {
  await writeJsonAtomic(path, health);
}

/** Reads health.json; `undefined` when absent or unreadable. */
export async function readHealth(path: string): Promise<Health | undefined> {
  try {
    const value = await readJsonIfExists(path);
    if (value && typeof value === "object") return value as Health;
  } catch {
    // A torn or foreign file reads as "no health".
  }
  return undefined;
}

/** What health.json and the process table say about the daemon. */
export interface Liveness {
  /** The pid checked is alive (null: no pid to check). */
  pidAlive: boolean | null;
  /** Seconds since the last heartbeat (null: none, or unreadable). */
  heartbeatAgeSeconds: number | null;
  /** The heartbeat is missing or older than three intervals. */
  heartbeatStale: boolean;
  /** The heartbeat interval the daemon announced (or the fallback). */
  intervalSeconds: number;
  /** Not stopped, pid alive and heartbeat fresh: the daemon runs, whatever `status` says. */
  running: boolean;
}

/** Options for {@linkcode daemonLiveness}. */
export interface LivenessOptions {
  /** Clock in milliseconds (default `Date.now()`). */
  now?: number;
  /** The pid to check instead of health.json's (a service manager's answer). */
  pid?: number | null;
  /** Process liveness (default `pidAlive` of lib/sys/process.ts). */
  isAlive?: (pid: number) => Promise<boolean>;
  /** Interval when health.json names none (default 15 s). */
  defaultIntervalSeconds?: number;
}

/**
 * The one rule for "is the daemon running": a dead pid or a heartbeat three
 * intervals old (two beats missed) means not running, whatever health.json says.
 */
export async function daemonLiveness(
  health: Health | undefined,
  options: LivenessOptions = {},
): Promise<Liveness> {
  const now = options.now ?? Date.now();
  const announced = Number(health?.heartbeat_interval_seconds);
  const intervalSeconds = announced > 0 ? announced : options.defaultIntervalSeconds ?? 15;
  const beat = health?.heartbeat ? Date.parse(health.heartbeat) : NaN;
  const heartbeatAgeSeconds = Number.isFinite(beat)
    ? Math.max(0, Math.round((now - beat) / 1000))
    : null;
  const heartbeatStale = heartbeatAgeSeconds === null ||
    heartbeatAgeSeconds >= 3 * intervalSeconds;
  const pid = options.pid !== undefined ? options.pid : health?.pid ?? null;
  let alive: boolean | null = null;
  if (pid !== null && Number.isInteger(pid) && pid > 0) {
    alive = await (options.isAlive ?? pidAlive)(pid);
  }
  return {
    pidAlive: alive,
    heartbeatAgeSeconds,
    heartbeatStale,
    intervalSeconds,
    running: Boolean(health) && health?.status !== "stopped" && alive === true &&
      !heartbeatStale,
  };
}
