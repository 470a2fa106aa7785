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
 * With a local clone the fetch is complete: the clone's objects make it
 * cheap (only what is new is sent, and the check that the history is whole
 * stops at the clone's tip). Without one it is shallow (`--depth=1`): only
 * the tip's tree, whatever the length of the history, since the chunks'
 * records beside them hold what readers need (lib/chunk/chunk_sum.ts). A
 * branch written before records existed is deepened (`--unshallow`) when a
 * reader needs the trailers of its chunks' commits
 * ({@linkcode BranchSource.deepen}).
 *
 * @module
 */
import { join } from "node:path";
import { envVarFor, GITHUB_PAT, openCredentialStore, SETUP_COMMAND } from "../credentials/mod.ts";
import {
  anonymousNote,
  type AuthResolver,
  BlobReader,
  type BranchIndex,
  classifyGitError,
  displayUrl,
  git,
  gitAuthFor,
  isPartialClone,
  MissingTokenError,
  parseRemoteUrl,
  readBranchIndex,
  resolveTip,
  tokenAllowedFor,
  tokenScopeOf,
} from "../git/mod.ts";
import {
  errorMessage,
  exists,
  type HomePaths,
  KindedError,
  loadSettings,
  redact,
  type Settings,
} from "../sys/mod.ts";
import {
  findLocalClone,
  gitDirOf,
  localRemotePath,
  RemoteLookupError,
  type RemoteLookupOptions,
  type RemoteSpec,
  resolveRemote,
} from "./remote_lookup.ts";
import type { DecryptOptions } from "./chunk_stream.ts";

/** Options for {@linkcode openBranch} (and the identities of those who read encrypted chunks). */
export interface BranchSourceOptions extends RemoteLookupOptions, DecryptOptions {
  /** Authentication for network remotes (the credential store's token for HTTPS). */
  authFor?: AuthResolver;
  /** Never touch the network: read the daemon's local clone. */
  offline?: boolean;
  /** Abort. */
  signal?: AbortSignal;
  /** Timeout of the fetch (default 10 min). */
  networkTimeoutMs?: number;
  /**
   * Fetch into this bare repository (made when missing, kept by `close`)
   * instead of a new temporary one: a reader polling the branch (`play
   * --follow`) fetches only what is new each time.
   */
  scratch?: string;
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
  /** Fetches the history a shallow fetch left out (set only when the fetch was shallow). */
  deepen?: () => Promise<void>;
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
export class BranchSourceError extends KindedError<BranchSourceErrorKind> {}

/**
 * Which remote and branch to read ({@linkcode resolveRemote}); a lookup that
 * fails is a {@linkcode BranchSourceError} of kind `settings`.
 */
export async function resolveBranchRemote(options: RemoteLookupOptions): Promise<RemoteSpec> {
  try {
    return await resolveRemote(options);
  } catch (error) {
    if (error instanceof RemoteLookupError) throw new BranchSourceError("settings", error.message);
    throw error;
  }
}

/**
 * Makes `view` a bare repository that reads `clone`'s objects (alternates)
 * and its shallow boundary, with `ref` at `tip`: not a partial clone, so a
 * blob the clone lacks is reported missing instead of fetched.
 */
async function cloneView(
  clone: string,
  view: string,
  ref: string,
  tip: string,
  signal?: AbortSignal,
): Promise<void> {
  const init = await git(["init", "--bare", "--quiet", view], { signal });
  if (!init.success) throw new Error(`git init failed: ${init.stderr.trim()}`);
  await Deno.writeTextFile(
    join(view, "objects", "info", "alternates"),
    join(clone, "objects") + "\n",
  );
  await Deno.copyFile(join(clone, "shallow"), join(view, "shallow")).catch(() => {});
  const set = await git(["update-ref", ref, tip], { gitDir: view, signal });
  if (!set.success) throw new Error(`git update-ref failed: ${set.stderr.trim()}`);
}

/**
 * Opens the recordings branch for reading. Close the result when done (it
 * may be a temporary repository).
 */
export async function openBranch(options: BranchSourceOptions): Promise<BranchSource> {
  const remote = await resolveBranchRemote(options);
  const cwd = options.cwd ?? Deno.cwd();
  const ref = `refs/heads/${remote.branch}`;
  const shown = displayUrl(remote.url);
  const notes: string[] = [];
  const noop = () => Promise.resolve();
  const local = remote.url.startsWith("file://") ? undefined : localRemotePath(remote.url, cwd);
  const clone = await findLocalClone(options.paths, remote, { cwd });

  const useClone = async (why: string): Promise<BranchSource | undefined> => {
    const tip = clone && await resolveTip(clone, ref, { signal: options.signal });
    if (!clone || !tip) return undefined;
    notes.push(why);
    if (await isPartialClone(clone)) {
      // A filtered clone asks its remote for every blob it lacks (and, here, fails): it is
      // read through a repository that borrows its objects, where a lacking blob is missing.
      // Beside a caller's scratch repository (kept, and removed, with it), else temporary.
      const view = options.scratch
        ? `${options.scratch}.clone-view`
        : await Deno.makeTempDir({ prefix: "asciinema-clone-view-" });
      const remove = () => Deno.remove(view, { recursive: true }).catch(() => {});
      if (options.scratch) await remove();
      try {
        await cloneView(clone, view, ref, tip, options.signal);
      } catch (error) {
        await remove();
        throw error;
      }
      const close = options.scratch ? noop : remove;
      return { ...remote, url: shown, gitDir: view, ref, via: "local-clone", notes, close };
    }
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

  const tmp = options.scratch ?? await Deno.makeTempDir({ prefix: "asciinema-restore-" });
  const close = options.scratch
    ? noop
    : () => Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    const init = await git(["init", "--bare", "--quiet", tmp], { signal: options.signal });
    if (!init.success) throw new Error(`git init failed: ${init.stderr.trim()}`);
    // A daemon clone that holds only the tip's trees (shallow, filtered) cannot lend its
    // objects: git would take its tips as complete and skip what it lacks.
    const lends = clone !== undefined && !(await isPartialClone(clone));
    if (lends) {
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
        const message = errorMessage(error);
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
    const fetch = (depth: string[]) =>
      git([
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        ...depth,
        "--end-of-options",
        target.url,
        `+${ref}:${ref}`,
      ], { gitDir: tmp, auth: target.auth, signal: options.signal, timeoutMs });
    const result = await fetch(lends ? [] : ["--depth=1"]);
    if (result.success) {
      const deepen = async () => {
        if (!(await exists(join(tmp, "shallow")))) return;
        const deeper = await fetch(["--unshallow"]);
        if (!deeper.success) {
          throw new BranchSourceError(
            "network",
            `Could not fetch the history of ${remote.branch} from ${shown}: ` +
              (redact(deeper.stderr.trim().split("\n").slice(-3).join("\n")) || "timed out"),
          );
        }
      };
      return { ...remote, url: shown, gitDir: tmp, ref, via: "fetched", notes, deepen, close };
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
        (kind !== "auth"
          ? ""
          : target.anonymous
          ? `. It was asked without a token: ${target.anonymous}.`
          : `. Check the GitHub token in the credential store (\`${SETUP_COMMAND}\`, or ` +
            `${envVarFor(GITHUB_PAT)} with credential_store env) and the remote's access rights.`),
    );
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The authentication of `restore`, `list` and `verify`: the token from the
 * credential store (config.json `credential_store`, or
 * `ASCIINEMA_CREDENTIAL_STORE`) for remotes in the token's scope
 * (github.com, `github_api`'s host, `github_token_hosts`). Without a token
 * the fetch is tried anonymously (public repositories); the store is not
 * touched for SSH and local remotes.
 */
export function storeAuthResolver(paths: HomePaths): AuthResolver {
  return async (url: string) => {
    const remote = parseRemoteUrl(url);
    let settings: Settings | undefined;
    try {
      settings = await loadSettings(paths.config);
    } catch {
      settings = undefined; // a broken config.json is reported elsewhere; auto works here
    }
    const scope = settings ? tokenScopeOf(settings) : {};
    if (!tokenAllowedFor(remote, scope)) return { url: remote.url, ...anonymousNote(remote) };
    const store = await openCredentialStore({ setting: settings?.credential_store });
    try {
      const resolved = await gitAuthFor(url, { store, scope });
      return { url: resolved.url, auth: resolved.auth };
    } catch (error) {
      if (error instanceof MissingTokenError) return { url: remote.url };
      throw error;
    }
  };
}

/** Options of {@linkcode readBranchRecordings}. */
export interface ReadBranchOptions extends BranchSourceOptions {
  /** Only these recordings' chunks and manifests (default: all). */
  ids?: string[];
  /** Which chunks' details to load with the index (see `BranchReadOptions.details`; default all). */
  details?: "all" | "ends" | "none";
  /** The blob reader's timeout, from the index (default: the reader's own). */
  readerTimeoutMs?: (index: BranchIndex) => number;
}

/** The branch as a reader sees it: its index and one open blob reader. */
export interface BranchView {
  /** The branch's chunks, manifests and strays. */
  index: BranchIndex;
  /** Reads blobs of the branch (closed by {@linkcode readBranchRecordings}). */
  reader: BlobReader;
}

/** What {@linkcode readBranchRecordings} answers: where it read, and one item a recording. */
export interface BranchRecordings<T> {
  /** The remote as given or configured. */
  url: string;
  /** The branch. */
  branch: string;
  /** How it was obtained. */
  via: BranchSource["via"];
  /** Things the person should know (fallbacks). */
  notes: string[];
  /** What `body` made of the branch (empty when the branch does not exist). */
  recordings: T[];
}

/**
 * Opens the branch, reads its index, runs `body` with a blob reader, and
 * closes reader and source again, whatever happens (`list`, `verify`).
 */
export async function readBranchRecordings<T>(
  options: ReadBranchOptions,
  body: (view: BranchView) => Promise<T[]>,
): Promise<BranchRecordings<T>> {
  const source = await openBranch(options);
  try {
    const index = await readBranchIndex(source.gitDir, source.ref, {
      ids: options.ids,
      details: options.details,
      deepen: source.deepen,
      signal: options.signal,
    });
    let recordings: T[] = [];
    if (index) {
      const timeoutMs = options.readerTimeoutMs?.(index);
      const reader = BlobReader.open(source.gitDir, {
        signal: options.signal,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      try {
        recordings = await body({ index, reader });
      } finally {
        await reader.close();
      }
    }
    return {
      url: source.url,
      branch: source.branch,
      via: source.via,
      notes: source.notes,
      recordings,
    };
  } finally {
    await source.close();
  }
}
