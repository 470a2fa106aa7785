/**
 * The daemon's locked pidfile, `$ASCIINEMA_HOME/run/daemon.pid`.
 *
 * Scheme: the running daemon opens the pidfile, takes an exclusive `flock`
 * on it and writes its pid; it keeps the file open (and locked) until it
 * stops, then empties it. The kernel drops the lock when the process dies,
 * however it dies, so:
 *
 * - locked: a daemon is running, and the pid in the file is its pid (no
 *   guessing from /proc, no pid reuse problem);
 * - not locked but holding a pid: stale (the daemon was killed or crashed);
 * - empty or absent: no daemon.
 *
 * The file is never deleted (deleting a locked file lets a second daemon lock
 * a fresh inode under the same name). `run/daemon.json` says how the daemon
 * was started (`detached`, `launchd`, `systemd` or `foreground`).
 *
 * @module
 */
import { join } from "node:path";
import {
  delay,
  ensurePrivateDir,
  type HomePaths,
  readJsonIfExists,
  writeJsonAtomic,
} from "../sys/mod.ts";

/** How a daemon was started (from `ASCIINEMA_SERVICE_MANAGER`, default `foreground`). */
export type RunMode = "detached" | "launchd" | "systemd" | "foreground";

/** Contents of `run/daemon.json`. */
export interface PidfileInfo {
  /** The daemon's pid. */
  pid: number;
  /** How it was started. */
  mode: RunMode;
  /** When it claimed the pidfile (ISO). */
  started_at: string;
}

/** What {@linkcode inspectPidfile} found. */
export type PidfileState =
  | { state: "running"; pid: number; mode?: RunMode; startedAt?: string }
  | { state: "stale"; pid: number; mode?: RunMode }
  | { state: "absent" };

/** Result of {@linkcode claimPidfile}. */
export type ClaimResult = { ok: true; pid: number } | { ok: false; pid?: number };

/** Path of the pidfile. */
export function pidfilePath(paths: HomePaths): string {
  return join(paths.run, "daemon.pid");
}

/** Path of the run-mode file beside it. */
export function pidInfoPath(paths: HomePaths): string {
  return join(paths.run, "daemon.json");
}

// The claim held by this process, by pidfile path.
const held = new Map<string, Deno.FsFile>();

function parsePid(text: string): number | undefined {
  const pid = Number(text.trim().split("\n")[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

async function readPid(file: Deno.FsFile): Promise<number | undefined> {
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(64);
  const n = await file.read(buffer);
  return n ? parsePid(new TextDecoder().decode(buffer.subarray(0, n))) : undefined;
}

async function readInfo(paths: HomePaths, pid: number): Promise<PidfileInfo | undefined> {
  try {
    const info = await readJsonIfExists(pidInfoPath(paths)) as PidfileInfo | undefined;
    return info && info.pid === pid ? info : undefined;
  } catch {
    return undefined;
  }
}

/** How this process was started, from `ASCIINEMA_SERVICE_MANAGER` (default `foreground`). */
export function runModeFrom(
  env: { get(key: string): string | undefined } = Deno.env,
): RunMode {
  const value = env.get("ASCIINEMA_SERVICE_MANAGER");
  return value === "detached" || value === "launchd" || value === "systemd" ? value : "foreground";
}

/**
 * Claims the pidfile for this process: locks it and writes `Deno.pid`.
 * Returns `{ok: false, pid}` when another live daemon holds it (then this
 * process must not run the daemon). Idempotent within one process. Call at
 * the start of `daemon.ts run` (not `--once`); pair with
 * {@linkcode releasePidfile} at the clean end.
 */
export async function claimPidfile(
  paths: HomePaths,
  options: { mode?: RunMode; attempts?: number } = {},
): Promise<ClaimResult> {
  const path = pidfilePath(paths);
  if (held.has(path)) return { ok: true, pid: Deno.pid };
  await ensurePrivateDir(paths.run);
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  // A reader (status, stop) holds a shared lock for an instant: retry briefly.
  const attempts = options.attempts ?? 20;
  let locked = false;
  for (let i = 0; i < attempts && !locked; i++) {
    locked = await file.tryLock(true);
    if (!locked && i + 1 < attempts) await delay(50);
  }
  if (!locked) {
    const pid = await readPid(file).catch(() => undefined);
    file.close();
    return { ok: false, pid };
  }
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  await file.sync();
  held.set(path, file);
  const info: PidfileInfo = {
    pid: Deno.pid,
    mode: options.mode ?? runModeFrom(),
    started_at: new Date().toISOString(),
  };
  await writeJsonAtomic(pidInfoPath(paths), info);
  return { ok: true, pid: Deno.pid };
}

/** Empties and unlocks the pidfile claimed by this process (no-op otherwise). */
export async function releasePidfile(paths: HomePaths): Promise<void> {
  const path = pidfilePath(paths);
  const file = held.get(path);
  if (!file) return;
  held.delete(path);
  try {
    await file.truncate(0);
    await file.sync();
  } finally {
    file.close();
  }
}

/** Is a daemon running in this home? Never throws for a missing or foreign file. */
export async function inspectPidfile(paths: HomePaths): Promise<PidfileState> {
  const path = pidfilePath(paths);
  const own = held.get(path);
  if (own) {
    const info = await readInfo(paths, Deno.pid);
    return { state: "running", pid: Deno.pid, mode: info?.mode, startedAt: info?.started_at };
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { state: "absent" };
    throw error;
  }
  try {
    const free = await file.tryLock(false);
    const pid = await readPid(file).catch(() => undefined);
    if (free) await file.unlock();
    if (!free) {
      if (pid === undefined) {
        // Locked but not yet written: the daemon is claiming it right now.
        return { state: "running", pid: 0 };
      }
      const info = await readInfo(paths, pid);
      return { state: "running", pid, mode: info?.mode, startedAt: info?.started_at };
    }
    if (pid === undefined) return { state: "absent" };
    return { state: "stale", pid, mode: (await readInfo(paths, pid))?.mode };
  } finally {
    file.close();
  }
}

/** Empties a stale pidfile (one no process holds). Returns true when it did. */
export async function clearStalePidfile(paths: HomePaths): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(pidfilePath(paths), { read: true, write: true });
  } catch {
    return false;
  }
  try {
    if (!(await file.tryLock(true))) return false;
    try {
      await file.truncate(0);
      await file.sync();
    } finally {
      await file.unlock();
    }
    return true;
  } finally {
    file.close();
  }
}
