/**
 * Which remote holds a recording, and which remotes this machine knows, for
 * `restore`, `list` and `verify`:
 *
 * - a recording's remote: `--repo`, else the remote pinned in its
 *   checkpoint `state/<id>.json` (`remote`), else `repo_url`/`branch` of its
 *   `done/<id>.json` or `active/<id>.json`, else config.json's default, else
 *   the embedded `backup.git`. A generation `<id>~2` or a renamed `<id>~<host>`
 *   falls back to the files of `<id>`;
 * - the known remotes: the default, every pinned remote, and every daemon
 *   clone under `repos/` (its `remote.origin.url` and `chunker.branch`).
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { git, repoSlug, withoutCredentials } from "../git/mod.ts";
import {
  branchNameProblem,
  type HomePaths,
  loadSettings,
  remoteNameProblem,
  type Settings,
  SettingsError,
  termSafe,
} from "../sys/mod.ts";
import { readRecordingConfig, remoteOf } from "../recording/mod.ts";
import { loadAllStates, loadState, type RecordingState, statePath } from "../chunk/mod.ts";

/** Where recordings are read from. */
export interface RemoteSpec {
  /** Remote URL or path, as configured or given. */
  url: string;
  /** Branch name. */
  branch: string;
}

/** What {@linkcode resolveRemote} needs. */
export interface RemoteLookupOptions {
  /** Remote URL or path (`--repo`). */
  repoUrl?: string;
  /** Branch (`--branch`). */
  branch?: string;
  /** The recording whose remote is wanted (its checkpoint and `.json` are consulted). */
  id?: string;
  /** Home layout (config.json, state/, done/, active/, repos/). */
  paths: HomePaths;
  /** Directory relative paths are resolved against (default the current one). */
  cwd?: string;
}

/** config.json could not be read; the message says what to fix. */
export class RemoteLookupError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "RemoteLookupError";
  }
}

/**
 * The local filesystem path of a remote given as a path or `file://` URL;
 * `undefined` for network remotes (`https://`, `ssh://`, `host:path`).
 */
export function localRemotePath(url: string, cwd: string = Deno.cwd()): string | undefined {
  if (url.startsWith("file://")) return fileURLToPath(url);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return undefined;
  // git's rule: a colon before the first slash makes it scp-like (host:path).
  const colon = url.indexOf(":");
  const slash = url.indexOf("/");
  if (colon > 0 && (slash < 0 || colon < slash)) return undefined;
  return isAbsolute(url) ? url : resolve(cwd, url);
}

/** A key under which two spellings of one remote (trailing `/` or `.git`, relative path) meet. */
export function remoteKey(remote: RemoteSpec, cwd: string = Deno.cwd()): string {
  const local = localRemotePath(remote.url, cwd);
  const url = (local ?? remote.url).replace(/\/+$/, "").replace(/\.git$/, "");
  return `${url}\n${remote.branch}`;
}

async function settingsOf(paths: HomePaths): Promise<Settings> {
  try {
    return await loadSettings(paths.config);
  } catch (error) {
    if (error instanceof SettingsError) {
      throw new RemoteLookupError(
        `${error.message}. Fix config.json, or pass --repo and --branch explicitly.`,
      );
    }
    throw error;
  }
}

/** `id`, then the ids it may derive from: `a~2~host` gives `a~2~host`, `a~2`, `a`. */
function idCandidates(id: string): string[] {
  const names = [id];
  for (let at = id.lastIndexOf("~"); at > 0; at = id.lastIndexOf("~", at - 1)) {
    names.push(id.slice(0, at));
  }
  return names;
}

function pinnedRemote(state: RecordingState): RemoteSpec | undefined {
  const pinned = (state as Record<string, unknown>).remote as Partial<RemoteSpec> | undefined;
  return typeof pinned?.url === "string" && pinned.url && typeof pinned.branch === "string" &&
      pinned.branch
    ? { url: pinned.url, branch: pinned.branch }
    : undefined;
}

/**
 * What this machine recorded about recording `id`'s remote: the checkpoint's
 * pinned remote, else its `done/` or `active/` `.json` (either field may be
 * missing there); `undefined` when nothing names one.
 */
export async function recordingRemote(
  paths: HomePaths,
  id: string,
): Promise<Partial<RemoteSpec> | undefined> {
  const names = idCandidates(id);
  for (const name of names) {
    const state = await loadState(statePath(paths.state, name));
    if (state && !(state instanceof Error)) {
      const pinned = pinnedRemote(state);
      if (pinned) return pinned;
    }
  }
  for (const name of names) {
    for (const dir of [paths.done, paths.active]) {
      const read = await readRecordingConfig(join(dir, `${name}.json`));
      if (!read.ok) continue;
      const { repo_url: url, branch } = read.config;
      if (url || branch) return { url: url || undefined, branch: branch || undefined };
    }
  }
  return undefined;
}

/**
 * The remote and branch to read: the options, else what this machine
 * recorded for `options.id` ({@linkcode recordingRemote}), else config.json,
 * else the embedded remote. Throws {@linkcode RemoteLookupError} when
 * config.json is needed and broken.
 */
export async function resolveRemote(options: RemoteLookupOptions): Promise<RemoteSpec> {
  return checkedSpec(await lookUpRemote(options));
}

/** `spec` when git can be given its remote and branch; else a {@linkcode RemoteLookupError}. */
function checkedSpec(spec: RemoteSpec): RemoteSpec {
  const problem = remoteNameProblem(spec.url) ?? branchNameProblem(spec.branch);
  if (problem) {
    throw new RemoteLookupError(`cannot read ${termSafe(spec.url)}: ${termSafe(problem)}`);
  }
  return { url: withoutCredentials(spec.url), branch: spec.branch };
}

async function lookUpRemote(options: RemoteLookupOptions): Promise<RemoteSpec> {
  if (options.repoUrl && options.branch) return { url: options.repoUrl, branch: options.branch };
  const recorded = options.id !== undefined && !options.repoUrl
    ? await recordingRemote(options.paths, options.id)
    : undefined;
  const given = {
    url: options.repoUrl ?? recorded?.url,
    branch: options.branch ?? recorded?.branch,
  };
  if (given.url && given.branch) return { url: given.url, branch: given.branch };
  const settings = await settingsOf(options.paths);
  return remoteOf(given, {
    repoUrl: settings.repo_url,
    branch: settings.branch,
    backupGit: options.paths.backupGit,
  });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** The git directory at `path`: a bare repository, or a work tree's `.git`. */
export async function gitDirOf(path: string): Promise<string | undefined> {
  if (await isFile(join(path, "HEAD"))) return path;
  if (await isFile(join(path, ".git", "HEAD"))) return join(path, ".git");
  return undefined;
}

/** The remote a daemon clone was made for (`remote.origin.url`, `chunker.branch`), if recorded. */
export async function cloneRemote(gitDir: string): Promise<RemoteSpec | undefined> {
  if (!(await isFile(join(gitDir, "HEAD")))) return undefined;
  const result = await git(
    [
      "config",
      "--file",
      join(gitDir, "config"),
      "-z",
      "--get-regexp",
      "^(remote\\.origin\\.url|chunker\\.branch)$",
    ],
    { timeoutMs: 10_000 },
  );
  if (!result.success) return undefined;
  const values = new Map<string, string>();
  for (const record of result.stdout.split("\0")) {
    const newline = record.indexOf("\n");
    if (newline > 0) values.set(record.slice(0, newline), record.slice(newline + 1));
  }
  const url = values.get("remote.origin.url");
  const branch = values.get("chunker.branch");
  return url && branch ? { url, branch } : undefined;
}

async function cloneDirs(paths: HomePaths): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(paths.repos)))
      .filter((entry) => entry.isDirectory)
      .map((entry) => join(paths.repos, entry.name))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The daemon's local bare clone of `remote` under `repos/`, if there is one:
 * the folder named by {@linkcode repoSlug}, else any clone whose recorded
 * remote URL and branch match.
 */
export async function findLocalClone(
  paths: HomePaths,
  remote: RemoteSpec,
  options: { cwd?: string } = {},
): Promise<string | undefined> {
  const cwd = options.cwd ?? Deno.cwd();
  const direct = join(paths.repos, repoSlug(remote));
  if (await isFile(join(direct, "HEAD"))) return direct;
  const want = remoteKey(remote, cwd);
  for (const gitDir of await cloneDirs(paths)) {
    const found = await cloneRemote(gitDir);
    if (found && remoteKey(found, cwd) === want) return gitDir;
  }
  return undefined;
}

/** One remote this machine knows, and why. */
export interface KnownRemote extends RemoteSpec {
  /** config.json's default (or the embedded remote). */
  isDefault: boolean;
  /** Recordings whose checkpoint pins this remote. */
  pinned: number;
  /** A daemon clone under `repos/`. */
  clone?: string;
}

/**
 * Every remote the daemon knows: the default first, then every remote pinned
 * in a checkpoint and every clone under `repos/`, each once.
 */
export async function knownRemotes(
  paths: HomePaths,
  options: { cwd?: string } = {},
): Promise<KnownRemote[]> {
  const cwd = options.cwd ?? Deno.cwd();
  const settings = await settingsOf(paths);
  const byKey = new Map<string, KnownRemote>();
  const add = (remote: RemoteSpec, extra: Partial<KnownRemote>) => {
    const key = remoteKey(remote, cwd);
    const known = byKey.get(key) ?? { ...remote, isDefault: false, pinned: 0 };
    byKey.set(key, {
      ...known,
      isDefault: known.isDefault || (extra.isDefault ?? false),
      pinned: known.pinned + (extra.pinned ?? 0),
      clone: known.clone ?? extra.clone,
    });
  };
  add(
    remoteOf(undefined, {
      repoUrl: settings.repo_url,
      branch: settings.branch,
      backupGit: paths.backupGit,
    }),
    { isDefault: true },
  );
  const { states } = await loadAllStates(paths.state);
  for (const state of states.sort((a, b) => a.id.localeCompare(b.id))) {
    const pinned = pinnedRemote(state);
    if (pinned) add(pinned, { pinned: 1 });
  }
  for (const gitDir of await cloneDirs(paths)) {
    const remote = await cloneRemote(gitDir);
    if (remote) add(remote, { clone: gitDir });
  }
  return [...byKey.values()];
}

/**
 * The known remotes worth reading: {@linkcode knownRemotes}, leaving out the
 * embedded `backup.git` while it does not exist and other remotes are known.
 */
export async function readableRemotes(
  paths: HomePaths,
  options: { cwd?: string } = {},
): Promise<KnownRemote[]> {
  const cwd = options.cwd ?? Deno.cwd();
  const remotes = await knownRemotes(paths, { cwd });
  const readable: KnownRemote[] = [];
  for (const remote of remotes) {
    const local = localRemotePath(remote.url, cwd);
    if (
      remotes.length > 1 && remote.url === paths.backupGit && !remote.clone &&
      local && !(await gitDirOf(local))
    ) continue;
    readable.push(remote);
  }
  return readable;
}
