/**
 * File-system helpers every folder shares: whether a path exists, a stat
 * that answers `null` for a missing file, and a walk over the files below a
 * folder.
 *
 * @module
 */
import { join } from "node:path";

/** Options of {@linkcode exists}. */
export interface ExistsOptions {
  /** Do not follow a symlink: a dangling link exists (default: follow, `Deno.stat`). */
  lstat?: boolean;
}

/** True when `path` can be stat'ed; any error (missing, no permission) is false. */
export async function exists(path: string, options: ExistsOptions = {}): Promise<boolean> {
  try {
    await (options.lstat ? Deno.lstat(path) : Deno.stat(path));
    return true;
  } catch {
    return false;
  }
}

/** Stats `path`; `null` when it does not exist (other errors are thrown). */
export async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Every entry below `dir` that is not a folder, as `join(dir, ...)` paths,
 * folders depth-first in directory order; a folder that cannot be read is
 * skipped.
 */
export async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await walkFiles(path));
    else out.push(path);
  }
  return out;
}
