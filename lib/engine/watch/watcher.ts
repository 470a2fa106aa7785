/**
 * The watcher: `Deno.watchFs` on `active/` turns file events into the ids
 * that changed; a periodic check notices when `active/` itself was deleted or
 * replaced (the watch would follow a dead folder) and starts again.
 *
 * A terminal that redraws ten times a second makes twenty file events a
 * second, and taking each one up costs more than looking every two seconds. So
 * while events come faster than {@linkcode BUSY_EVENTS_PER_SECOND}, the
 * watcher closes its watch and compares the folder's listing every two seconds
 * instead; after {@linkcode QUIET_POLLS} look without a change it watches
 * again (and looks once more, for what changed in between).
 *
 * A FIFO (or another special file) in the folder makes `Deno.watchFs`'s
 * thread block forever opening it, and closing that watch then stalls the
 * process's file operations. So while one is there the watcher compares
 * listings instead, and before it closes a watch it holds each such file
 * open for writing for a moment (a bounded child process), which lets the
 * blocked thread go.
 *
 * @module
 */
import { basename, join } from "node:path";
import { delay, ensurePrivateDir, run } from "../../sys/mod.ts";

/** Callbacks of {@linkcode Watcher}. */
export interface WatcherOptions {
  /** Ids whose `.cast` or `.json` changed. */
  onIds: (ids: string[]) => void;
  /** Watching failed (it restarts by itself). */
  onError: (message: string) => void;
}

/** The id a file name in `active/` belongs to, if any. */
function idOfName(name: string): string | undefined {
  if (name.startsWith(".")) return undefined;
  if (name.endsWith(".cast") || name.endsWith(".json")) return name.slice(0, -5);
  return undefined;
}

/** Events per second above which the folder is looked at every two seconds instead. */
const BUSY_EVENTS_PER_SECOND = 8;
/** Looks without a change before watching again. */
const QUIET_POLLS = 1;
const POLL_MS = 2000;

/** Names in `dir` that are neither files, folders nor links (FIFOs, sockets, devices). */
function specialFiles(dir: string): string[] {
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isFile && !entry.isDirectory && !entry.isSymlink) found.push(entry.name);
    }
  } catch {
    // gone: nothing special in it
  }
  return found;
}

/**
 * The arguments of `sh` that hold `path` open for writing for a moment when
 * it is a FIFO (anything else is left alone: nothing created, nothing
 * truncated). The open blocks until someone reads, so the shell ends itself after
 * {@linkcode HOLDER_LIMIT_SECONDS} too: a daemon killed meanwhile (its timeout
 * never comes) leaves nothing behind.
 */
export function holderArgs(path: string): string[] {
  // The watchdog looks ten times a second whether the holder is still there.
  const watchdog = `i=0; while [ $i -lt ${HOLDER_LIMIT_SECONDS * 10} ] && kill -0 $$; do ` +
    "sleep 0.1; i=$((i+1)); done; " +
    `[ $i -lt ${HOLDER_LIMIT_SECONDS * 10} ] || kill -9 $$`;
  // Only a FIFO is opened, and never truncated or created (`>>`): replaced meanwhile by a
  // recording's `.json` (renamed over it), the file keeps every byte.
  const script = `(${watchdog}) >/dev/null 2>&1 </dev/null & [ -p "$1" ] || exit 0; ` +
    `exec 3>>"$1"; sleep 1`;
  return ["-c", script, "sh", path];
}

/** How long a holder may wait for its open at most. */
export const HOLDER_LIMIT_SECONDS = 5;

/** How far back a file's change counts as maybe not yet taken up when a watch is closed. */
const RECENT_MS = 5000;

/**
 * A listing of the folder: name -> size, mtime and inode; names changed in
 * the last few seconds (by their ctime) go into `recent` when it is given.
 */
function listing(dir: string, recent?: Set<string>): Map<string, string> {
  const seen = new Map<string, string>();
  const since = Date.now() - RECENT_MS;
  for (const entry of Deno.readDirSync(dir)) {
    if (idOfName(entry.name) === undefined) continue;
    try {
      const info = Deno.lstatSync(join(dir, entry.name));
      if (recent && (info.ctime === null || info.ctime.getTime() >= since)) recent.add(entry.name);
      seen.set(entry.name, `${info.size}:${info.mtime?.getTime()}:${info.ino}`);
    } catch {
      // gone meanwhile
    }
  }
  return seen;
}

/** Turns file events in one folder into recording ids, or compares its listing when events do not serve. */
export class Watcher {
  #dir: string;
  #options: WatcherOptions;
  #watcher?: Deno.FsWatcher;
  #ino: number | null = null;
  #stopped = false;
  #loop?: Promise<void>;
  #window = { start: 0, events: 0 };
  #polling?: ReturnType<typeof setInterval>;
  #last = new Map<string, string>();
  #quiet = 0;

  /** Creates the watcher for `dir` (nothing runs until `start`). */
  constructor(dir: string, options: WatcherOptions) {
    this.#dir = dir;
    this.#options = options;
  }

  /** Starts the watch loop. */
  start(): void {
    this.#loop = this.#watch();
  }

  async #watch(): Promise<void> {
    // Bounded by stop(): each pass ends when the watcher closes or fails.
    while (!this.#stopped) {
      try {
        await ensurePrivateDir(this.#dir);
        this.#ino = (await Deno.stat(this.#dir)).ino ?? null;
        if (specialFiles(this.#dir).length) {
          this.#startPolling();
          return;
        }
        this.#watcher = Deno.watchFs(this.#dir, { recursive: false });
        for await (const event of this.#watcher) {
          // Reading a file (the daemon's own cuts and looks) changes nothing.
          if (event.kind === "access") continue;
          const ids = event.paths.map((path) => idOfName(basename(path)))
            .filter((id): id is string => id !== undefined);
          if (ids.length) this.#options.onIds(ids);
          if (this.#busy()) {
            this.#startPolling();
            return;
          }
        }
      } catch (error) {
        if (this.#stopped) return;
        this.#options.onError(`Watching ${this.#dir} failed: ${error}; rescanning`);
      }
      if (this.#stopped || this.#polling !== undefined) return;
      await delay(200);
    }
  }

  /** Counts an event; true when they come too fast to take up one by one. */
  #busy(): boolean {
    const now = performance.now();
    if (now - this.#window.start >= 1000) this.#window = { start: now, events: 0 };
    return ++this.#window.events > BUSY_EVENTS_PER_SECOND;
  }

  #startPolling(): void {
    void this.#close();
    // Events of the closed watch not taken up yet are lost: what changed lately is looked at.
    const recent = new Set<string>();
    try {
      this.#last = listing(this.#dir, recent);
    } catch {
      this.#last = new Map();
    }
    const ids = [...recent].map(idOfName).filter((id): id is string => id !== undefined);
    if (ids.length) this.#options.onIds([...new Set(ids)]);
    this.#quiet = 0;
    this.#polling = setInterval(() => this.#poll(), POLL_MS);
  }

  #poll(): void {
    let now: Map<string, string>;
    try {
      now = listing(this.#dir);
    } catch (error) {
      this.#options.onError(`Looking at ${this.#dir} failed: ${error}`);
      now = new Map();
    }
    const changed = new Set<string>();
    for (const [name, stamp] of now) if (this.#last.get(name) !== stamp) changed.add(name);
    for (const name of this.#last.keys()) if (!now.has(name)) changed.add(name);
    this.#last = now;
    const ids = [...changed].map(idOfName).filter((id): id is string => id !== undefined);
    if (ids.length) this.#options.onIds([...new Set(ids)]);
    this.#quiet = ids.length ? 0 : this.#quiet + 1;
    // A special file in the folder would block the watch: keep comparing listings.
    if (this.#quiet >= QUIET_POLLS && !this.#stopped && specialFiles(this.#dir).length === 0) {
      clearInterval(this.#polling);
      this.#polling = undefined;
      this.#window = { start: performance.now(), events: 0 };
      this.#loop = this.#watch();
      // What changed between the last look and the new watch: compared once the watch is up
      // (not every id: a busy folder of many recordings would be looked at whole each time).
      const before = now;
      setTimeout(() => {
        if (this.#stopped) return;
        let after: Map<string, string>;
        try {
          after = listing(this.#dir);
        } catch {
          return;
        }
        const moved = new Set<string>();
        for (const [name, stamp] of after) if (before.get(name) !== stamp) moved.add(name);
        for (const name of before.keys()) if (!after.has(name)) moved.add(name);
        const ids = [...moved].map(idOfName).filter((id): id is string => id !== undefined);
        if (ids.length) this.#options.onIds([...new Set(ids)]);
      }, 50);
    }
  }

  /**
   * Restarts the watch when the folder was deleted or replaced; compares
   * listings instead while a special file (a FIFO) is in it.
   */
  async check(): Promise<void> {
    let ino: number | null = null;
    try {
      ino = (await Deno.stat(this.#dir)).ino ?? null;
    } catch {
      ino = null;
    }
    if (this.#watcher && !this.#polling && specialFiles(this.#dir).length) {
      this.#startPolling();
      return;
    }
    if (ino === null || ino !== this.#ino) await this.#close();
  }

  /**
   * The ids of the `.cast` files in the folder now, sorted: recordings first
   * seen in one scan get their `first_seen` in the same order on every file
   * system (readdir's order is ext4's hash order, tmpfs's newest first).
   */
  async list(): Promise<string[]> {
    await ensurePrivateDir(this.#dir);
    const ids: string[] = [];
    for await (const entry of Deno.readDir(this.#dir)) {
      if (entry.name.endsWith(".cast") && !entry.name.startsWith(".")) {
        ids.push(entry.name.slice(0, -5));
      }
    }
    return ids.sort();
  }

  /**
   * Closes the watch. A special file in the folder may hold the watch's
   * thread in an open that never returns: each one is opened for writing for
   * a moment first (bounded), so the close never stalls the process.
   */
  async #close(): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (!watcher) return;
    const holders = specialFiles(this.#dir).map((name) =>
      run("sh", { args: holderArgs(join(this.#dir, name)), timeoutMs: 3000 }).catch(() => undefined)
    );
    if (holders.length) await delay(300);
    try {
      watcher.close();
    } catch {
      // already closed
    }
    await Promise.all(holders);
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#polling);
    await this.#close();
  }
}
