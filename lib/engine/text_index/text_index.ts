/**
 * The text index of a finished recording (`recordings/<id>/text.zst`),
 * committed by the daemon once the recording is fully pushed and moved to
 * `done/`. It is derived data: the chunks are the truth, so nothing here can
 * block or undo a recording's push or its finish.
 *
 * - A finish writes a small to-do (`text-index/<id>.json`: which file, how
 *   many bytes, its fingerprint, which remote), so a restart picks it up.
 * - One rendering at a time, off the engine's tick, from the local
 *   plaintext file in `done/` (checked against the checkpoint's fingerprint;
 *   the daemon never needs to decrypt chunks). A file that cannot be
 *   rendered is given up after a few tries (`reindex` can build it).
 * - The commit and push run as a job in the remote's queue (never at the
 *   same time as a publish); a failure is retried with backoff.
 *
 * The payload follows the recording, not the settings of the moment
 * (`sealingFor` in lib/text/codec.ts): an encrypted recording's index is
 * sealed to the recipients its chunks were sealed to (kept in the to-do), and
 * is never written in clear; a plain index goes only where the
 * public-repository guard lets plaintext go (`admit`).
 *
 * @module
 */
import { join } from "node:path";
import {
  type Clock,
  ensurePrivateDir,
  errorMessage,
  type HomePaths,
  KindedError,
  log,
  nextRetry,
  OnceLog,
  readJsonIfExists,
  type Retry,
  type Settings,
  writeJsonAtomic,
} from "../../sys/mod.ts";
import { commitFiles, git, type RemoteTarget } from "../../git/mod.ts";
import { type Fingerprint, folderOf, type RecordingState } from "../../chunk/mod.ts";
import {
  buildTextIndex,
  type BuiltIndex,
  fileFeed,
  type PayloadCodec,
  sealingFor,
} from "../../text/mod.ts";
import { fingerprintMismatch } from "../cut/mod.ts";
import type { Remote, Remotes } from "../publish/mod.ts";

/** A recording whose index is still to be committed (`text-index/<id>.json`). */
export interface IndexTodo {
  /** Generation id (the folder on the branch). */
  id: string;
  /** The finished `.cast` in `done/`. */
  cast: string;
  /** Its bytes on the branch (the manifest's `total_bytes`). */
  bytes: number;
  /** The checkpoint's fingerprint of those bytes. */
  fingerprint: Fingerprint | null;
  /** The remote its chunks went to. */
  remote: RemoteTarget;
  /** Some chunk of it is encrypted (absent in to-dos of older versions: unknown, read as true). */
  encrypted?: boolean;
  /** The recipients its chunks were sealed to. */
  recipients?: string[];
  /** Renderings that failed so far. */
  failures: number;
  /** The last failure. */
  last_error?: string;
}

/** The recording is encrypted and nothing says what to seal its index to. */
class SealingRefused extends KindedError<"no-recipients"> {
  constructor(message: string) {
    super("no-recipients", message);
  }
}

/** Renderings of one file tried before it is left to `reindex`. */
const RENDER_TRIES = 3;

/** Options of {@linkcode TextIndexer}. */
export interface TextIndexerOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Settings (backoff cap, and the payload codec's choice). */
  settings: Settings;
  /** Clock (monotonic for backoff). */
  clock: Clock;
  /** Shutdown. */
  signal: AbortSignal;
  /** The remotes: each index goes in its remote's queue, through its clone. */
  remotes: Remotes;
  /** Seals payloads (tests; default: `sealingFor` the recording, then the settings). */
  codec?: PayloadCodec;
  /**
   * Asks the public-repository guard (in the remote's queue) whether the
   * plaintext index of `todo` may go to its remote: null when it may, else why not.
   */
  admit?: (todo: IndexTodo, entry: Remote) => Promise<string | null>;
}

/** Builds and commits text indexes of finished recordings, one at a time. */
export class TextIndexer {
  #o: TextIndexerOptions;
  #log = log("daemon");
  #once = new OnceLog(log("daemon"));
  #todo: IndexTodo[] = [];
  #running: Promise<void> | null = null;
  #commits = new Set<Promise<void>>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #retries = new Map<string, Retry>();
  #stopped = false;

  /** Creates the indexer (idle until something finishes or {@linkcode TextIndexer.resume}). */
  constructor(options: TextIndexerOptions) {
    this.#o = options;
  }

  get #dir(): string {
    return this.#o.paths.textIndex;
  }

  #todoPath(id: string): string {
    return join(this.#dir, `${encodeURIComponent(id)}.json`);
  }

  /**
   * A generation is about to be moved to `done/` as `to`: its to-do is
   * written first, so a crash right after the move still gets its index.
   */
  async finishing(state: RecordingState, to: string): Promise<void> {
    await this.#note(state, to);
  }

  /** A generation finished; `movedTo` is its file in `done/` (null: no local copy). */
  async finished(state: RecordingState, movedTo: string | null): Promise<void> {
    const todo = movedTo ? await this.#note(state, movedTo) : undefined;
    if (todo) this.#add(todo);
  }

  async #note(state: RecordingState, movedTo: string): Promise<IndexTodo | undefined> {
    if (!state.remote || state.cut_offset === 0) return undefined;
    const todo: IndexTodo = {
      id: folderOf(state),
      cast: movedTo,
      bytes: state.cut_offset,
      fingerprint: state.fingerprint,
      remote: state.remote,
      encrypted: state.encrypted === true,
      ...(state.recipients?.length ? { recipients: state.recipients } : {}),
      failures: 0,
    };
    try {
      await ensurePrivateDir(this.#dir);
      await writeJsonAtomic(this.#todoPath(todo.id), todo);
    } catch (error) {
      this.#log.warn("Could not note the text index of {id} to do ({error})", {
        id: state.id,
        error: errorMessage(error),
      });
    }
    return todo;
  }

  /** Picks up the to-dos a previous run left. */
  async resume(): Promise<void> {
    let names: string[];
    try {
      names = (await Array.fromAsync(Deno.readDir(this.#dir)))
        .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
        .map((entry) => entry.name).sort();
    } catch {
      return; // nothing to do yet
    }
    for (const name of names) {
      const todo = await readJsonIfExists(join(this.#dir, name)).catch(() => undefined) as
        | IndexTodo
        | undefined;
      if (todo?.id && todo.cast && todo.remote && todo.failures < RENDER_TRIES) this.#add(todo);
    }
  }

  #add(todo: IndexTodo): void {
    if (this.#stopped) return;
    this.#todo.push(todo);
    this.#running ??= this.#work().finally(() => this.#running = null);
  }

  async #work(): Promise<void> {
    while (this.#todo.length && !this.#stopped) {
      const todo = this.#todo.shift()!;
      let built: BuiltIndex;
      try {
        built = await this.#render(todo);
      } catch (error) {
        if (this.#stopped) return;
        await this.#renderFailed(todo, errorMessage(error), error instanceof SealingRefused);
        continue;
      }
      this.#commitLater(todo, built, 0);
    }
  }

  async #render(todo: IndexTodo): Promise<BuiltIndex> {
    {
      using file = await Deno.open(todo.cast, { read: true });
      const why = await fingerprintMismatch(file, {
        fingerprint: todo.fingerprint,
        cut_offset: todo.bytes,
      });
      if (why) throw new Error(`${todo.cast} is no longer the recording that was pushed: ${why}`);
    }
    return await buildTextIndex(fileFeed(todo.cast, todo.bytes), {
      id: todo.id,
      bytes: todo.bytes,
      codec: this.#o.codec ?? this.#codecOf(todo, await this.#encrypted(todo)),
    });
  }

  /**
   * Whether the recording of a to-do is encrypted: the to-do says (since this
   * version); an older one is asked of its chunks in the clone, and with none
   * there it is taken as encrypted (unknown is not plain).
   */
  async #encrypted(todo: IndexTodo): Promise<boolean> {
    if (todo.encrypted !== undefined) return todo.encrypted;
    const names = await this.#o.remotes.get(todo.remote).clone.committedChunkNames(todo.id)
      .catch(() => new Set<string>());
    return names.size === 0 || [...names].some((name) => name.endsWith(".age"));
  }

  /** The codec of a to-do: it follows the recording; a refusal gives it up at once. */
  #codecOf(todo: IndexTodo, encrypted: boolean): PayloadCodec {
    const sealing = sealingFor(
      { encrypted, recipients: todo.recipients },
      { recipients: this.#o.settings.encryption?.recipients },
    );
    if ("refuse" in sealing) throw new SealingRefused(sealing.refuse);
    return sealing.codec;
  }

  async #renderFailed(todo: IndexTodo, error: string, final = false): Promise<void> {
    todo.failures = final ? RENDER_TRIES : todo.failures + 1;
    todo.last_error = error;
    const last = todo.failures >= RENDER_TRIES;
    this.#once.warn(
      `text-index:${todo.id}`,
      `The text index of ${todo.id} could not be built (${error})` +
        (last
          ? `; giving up (run \`daemon.ts reindex --id ${todo.id}\` to build it from the branch)`
          : "; trying again later"),
    );
    await writeJsonAtomic(this.#todoPath(todo.id), todo).catch(() => {});
    if (!last) this.#later(() => this.#add(todo), this.#backoff(todo.id, error));
  }

  #backoff(id: string, error: string): number {
    const retry = nextRetry(this.#retries.get(id) ?? null, {
      now: this.#o.clock.now(),
      error,
      capSeconds: this.#o.settings.retry_max_seconds,
    });
    this.#retries.set(id, retry);
    return Math.max(0, retry.at - this.#o.clock.now());
  }

  #later(run: () => void, ms: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  /** Queues the commit and push in the remote's queue (after `delayMs`). */
  #commitLater(todo: IndexTodo, built: BuiltIndex, delayMs: number): void {
    const start = () => {
      const entry = this.#o.remotes.get(todo.remote);
      let settle!: () => void;
      const done = new Promise<void>((resolve) => settle = resolve);
      this.#commits.add(done);
      entry.queue.enqueue(async () => {
        try {
          await this.#commit(entry, todo, built);
          this.#retries.delete(todo.id);
          this.#once.clear(`text-index:${todo.id}`);
          await Deno.remove(this.#todoPath(todo.id)).catch(() => {});
          this.#log.info("Committed the text index of {id} ({lines} lines)", {
            id: todo.id,
            lines: built.lines,
          });
        } catch (error) {
          if (this.#stopped) return;
          const message = errorMessage(error);
          this.#once.warn(
            `text-index:${todo.id}`,
            `Pushing the text index of ${todo.id} failed (${message}); trying again later`,
          );
          this.#commitLater(todo, built, this.#backoff(todo.id, message));
        } finally {
          this.#commits.delete(done);
          settle();
        }
      });
    };
    if (delayMs > 0) this.#later(start, delayMs);
    else start();
  }

  async #commit(entry: Remote, todo: IndexTodo, built: BuiltIndex): Promise<void> {
    const { clone } = entry;
    await clone.ensure();
    if (!built.path.endsWith(".age") && this.#o.admit) {
      // Plaintext derived from a recording passes the same guard as its chunks.
      const refused = await this.#o.admit(todo, entry);
      if (refused) throw new Error(refused);
    }
    const parent = await clone.localTip();
    const there = parent
      ? await git(["cat-file", "-e", `${parent}:${built.path}`], {
        gitDir: clone.gitDir,
        globalConfig: this.#o.paths.gitConfig,
        signal: this.#o.signal,
      })
      : undefined;
    if (there?.success) {
      if (!(await clone.push())) throw new Error(`nothing was pushed from ${clone.gitDir}`);
      return;
    }
    const ref = `refs/heads/${todo.remote.branch}`;
    await commitFiles(clone.gitDir, [built], {
      ref,
      parent,
      message: `text index ${todo.id}\n\nCast-Id: ${todo.id}\n`,
      globalConfig: this.#o.paths.gitConfig,
      signal: this.#o.signal,
    });
    try {
      if (!(await clone.push())) throw new Error(`nothing was pushed from ${clone.gitDir}`);
    } catch (error) {
      // Not pushed: take the commit off the branch again, so the recordings' next chunks
      // never wait behind an index the remote refuses (a hook, a size limit).
      await git(
        parent ? ["update-ref", ref, parent] : ["update-ref", "-d", ref],
        { gitDir: clone.gitDir, globalConfig: this.#o.paths.gitConfig },
      ).catch(() => {});
      throw error;
    }
  }

  /** Waits until the work at hand is done or waiting for a retry (`run --once`). */
  async settle(): Promise<void> {
    while (this.#running || this.#commits.size) {
      await this.#running;
      await Promise.all([...this.#commits]);
    }
  }

  /** Stops: no new work; pending timers are dropped (to-dos stay for the next start). */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
