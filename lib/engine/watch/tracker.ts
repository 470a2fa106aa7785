/**
 * The tracker: gathers the facts the planner needs about one recording's
 * file with cheap I/O (lstat, the header line, the `.json`, the recorder's
 * pid), remembering between calls what need not be read again.
 *
 * @module
 */
import { join } from "node:path";
import { checkHeader, endsWithExitEventSync } from "../../chunk/mod.ts";
import { errorMessage, pidAlive } from "../../sys/mod.ts";
import { readRecordingConfig, type RecordingConfig } from "../../recording/mod.ts";
import { ABSENT, type FileFacts } from "./planner.ts";

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What the tracker remembers about one id between looks. */
export interface TrackerMemo {
  /** asciicast version once the header was read. */
  version?: 1 | 2 | 3;
  /** lstat-derived stamp of the `.json` last read. */
  configStamp: string;
  /** The valid `.json`, if any. */
  config?: RecordingConfig;
  /** Why the `.json` is not usable (its chunks are held), or null. */
  configError: string | null;
  /** A note for people (waiting for a header), or null. */
  note: string | null;
  /** When the recorder's pid was last checked (monotonic ms). */
  pidCheckedAt: number;
  /** Whether it was alive then. */
  pidAlive: boolean;
  /** Size and mtime at the last exit-event check, and what it found. */
  exitChecked?: { stamp: string; exit: boolean };
  /** The size and inode at the last look (to see growth). */
  seen: { size: number; ino: number | null; mtimeMs: number | null } | null;
}

/** A fresh memo. */
export function newMemo(): TrackerMemo {
  return {
    configStamp: "",
    configError: null,
    note: null,
    pidCheckedAt: -Infinity,
    pidAlive: true,
    seen: null,
  };
}

/** Options for {@linkcode readFacts}. */
export interface ReadFactsOptions {
  /** `$ASCIINEMA_HOME/active`. */
  activeDir: string;
  /** Memo of this id (updated in place). */
  memo: TrackerMemo;
  /** Monotonic now. */
  now: number;
  /** Least time between recorder pid checks (ms). */
  pidCheckMs: number;
  /**
   * The `.json`'s end signals already spent on an earlier generation (see
   * {@linkcode configEndStamp}): they do not end this one.
   */
  staleEnd?: string | null;
}

/** A stamp of the `.json`'s end signals (`ended`, `recorder_pid`), to tell stale from new. */
export function configEndStamp(config: RecordingConfig | undefined): string | null {
  if (!config || (!config.ended && !config.recorder_pid)) return null;
  return `${config.ended ?? ""}|${config.recorder_pid ?? ""}`;
}

/** Reads the facts about `active/<id>.cast`. Never throws for a missing or odd file. */
export async function readFacts(id: string, options: ReadFactsOptions): Promise<FileFacts> {
  const { memo } = options;
  const castPath = join(options.activeDir, `${id}.cast`);
  const absent: FileFacts = { ...ABSENT };
  let info: Deno.FileInfo;
  try {
    // Synchronous: a local stat is microseconds, the async one a thread-pool round trip.
    info = Deno.lstatSync(castPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      memo.version = undefined;
      memo.exitChecked = undefined;
      memo.seen = null;
      return absent;
    }
    return { ...absent, present: true, problem: `${id}.cast cannot be read: ${error}` };
  }
  const facts: FileFacts = {
    present: true,
    problem: null,
    headerReady: false,
    ino: info.ino ?? null,
    size: info.size,
    ended: null,
  };
  const problem = CONTROL.test(id)
    ? "its name contains control characters; rename it"
    : info.isSymlink
    ? "it is a symbolic link, which is never followed; move the real file into active/"
    : !info.isFile
    ? "it is not a regular file"
    : null;
  if (problem) return { ...facts, problem: `${id}.cast is not backed up: ${problem}` };
  if (memo.seen && memo.seen.ino !== facts.ino) {
    memo.version = undefined;
    memo.exitChecked = undefined;
  }
  memo.seen = { size: info.size, ino: facts.ino, mtimeMs: info.mtime?.getTime() ?? null };
  if (!memo.version) {
    const header = await checkHeader(castPath).catch((error) => ({
      kind: "invalid" as const,
      reason: `unreadable: ${error.message}`,
    }));
    if (header.kind === "empty" || header.kind === "incomplete") {
      // Ended like this (an empty file, one line without its newline): backed up as it is.
      await readConfig(join(options.activeDir, `${id}.json`), id, memo);
      facts.ended = await endReason(castPath, facts, options);
      memo.note = facts.ended
        ? null
        : `${id}.cast is ${
          header.kind === "empty" ? "empty" : "still writing its header"
        }; waiting for the asciicast header`;
      return facts;
    }
    if (header.kind === "invalid") {
      return {
        ...facts,
        problem: `${id}.cast is not backed up: not an asciicast file (${header.reason})`,
      };
    }
    memo.version = header.version;
    memo.note = null;
  }
  facts.headerReady = true;
  await readConfig(join(options.activeDir, `${id}.json`), id, memo);
  facts.ended = await endReason(castPath, facts, options);
  return facts;
}

async function endReason(
  castPath: string,
  facts: FileFacts,
  options: ReadFactsOptions,
): Promise<string | null> {
  const { memo } = options;
  const config = memo.config;
  const fresh = configEndStamp(config) !== (options.staleEnd ?? null);
  if (fresh && config?.ended) return "its .json says it ended";
  if (memo.version === 3 && exitSeen(castPath, facts.size, memo)) {
    return "asciicast exit event";
  }
  const pid = config?.recorder_pid;
  if (fresh && typeof pid === "number" && pid > 0) {
    if (options.now - memo.pidCheckedAt >= options.pidCheckMs) {
      memo.pidCheckedAt = options.now;
      memo.pidAlive = await pidAlive(pid);
    }
    if (!memo.pidAlive) return `recorder (pid ${pid}) is gone`;
  }
  return null;
}

/** The exit check, read again only when the size changed since the last one. */
function exitSeen(castPath: string, size: number, memo: TrackerMemo): boolean {
  const stamp = `${size}:${memo.seen?.mtimeMs}`;
  if (memo.exitChecked?.stamp === stamp) return memo.exitChecked.exit;
  let exit = false;
  try {
    exit = endsWithExitEventSync(castPath, size);
  } catch {
    exit = false;
  }
  memo.exitChecked = { stamp, exit };
  return exit;
}

/** A recording's `.json` is a few hundred bytes; anything much bigger is not one. */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** How long reading a `.json` may take before it counts as unreadable. */
const CONFIG_READ_MS = 2000;

/** Why a `.json` is not read at all (not a regular file, too big), or null. */
function unreadable(info: Deno.FileInfo): string | null {
  if (info.isSymlink) return "is a symbolic link, which is never followed";
  if (!info.isFile) {
    return `is not a regular file (${info.isDirectory ? "a folder" : "a FIFO, socket or device"})`;
  }
  if (info.size > MAX_CONFIG_BYTES) {
    return `is ${info.size} bytes, more than the ${MAX_CONFIG_BYTES} a recording's .json may have`;
  }
  return null;
}

/** Reads the `.json`, or gives up after {@linkcode CONFIG_READ_MS} (a file swapped for a FIFO). */
async function readBounded(
  jsonPath: string,
): Promise<Awaited<ReturnType<typeof readRecordingConfig>>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("reading it did not finish")), CONFIG_READ_MS)
  );
  try {
    return await Promise.race([readRecordingConfig(jsonPath), late]);
  } catch (error) {
    return { ok: false, error: `${jsonPath}: ${errorMessage(error)}`, missing: false };
  } finally {
    clearTimeout(timer);
  }
}

async function readConfig(jsonPath: string, id: string, memo: TrackerMemo): Promise<void> {
  let stamp = "absent";
  try {
    const info = Deno.lstatSync(jsonPath);
    stamp = `${info.mtime?.getTime()}:${info.size}:${info.ino}:${info.isSymlink}:${info.isFile}`;
    // Only a regular file of a sane size is opened: a FIFO would block the reader forever.
    const why = unreadable(info);
    if (why) {
      memo.configStamp = stamp;
      memo.config = undefined;
      memo.configError =
        `${id}.json ${why}; its chunks are kept in the spool until it is replaced by a regular file or deleted`;
      return;
    }
  } catch {
    stamp = "absent";
  }
  if (stamp === memo.configStamp) return;
  memo.configStamp = stamp;
  memo.pidCheckedAt = -Infinity;
  if (stamp === "absent") {
    memo.config = undefined;
    memo.configError = null;
    return;
  }
  const result = await readBounded(jsonPath);
  if (result.ok) {
    memo.config = result.config;
    memo.configError = null;
  } else if (result.missing) {
    memo.config = undefined;
    memo.configError = null;
  } else {
    memo.config = undefined;
    memo.configError =
      `${id}.json is invalid (${result.error}); its chunks are kept in the spool, not pushed, until the file is fixed or deleted`;
  }
}
