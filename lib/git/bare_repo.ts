/**
 * The bare repositories the daemon owns: created all at once (init into a
 * temporary folder, then a rename), checked for completeness, and cleared of
 * lock files a dead git left behind.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { ensurePrivateDir, fsyncDir, walkFiles } from "../sys/mod.ts";
import { git, GitError } from "./hermetic.ts";

/** True when `gitDir` is a whole bare repository (HEAD, objects/, refs/). */
export async function isCompleteBare(gitDir: string): Promise<boolean> {
  try {
    const [head, objects, refs] = await Promise.all(
      ["HEAD", "objects", "refs"].map((name) => Deno.stat(join(gitDir, name))),
    );
    return head.isFile && objects.isDirectory && refs.isDirectory;
  } catch {
    return false;
  }
}

let initCounter = 0;

/**
 * Creates the bare repository `gitDir` all at once: `git init` into a
 * temporary folder beside it, then a rename, so a crash or a stop never
 * leaves half a repository. Something incomplete already there is moved
 * aside to `<gitDir>.broken-<time>`, never deleted.
 */
export async function initBareAtomically(
  gitDir: string,
  options: { globalConfig?: string; signal?: AbortSignal } = {},
): Promise<void> {
  if (await isCompleteBare(gitDir)) return;
  const parent = dirname(gitDir);
  await ensurePrivateDir(parent);
  try {
    await Deno.lstat(gitDir);
    await Deno.rename(gitDir, `${gitDir}.broken-${Date.now()}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const tmp = join(parent, `.${basename(gitDir)}.tmp-${Deno.pid}-${++initCounter}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await ensurePrivateDir(tmp);
  try {
    const result = await git(["init", "--bare", "--quiet", tmp], options);
    if (!result.success) throw new GitError(["init"], result);
    await Deno.rename(tmp, gitDir);
    await fsyncDir(parent);
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Creates `backup.git` (the embedded default remote) when missing. */
export async function ensureEmbeddedRemote(
  gitDir: string,
  options: { globalConfig?: string } = {},
): Promise<void> {
  await initBareAtomically(gitDir, options);
}

/**
 * Removes git lock files left by a git process that died with the machine
 * (only this daemon uses its clones, and only one daemon runs per home).
 */
export async function removeStaleLocks(gitDir: string): Promise<void> {
  const candidates = ["HEAD.lock", "config.lock", "packed-refs.lock", "index.lock", "shallow.lock"];
  for (const name of candidates) await Deno.remove(join(gitDir, name)).catch(() => {});
  for (const path of await walkFiles(join(gitDir, "refs"))) {
    if (path.endsWith(".lock")) await Deno.remove(path).catch(() => {});
  }
}
