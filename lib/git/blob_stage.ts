/**
 * Chunk blobs written into a clone's object store as they are cut, before
 * they are committed: while a backlog is still being cut, each spool file
 * becomes a loose object, so the commit that follows names the blob by its
 * id instead of streaming its bytes through `git fast-import` (which hashes
 * and packs them again, about five passes of git's collision-detecting
 * SHA-1). What is left after the last cut is the push.
 *
 * The object is written here, in one pass over the file: its id is the
 * SHA-1 of `blob <size>\0` and the bytes (node:crypto), and the file is
 * those bytes in zlib's stored blocks (zstd frames gain nothing from
 * deflate; git reads them as any loose object), written to a temporary
 * name and renamed into `objects/xx/`. `git hash-object -w` does the same
 * at about four times the CPU.
 *
 * Only an optimisation: a file not staged, staged from other bytes (its
 * inode, size or mtime changed since), or whose object is missing from the
 * clone (a clone made again) is committed inline as before. Staging runs
 * one file at a time per clone, never inside the engine's tick, and holds
 * at most {@linkcode MAX_STAGED} files: past that, files go inline.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { readRange, returnBlock, takeBlock } from "../chunk/mod.ts";
import { BlockWriter } from "../sys/mod.ts";
import type { GitOptions } from "./hermetic.ts";

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
  #swept = false;

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
    const { gitDir, signal } = this.#options();
    if (!gitDir || signal?.aborted) return undefined;
    if (!this.#swept) {
      this.#swept = true;
      await sweepTemporaries(gitDir);
    }
    const before = await markOf(file);
    if (!before) return undefined;
    const blob = await writeLooseBlob(gitDir, file, before.size).catch(() => undefined);
    const after = await markOf(file);
    return blob && after && sameMark(before, after) ? { blob, mark: before } : undefined;
  }
}

/** Largest stored block of deflate. */
const STORED = 65535;
const ADLER_MOD = 65521;
/**
 * Bytes adler32 adds up before its sums are reduced: from sums below 65,521,
 * 3,800 bytes keep the larger under 2^31 (2,090,614,020 at most), so both
 * stay small integers and the loop never leaves 32-bit arithmetic (zlib's
 * NMAX, 5,552, keeps them under 2^32: doubles in JavaScript, twice as slow).
 */
const ADLER_RUN = 3800;

/** adler32 of `bytes`, continued from `state` (1 to start). */
export function adler32(bytes: Uint8Array, state = 1): number {
  let a = state & 0xffff;
  let b = state >>> 16;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const end = Math.min(i + ADLER_RUN, n);
    const end8 = end - ((end - i) & 7);
    while (i < end8) {
      a = (a + bytes[i]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 1]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 2]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 3]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 4]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 5]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 6]) | 0;
      b = (b + a) | 0;
      a = (a + bytes[i + 7]) | 0;
      b = (b + a) | 0;
      i += 8;
    }
    while (i < end) {
      a = (a + bytes[i++]) | 0;
      b = (b + a) | 0;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return ((b << 16) | a) >>> 0;
}

let tempCounter = 0;

/** Temporary objects this daemon writes: `tmp_obj_chunker_<pid>_<n>` in `objects/`. */
const TEMP_PREFIX = "tmp_obj_chunker_";

/**
 * Removes temporary objects another process left in `gitDir` (a daemon
 * killed while it staged a blob; one daemon runs per home, so any other
 * pid's are stale).
 */
async function sweepTemporaries(gitDir: string): Promise<void> {
  const objects = join(gitDir, "objects");
  try {
    for await (const entry of Deno.readDir(objects)) {
      if (!entry.isFile || !entry.name.startsWith(TEMP_PREFIX)) continue;
      if (entry.name.startsWith(`${TEMP_PREFIX}${Deno.pid}_`)) continue;
      await Deno.remove(join(objects, entry.name)).catch(() => {});
    }
  } catch {
    // no objects folder yet: nothing to sweep
  }
}

/**
 * Writes the first `size` bytes of `file` as a loose blob into the bare
 * repository `gitDir` and returns its id (SHA-1). One already there is kept.
 */
export async function writeLooseBlob(gitDir: string, file: string, size: number): Promise<string> {
  const objects = join(gitDir, "objects");
  tempCounter = (tempCounter + 1) % 1_000_000;
  // git's own temporary name: `git prune` clears one a crash left behind.
  const tmp = join(objects, `${TEMP_PREFIX}${Deno.pid}_${tempCounter}`);
  const hash = createHash("sha1");
  const header = new TextEncoder().encode(`blob ${size}\0`);
  let adler = 1;
  let left = header.length + size; // bytes of the object still to be framed
  let inBlock = 0; // bytes of the current stored block written
  let output: Deno.FsFile | undefined;
  // Frames and bytes go out in blocks of a megabyte, not a write per stored block.
  const block = takeBlock();
  try {
    output = await Deno.open(tmp, { write: true, createNew: true, mode: 0o444 });
    const out = new BlockWriter(output, block);
    const frame = new Uint8Array(5);
    // Object bytes go out in stored blocks of at most 65,535 bytes, each with its own header.
    const put = async (bytes: Uint8Array) => {
      hash.update(bytes);
      adler = adler32(bytes, adler);
      let at = 0;
      while (at < bytes.length) {
        if (inBlock === 0) {
          const length = Math.min(STORED, left);
          frame[0] = length === left ? 1 : 0; // the last block is marked final
          frame[1] = length & 0xff;
          frame[2] = length >>> 8;
          frame[3] = ~length & 0xff;
          frame[4] = (~length >>> 8) & 0xff;
          await out.write(frame);
          inBlock = length;
        }
        const take = Math.min(inBlock, bytes.length - at);
        await out.write(bytes.subarray(at, at + take));
        at += take;
        inBlock -= take;
        left -= take;
      }
    };
    await out.write(new Uint8Array([0x78, 0x01])); // zlib header: deflate, 32 KiB window, no dictionary
    await put(header);
    const source = await Deno.open(file, { read: true });
    try {
      for await (const block of readRange(source, 0, size)) await put(block);
    } finally {
      source.close();
    }
    await out.write(
      new Uint8Array([adler >>> 24, (adler >>> 16) & 0xff, (adler >>> 8) & 0xff, adler & 0xff]),
    );
    await out.flush();
    output.close();
    output = undefined;
    const id = hash.digest("hex");
    const dir = join(objects, id.slice(0, 2));
    await Deno.mkdir(dir, { recursive: true });
    const target = join(dir, id.slice(2));
    try {
      await Deno.lstat(target);
      await Deno.remove(tmp); // the same bytes are there already
    } catch {
      await Deno.rename(tmp, target);
    }
    return id;
  } catch (error) {
    output?.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  } finally {
    returnBlock(block.buffer);
  }
}
