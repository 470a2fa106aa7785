/**
 * Reading the daemon's log files (`logs/chunker.log` and its rotated
 * siblings `chunker.log.1` ... written by LogTape's rotating file sink):
 * tailing backwards without reading whole files, and following across
 * rotation.
 *
 * @module
 */
import { delay, statOrNull } from "../sys/mod.ts";
import { type LogEntry, type LogFilter, matchesFilter, parseLogLine } from "./log_entry.ts";

/** The log file and its rotated siblings that exist, newest first. */
async function logFiles(logFile: string, maxRotated = 9): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i <= maxRotated; i++) {
    const path = i === 0 ? logFile : `${logFile}.${i}`;
    try {
      if ((await Deno.stat(path)).isFile) files.push(path);
    } catch {
      if (i > 0) break;
    }
  }
  return files;
}

const BLOCK = 64 * 1024;

/**
 * Yields the lines of a file from last to first, reading 64 KiB blocks from
 * the end (memory bounded by the longest line). Empty lines are skipped.
 */
export async function* readLinesBackward(
  path: string,
  options: { end?: number } = {},
): AsyncGenerator<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  const decoder = new TextDecoder();
  try {
    const size = (await file.stat()).size;
    let pos = Math.min(options.end ?? size, size);
    let carry = new Uint8Array(0);
    while (pos > 0) {
      const start = Math.max(0, pos - BLOCK);
      const block = new Uint8Array(pos - start);
      await file.seek(start, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < block.length) {
        const n = await file.read(block.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      const buf = new Uint8Array(filled + carry.length);
      buf.set(block.subarray(0, filled));
      buf.set(carry, filled);
      let end = buf.length;
      for (let i = buf.length - 1; i >= 0; i--) {
        if (buf[i] === 0x0a) {
          if (end > i + 1) yield decoder.decode(buf.subarray(i + 1, end));
          end = i;
        }
      }
      carry = buf.slice(0, end);
      pos = start;
    }
    if (carry.length > 0) yield decoder.decode(carry);
  } finally {
    file.close();
  }
}

/** Options for {@linkcode tailLog}. */
export interface TailOptions extends LogFilter {
  /** How many lines (after filtering) to return; default 50. */
  lines?: number;
  /** Read the current log file only up to this byte offset (used with follow). */
  end?: number;
}

/**
 * The last `lines` lines that pass the filter, oldest first, looking into
 * rotated files when the current one has too few. With `since`, stops
 * reading at the first older line.
 */
export async function tailLog(logFile: string, options: TailOptions = {}): Promise<LogEntry[]> {
  const want = options.lines ?? 50;
  if (want <= 0) return [];
  const kept: LogEntry[] = []; // newest first
  let orphans: LogEntry[] = []; // raw lines seen (backwards) before their JSON line
  const settle = (parent: LogEntry | undefined) => {
    // Orphans follow `parent` in the file; decide them now, newest first.
    for (const orphan of orphans) {
      if (kept.length >= want) break;
      if (matchesFilter(orphan, options, parent)) kept.push(orphan);
    }
    orphans = [];
  };
  let stop = false;
  const files = await logFiles(logFile);
  for (const [index, path] of files.entries()) {
    for await (const line of readLinesBackward(path, index === 0 ? { end: options.end } : {})) {
      const entry = parseLogLine(line);
      if (!entry.json) {
        orphans.push(entry);
        continue;
      }
      settle(entry);
      if (kept.length >= want) {
        stop = true;
        break;
      }
      if (options.since && entry.time && entry.time.getTime() < options.since.getTime()) {
        stop = true;
        break;
      }
      if (matchesFilter(entry, options)) kept.push(entry);
      if (kept.length >= want) {
        stop = true;
        break;
      }
    }
    if (stop) break;
  }
  if (!stop) settle(undefined);
  return kept.reverse();
}

/** Where following starts: the file identity and offset seen when the tail was read. */
export interface FollowStart {
  /** Inode of the log file then (`null` when unknown). */
  ino: number | null;
  /** Byte offset to continue from. */
  offset: number;
}

/** Options for {@linkcode followLog}. */
export interface FollowOptions extends LogFilter {
  /** Stops following. */
  signal: AbortSignal;
  /** Called for every new line that passes the filter. */
  onLine: (entry: LogEntry) => void | Promise<void>;
  /** Where to start (default: the end of the current file). */
  start?: FollowStart;
  /** Poll interval in milliseconds (default 250). */
  pollMs?: number;
}

/**
 * Follows the log like `tail -F`: new lines are passed to `onLine`; when
 * the file is rotated (renamed to `.1` and a new one created) the rest of
 * the old file is read and following continues with the new one from its
 * start. Polls the file's size and inode every `pollMs`. Resolves when
 * `signal` aborts.
 */
export async function followLog(logFile: string, options: FollowOptions): Promise<void> {
  const pollMs = options.pollMs ?? 250;
  const decoder = new TextDecoder();
  let file: Deno.FsFile | undefined;
  let ino: number | null = null;
  let offset = 0;
  let carry = "";
  let parent: LogEntry | undefined;
  const buffer = new Uint8Array(BLOCK);

  const emit = async (line: string) => {
    if (line === "") return;
    const entry = parseLogLine(line);
    if (entry.json) parent = entry;
    if (matchesFilter(entry, options, parent)) await options.onLine(entry);
  };
  const drain = async () => {
    if (!file) return;
    while (true) {
      const n = await file.read(buffer);
      if (n === null || n === 0) break;
      offset += n;
      carry += decoder.decode(buffer.subarray(0, n), { stream: true });
      const parts = carry.split("\n");
      carry = parts.pop() ?? "";
      for (const part of parts) await emit(part);
    }
  };
  const close = async (flush: boolean) => {
    if (!file) return;
    file.close();
    file = undefined;
    if (flush && carry !== "") {
      const last = carry;
      carry = "";
      await emit(last);
    }
    carry = "";
  };
  const open = async (path: string, at: number): Promise<boolean> => {
    try {
      const handle = await Deno.open(path, { read: true });
      const info = await handle.stat();
      await handle.seek(Math.min(at, info.size), Deno.SeekMode.Start);
      file = handle;
      ino = info.ino;
      offset = Math.min(at, info.size);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  };

  /** Where the file that was the log as `oldIno` is now: `.N` (1 to 9), or 0 when gone. */
  const rotatedTo = async (oldIno: number): Promise<number> => {
    for (let i = 1; i <= 9; i++) {
      const rotated = await statOrNull(`${logFile}.${i}`);
      if (!rotated) return 0;
      if (rotated.ino === oldIno) return i;
    }
    return 0;
  };
  /** Reads the files rotated after `.moved` whole, oldest first (`.moved-1` down to `.1`). */
  const readNewer = async (moved: number) => {
    for (let i = moved - 1; i >= 1; i--) {
      if (await open(`${logFile}.${i}`, 0)) {
        await drain();
        await close(true);
      }
    }
  };

  // Start: where the tail stopped. If the file rotated in between (once or
  // more), finish it where it is now, then every file rotated after it.
  const startInfo = await statOrNull(logFile);
  const start = options.start ?? { ino: startInfo?.ino ?? null, offset: startInfo?.size ?? 0 };
  if (startInfo && (start.ino === null || startInfo.ino === start.ino)) {
    await open(logFile, start.offset);
  } else if (start.ino !== null) {
    const moved = await rotatedTo(start.ino);
    if (moved && await open(`${logFile}.${moved}`, start.offset)) {
      await drain();
      await close(true);
    }
    await readNewer(moved);
    if (startInfo) await open(logFile, 0);
  }

  try {
    while (!options.signal.aborted) {
      await drain();
      const info = await statOrNull(logFile);
      if (!file) {
        if (info) await open(logFile, 0);
      } else if (info && info.ino !== null && ino !== null && info.ino !== ino) {
        // Rotated: the old handle still reads the renamed file to its end.
        await drain();
        const oldIno = ino;
        await close(true);
        // Rotated more than once since the last poll: read the files in between.
        await readNewer(await rotatedTo(oldIno));
        await open(logFile, 0);
        continue;
      } else if (info && info.size < offset) {
        // Truncated in place.
        await file.seek(0, Deno.SeekMode.Start);
        offset = 0;
        carry = "";
        continue;
      }
      await delay(pollMs, { signal: options.signal });
    }
  } finally {
    await close(false);
  }
}
