/**
 * Chunk blobs written into a clone's object store as they are cut, before
 * they are committed: while a backlog is still being cut, each spool file
 * becomes a loose object (`git hash-object -w`, stored as it is: zstd frames
 * gain nothing from zlib), so the commit that follows names the blob by its
 * id instead of streaming its bytes through `git fast-import` (which hashes
 * and packs them again, about five passes of git's SHA-1). What is left
 * after the last cut is the push.
 *
 * Only an optimisation: a file not staged, staged from other bytes (its
 * inode, size or mtime changed since), or whose object is missing from the
 * clone (a clone made again) is committed inline as before. Staging runs
 * one `git` at a time per clone, never inside the engine's tick, and holds
 * at most {@linkcode MAX_STAGED} files: past that, files go inline.
 *
 * @module
 */
import { join } from "node:path";
import { git, type GitOptions } from "./hermetic.ts";

/** Files staged and not yet taken, at most. */
export const MAX_STAGED = 256;

/** What identifies a spool file's bytes: a file replaced or rewritten differs in one of these. */
interface FileMark {
  ino: number | null;
  size: number;
  mtime: number | null;
}

async function markOf(file: string): Promise<FileMark | undefined> {
  try {
    const info = await Deno.stat(file);
    if (!info.isFile) return undefined;
    return { ino: info.ino, size: info.size, mtime: info.mtime?.getTime() ?? null };
  } catch {
    return undefined;
  }
}

function sameMark(a: FileMark, b: FileMark): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtime === b.mtime;
}

/** A blob written for a file, with the file as it was when it was read. */
interface Staged {
  blob: string;
  mark: FileMark;
}

/** Loose objects written for spool files ahead of their commit, per clone. */
export class BlobStage {
  #options: () => GitOptions;
  #staged = new Map<string, Promise<Staged | undefined>>();
  #tail: Promise<unknown> = Promise.resolve();

  /** `options` gives the clone's git options (its `gitDir`, config and shutdown signal). */
  constructor(options: () => GitOptions) {
    this.#options = options;
  }

  /** Files staged and not yet taken. */
  get size(): number {
    return this.#staged.size;
  }

  /**
   * Starts writing `file`'s blob into the clone, after the files staged
   * before it; returns at once. Never throws: a failure only means the file
   * is committed inline.
   */
  stage(file: string): void {
    if (this.#staged.has(file) || this.#staged.size >= MAX_STAGED) return;
    const done = this.#tail.then(() => this.#write(file)).catch(() => undefined);
    this.#tail = done;
    this.#staged.set(file, done);
  }

  /** Resolves once every file staged so far is written (or has failed). */
  async settled(): Promise<void> {
    await this.#tail;
  }

  /**
   * The blob id of `file` when it was staged from the bytes it holds now,
   * else undefined. Forgets the file either way (a commit asks once).
   */
  async take(file: string): Promise<string | undefined> {
    const staged = this.#staged.get(file);
    if (!staged) return undefined;
    this.#staged.delete(file);
    const found = await staged;
    if (!found) return undefined;
    const now = await markOf(file);
    return now && sameMark(now, found.mark) ? found.blob : undefined;
  }

  /**
   * Forgets `file` and removes the loose object staged for it, if any: a
   * plaintext chunk sealed before its commit leaves no clear copy in the
   * clone (nothing refers to it: it was never committed).
   */
  async discard(file: string): Promise<void> {
    const staged = this.#staged.get(file);
    if (!staged) return;
    this.#staged.delete(file);
    const found = await staged;
    const gitDir = this.#options().gitDir;
    if (!found || !gitDir) return;
    const loose = join(gitDir, "objects", found.blob.slice(0, 2), found.blob.slice(2));
    await Deno.remove(loose).catch(() => {});
  }

  async #write(file: string): Promise<Staged | undefined> {
    const options = this.#options();
    if (options.signal?.aborted) return undefined;
    const before = await markOf(file);
    if (!before) return undefined;
    const result = await git(
      ["-c", "core.compression=0", "hash-object", "-w", "--no-filters", "--", file],
      { ...options, timeoutMs: 60_000 + Math.ceil(before.size / (1 << 20)) * 1000 },
    );
    const blob = result.stdout.trim();
    if (!result.success || !/^[0-9a-f]{40,64}$/.test(blob)) return undefined;
    const after = await markOf(file);
    return after && sameMark(before, after) ? { blob, mark: before } : undefined;
  }
}
