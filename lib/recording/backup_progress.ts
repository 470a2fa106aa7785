/**
 * How far a recording's backup got (the daemon's checkpoint, else health.json),
 * the wait for it after a recording, and the summary bootstrap prints.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadState, statePath } from "../chunk/mod.ts";
import { readHealth } from "../status/mod.ts";
import { type HomePaths, shellQuote, termSafe, waitUntil } from "../sys/mod.ts";
import type { Target } from "./target.ts";

/** The command line that restores recording `id` (printed after a recording and by `restore`). */
export function restoreCommandLine(id: string): string {
  const daemon = fileURLToPath(new URL("../../daemon.ts", import.meta.url));
  return `deno run -A ${shellQuote(daemon)} restore ${id.startsWith("-") ? "-- " : ""}${
    shellQuote(id)
  }`;
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
  if (backedUp(progress)) {
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

/** True when every byte of the recording is on the remote (or the daemon finished it). */
function backedUp(progress: BackupProgress): boolean {
  return progress.done || (progress.pushed !== null && progress.pushed >= progress.size);
}

/**
 * Waits up to `seconds` (monotonic) for the backup of recording `id` to
 * finish; `stop` ends the wait early. Returns the last progress seen.
 */
export function waitForBackup(
  paths: HomePaths,
  id: string,
  options: { seconds: number; signal: AbortSignal },
): Promise<BackupProgress> {
  return waitUntil(
    () => backupProgress(paths, id),
    (progress) => !progress.castPath || backedUp(progress),
    { timeoutMs: options.seconds * 1000, signal: options.signal },
  );
}
