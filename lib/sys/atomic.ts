/**
 * Durable, atomic file writes: temp file, fsync, rename, fsync directory.
 * Files are created with mode 0600 (recordings hold whatever crossed the
 * terminal).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { writeFully } from "./block_writer.ts";

/** Options for {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode, default 0600. */
  mode?: number;
  /**
   * Never replace an existing file: throws `Deno.errors.AlreadyExists` and
   * leaves it alone (the complete temp file is hard-linked into place).
   */
  exclusive?: boolean;
}

let counter = 0;

/** A unique temporary name beside `path` (same directory, same filesystem). */
export function tempPathFor(path: string): string {
  counter = (counter + 1) % 1_000_000;
  return join(dirname(path), `.tmp-${basename(path)}-${Deno.pid}-${Date.now()}-${counter}`);
}

/** True for names made by {@linkcode tempPathFor}. */
export function isTempName(name: string): boolean {
  return name.startsWith(".tmp-");
}

/** fsyncs a directory so that a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

/**
 * Writes `data` to `path` atomically and durably: readers see the old or the
 * new content, never a mix, and after return the new content survives a crash.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempPathFor(path);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await Deno.open(tmp, {
    write: true,
    createNew: true,
    mode: options.mode ?? 0o600,
  });
  try {
    await writeFully(file, bytes);
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  file.close();
  try {
    // link(2) fails when the target exists: exclusive, and the content is complete.
    if (options.exclusive) await Deno.link(tmp, path);
    else await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  if (options.exclusive) await Deno.remove(tmp).catch(() => {});
  await fsyncDir(dirname(path));
}

/** {@linkcode writeFileAtomic} for a JSON value (pretty-printed, newline-terminated). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Reads and parses a JSON file; `undefined` when it does not exist. */
export async function readJsonIfExists(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  return JSON.parse(text);
}
