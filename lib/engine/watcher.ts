/**
 * The watcher: `Deno.watchFs` on `active/` turns file events into the ids
 * that changed; a periodic check notices when `active/` itself was deleted or
 * replaced (the watch would follow a dead folder) and starts again.
 *
 * @module
 */
import { basename } from "node:path";
import { ensurePrivateDir } from "../sys/mod.ts";

/** Callbacks of {@linkcode Watcher}. */
export interface WatcherOptions {
  /** Ids whose `.cast` or `.json` changed. */
  onIds: (ids: string[]) => void;
  /** Watching failed (it restarts by itself). */
  onError: (message: string) => void;
}

/** The id a file name in `active/` belongs to, if any. */
export function idOfName(name: string): string | undefined {
  if (name.startsWith(".")) return undefined;
  if (name.endsWith(".cast") || name.endsWith(".json")) return name.slice(0, -5);
  return undefined;
}

/** Watches one folder. */
export class Watcher {
  #dir: string;
  #options: WatcherOptions;
  #watcher?: Deno.FsWatcher;
  #ino: number | null = null;
  #stopped = false;
  #loop?: Promise<void>;

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
        this.#watcher = Deno.watchFs(this.#dir, { recursive: false });
        for await (const event of this.#watcher) {
          const ids = event.paths.map((path) => idOfName(basename(path)))
            .filter((id): id is string => id !== undefined);
          if (ids.length) this.#options.onIds(ids);
        }
      } catch (error) {
        if (this.#stopped) return;
        this.#options.onError(`Watching ${this.#dir} failed: ${error}; rescanning`);
      }
      if (this.#stopped) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Restarts the watch when the folder was deleted or replaced. */
  async check(): Promise<void> {
    let ino: number | null = null;
    try {
      ino = (await Deno.stat(this.#dir)).ino ?? null;
    } catch {
      ino = null;
    }
    if (ino === null || ino !== this.#ino) this.#close();
  }

  /** The ids of the `.cast` files in the folder now. */
  async list(): Promise<string[]> {
    await ensurePrivateDir(this.#dir);
    const ids: string[] = [];
    for await (const entry of Deno.readDir(this.#dir)) {
      if (entry.name.endsWith(".cast") && !entry.name.startsWith(".")) {
        ids.push(entry.name.slice(0, -5));
      }
    }
    return ids;
  }

  #close(): void {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    this.#close();
  }
}
