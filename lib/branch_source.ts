/**
 * Finds a readable git directory for a remote's recordings branch, for
 * `restore`, `list` and `verify`:
 *
 * - a local path is read in place (read-only plumbing, nothing copied);
 * - any other remote (including `file://`, which asks for git's transport) is fetched (single branch, no tags) into a temporary
 *   bare repository that borrows the objects of the daemon's local clone
 *   (`repos/<slug>.git`) through `objects/info/alternates`, so only what the
 *   clone lacks is transferred; when the remote cannot be reached and a local
 *   clone exists, the clone is read instead (with a note saying so).
 *
 * The fetch is complete, not `--depth=1`: the branch only ever adds files, so
 * every blob in its history is in its tip and a shallow fetch would save only
 * the commit objects (a few hundred bytes per chunk) while losing the
 * `Cast-Sha256` trailers that let each chunk be checked.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { envVarFor, GITHUB_PAT, openCredentialStore, SETUP_COMMAND } from "./credentials.ts";
import { git } from "./git.ts";
import { gitAuthFor, MissingTokenError } from "./git_auth.ts";
import type { HomePaths } from "./paths.ts";
import { type AuthResolver, repoSlug } from "./publisher.ts";
import { classifyGitError } from "./git_auth.ts";
import { DEFAULT_BRANCH, loadSettings, SettingsError } from "./settings.ts";
import { resolveTip } from "./branch_index.ts";
import { redact } from "./redact.ts";
import { displayUrl, parseRemoteUrl } from "./remote_url.ts";

/** Where recordings are read from. */
export interface RemoteSpec {
  /** Remote URL or path, as configured or given. */
  url: string;
  /** Branch name. */
  branch: string;
}

/** Options for {@linkcode openBranch}. */
export interface BranchSourceOptions {
  /** Remote URL or path (default: config.json `repo_url`, else `$ASCIINEMA_HOME/backup.git`). */
  repoUrl?: string;
  /** Branch (default: config.json `branch`, else `asciinema-recordings`). */
  branch?: string;
  /** Home layout (config.json, local clones, the embedded remote). */
  paths: HomePaths;
  /** Authentication for network remotes (the credential store's token for HTTPS). */
  authFor?: AuthResolver;
  /** Never touch the network: read the daemon's local clone. */
  offline?: boolean;
  /** Abort. */
  signal?: AbortSignal;
  /** Timeout of the fetch (default 10 min). */
  networkTimeoutMs?: number;
  /** Directory relative paths are resolved against (default the current one). */
  cwd?: string;
}

/** A readable copy of the branch. */
export interface BranchSource {
  /** The remote as given or configured. */
  url: string;
  /** The branch. */
  branch: string;
  /** The git directory to read. */
  gitDir: string;
  /** The ref to read inside it. */
  ref: string;
  /** How it was obtained. */
  via: "direct" | "fetched" | "local-clone";
  /** Things the person should know (fallbacks). */
  notes: string[];
  /** Removes the temporary repository, if any. */
  close(): Promise<void>;
}

/** Why a branch could not be opened. */
export type BranchSourceErrorKind =
  | "not_found"
  | "auth"
  | "network"
  | "remote"
  | "settings"
  | "offline";

/** A branch could not be opened; the message says what to do next. */
export class BranchSourceError extends Error {
  /** What went wrong. */
  readonly kind: BranchSourceErrorKind;
  /** Creates the error. */
  constructor(kind: BranchSourceErrorKind, message: string) {
    super(message);
    this.name = "BranchSourceError";
    this.kind = kind;
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

/** The remote and branch to read: options, else config.json, else the embedded remote. */
export async function resolveRemote(options: BranchSourceOptions): Promise<RemoteSpec> {
  if (options.repoUrl && options.branch) return { url: options.repoUrl, branch: options.branch };
  let settings;
  try {
    settings = await loadSettings(options.paths.config);
  } catch (error) {
    if (error instanceof SettingsError) {
      throw new BranchSourceError(
        "settings",
        `${error.message}\nFix config.json, or pass --repo and --branch explicitly.`,
      );
    }
    throw error;
  }
  return {
    url: options.repoUrl ?? settings.repo_url ?? options.paths.backupGit,
    branch: options.branch ?? settings.branch ?? DEFAULT_BRANCH,
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function normalizeUrl(url: string, cwd: string): string {
  const local = localRemotePath(url, cwd);
  return (local ?? url).replace(/\/+$/, "").replace(/\.git$/, "");
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
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(paths.repos));
  } catch {
    return undefined;
  }
  const want = normalizeUrl(remote.url, cwd);
  for (const entry of entries) {
    if (!entry.isDirectory) continue;
    const gitDir = join(paths.repos, entry.name);
    if (!(await isFile(join(gitDir, "HEAD")))) continue;
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
    if (!result.success) continue;
    const values = new Map<string, string>();
    for (const record of result.stdout.split("\0")) {
      const newline = record.indexOf("\n");
      if (newline > 0) values.set(record.slice(0, newline), record.slice(newline + 1));
    }
    const url = values.get("remote.origin.url");
    if (
      url && values.get("chunker.branch") === remote.branch && normalizeUrl(url, cwd) === want
    ) return gitDir;
  }
  return undefined;
}

async function gitDirOf(path: string): Promise<string | undefined> {
  if (await isFile(join(path, "HEAD"))) return path;
  if (await isFile(join(path, ".git", "HEAD"))) return join(path, ".git");
  return undefined;
}

/**
 * Opens the recordings branch for reading. Close the result when done (it
 * may be a temporary repository).
 */
export async function openBranch(options: BranchSourceOptions): Promise<BranchSource> {
  const remote = await resolveRemote(options);
  const cwd = options.cwd ?? Deno.cwd();
  const ref = `refs/heads/${remote.branch}`;
  const shown = displayUrl(remote.url);
  const notes: string[] = [];
  const noop = () => Promise.resolve();
  const local = remote.url.startsWith("file://") ? undefined : localRemotePath(remote.url, cwd);
  const clone = await findLocalClone(options.paths, remote, { cwd });

  const useClone = async (why: string): Promise<BranchSource | undefined> => {
    if (!clone || !(await resolveTip(clone, ref, { signal: options.signal }))) return undefined;
    notes.push(why);
    return { ...remote, url: shown, gitDir: clone, ref, via: "local-clone", notes, close: noop };
  };

  if (options.offline) {
    const source = await useClone(
      "offline: read the daemon's local clone; chunks pushed from other machines may be missing",
    );
    if (source) return source;
    throw new BranchSourceError(
      "offline",
      `There is no local clone of ${shown} (${remote.branch}) under ${options.paths.repos}; ` +
        "run without --offline to fetch the branch.",
    );
  }

  if (local !== undefined) {
    const gitDir = await gitDirOf(local);
    if (gitDir && (await resolveTip(gitDir, ref, { signal: options.signal }))) {
      return { ...remote, url: shown, gitDir, ref, via: "direct", notes, close: noop };
    }
    const source = await useClone(
      `${shown} has no branch ${remote.branch}; read the daemon's local clone instead`,
    );
    if (source) return source;
    throw new BranchSourceError(
      "not_found",
      gitDir
        ? `${shown} has no branch ${remote.branch}: nothing was backed up there yet ` +
          "(check --branch, or `daemon.ts status`)."
        : `${shown} is not a git repository: check --repo (or repo_url in config.json).`,
    );
  }

  const tmp = await Deno.makeTempDir({ prefix: "asciinema-restore-" });
  const close = () => Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    const init = await git(["init", "--bare", "--quiet", tmp], { signal: options.signal });
    if (!init.success) throw new Error(`git init failed: ${init.stderr.trim()}`);
    if (clone) {
      await Deno.writeTextFile(
        join(tmp, "objects", "info", "alternates"),
        join(clone, "objects") + "\n",
      );
    }
    let target: Awaited<ReturnType<AuthResolver>> = { url: remote.url };
    if (options.authFor) {
      try {
        target = await options.authFor(remote.url);
      } catch (error) {
        const message = (error as Error).message;
        const source = await useClone(
          `cannot reach ${shown} (${message}); read the daemon's local clone instead`,
        );
        if (source) {
          await close();
          return source;
        }
        throw new BranchSourceError(
          (error as Error).name === "RemoteUrlError" ? "remote" : "auth",
          message,
        );
      }
    }
    const timeoutMs = options.networkTimeoutMs ?? 600_000;
    const result = await git([
      "fetch",
      "--quiet",
      "--no-tags",
      "--no-write-fetch-head",
      "--no-recurse-submodules",
      "--end-of-options",
      target.url,
      `+${ref}:${ref}`,
    ], { gitDir: tmp, auth: target.auth, signal: options.signal, timeoutMs });
    if (result.success) {
      return { ...remote, url: shown, gitDir: tmp, ref, via: "fetched", notes, close };
    }
    const stderr = redact(result.stderr.trim().split("\n").slice(-3).join("\n"));
    const missing = /couldn't find remote ref|could not find remote ref/i.test(result.stderr);
    const source = await useClone(
      missing
        ? `${shown} has no branch ${remote.branch} yet; read the daemon's local clone instead`
        : `fetching ${shown} failed (${stderr || "timed out"}); read the daemon's local ` +
          "clone instead, which may lack chunks pushed from other machines",
    );
    if (source) {
      await close();
      return source;
    }
    if (missing) {
      throw new BranchSourceError(
        "not_found",
        `${shown} has no branch ${remote.branch}: check --branch (or branch in config.json).`,
      );
    }
    const kind = classifyGitError(result.stderr, { timedOut: result.timedOut });
    throw new BranchSourceError(
      kind === "auth" ? "auth" : kind === "network" ? "network" : "remote",
      `Could not fetch ${remote.branch} from ${shown}: ${stderr || "timed out"}` +
        (kind === "auth"
          ? `\nCheck the GitHub token in the credential store (\`${SETUP_COMMAND}\`, or ` +
            `${envVarFor(GITHUB_PAT)} with credential_store env) and the remote's access rights.`
          : ""),
    );
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The authentication of `restore`, `list` and `verify`: the token from the
 * credential store (config.json `credential_store`, or
 * `ASCIINEMA_CREDENTIAL_STORE`) for remotes that need one. Without a token
 * the fetch is tried anonymously (public repositories); the store is not
 * touched for SSH and local remotes.
 */
export function storeAuthResolver(paths: HomePaths): AuthResolver {
  return async (url: string) => {
    const remote = parseRemoteUrl(url);
    if (!remote.needsToken) return { url: remote.url };
    let setting: string | undefined;
    try {
      setting = (await loadSettings(paths.config)).credential_store;
    } catch {
      setting = undefined; // a broken config.json is reported elsewhere; auto works here
    }
    const store = await openCredentialStore({ setting });
    try {
      const resolved = await gitAuthFor(url, { store });
      return { url: resolved.url, auth: resolved.auth };
    } catch (error) {
      if (error instanceof MissingTokenError) return { url: remote.url };
      throw error;
    }
  };
}
