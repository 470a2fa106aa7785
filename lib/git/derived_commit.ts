/**
 * Committing files derived from recordings (the text index) onto a branch:
 * one commit through `git fast-import`, on top of a given parent, so nothing
 * needs a work tree. The daemon commits into its clone (then pushes with the
 * clone's push, which replays onto a moved remote); `reindex` commits into a
 * scratch repository and pushes it itself.
 *
 * @module
 */
import { concatBytes } from "../sys/mod.ts";
import { git, type GitAuth } from "./hermetic.ts";
import { remoteRefusal } from "./publisher.ts";
import { commitHeader, quoteFastImportPath } from "./fast_import.ts";
import { PublishError } from "./target.ts";
import { classifyGitError } from "./auth.ts";

/** One file to add (or replace) on the branch. */
export interface DerivedFile {
  /** Path on the branch. */
  path: string;
  /** Its content. */
  bytes: Uint8Array;
}

/** Options of {@linkcode commitFiles}. */
export interface CommitFilesOptions {
  /** The ref the commit goes on (moved to it). */
  ref: string;
  /** The parent commit (none: a root commit). */
  parent?: string;
  /** The commit message. */
  message: string;
  /** Paths to delete in the same commit (an index replaced under another name). */
  remove?: string[];
  /** Daemon-owned git config (`GIT_CONFIG_GLOBAL`). */
  globalConfig?: string;
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * Commits `files` on top of `options.parent` as one commit on `options.ref`
 * of the repository `gitDir`; returns the new commit. Throws a
 * `PublishError` (`disk`) when git refuses (the ref moved meanwhile, disk).
 */
export async function commitFiles(
  gitDir: string,
  files: DerivedFile[],
  options: CommitFilesOptions,
): Promise<string> {
  const parts: Uint8Array[] = [
    encoder.encode(commitHeader(options.ref, options)),
  ];
  for (const file of files) {
    parts.push(
      encoder.encode(
        `M 100644 inline ${quoteFastImportPath(file.path)}\ndata ${file.bytes.length}\n`,
      ),
      file.bytes,
      encoder.encode("\n"),
    );
  }
  for (const path of options.remove ?? []) {
    parts.push(encoder.encode(`D ${quoteFastImportPath(path)}\n`));
  }
  parts.push(encoder.encode("done\n"));
  const bytes = parts.reduce((sum, part) => sum + part.length, 0);
  const result = await git(["fast-import", "--quiet", "--done"], {
    gitDir,
    globalConfig: options.globalConfig,
    signal: options.signal,
    stdin: concatBytes(parts),
    timeoutMs: 120_000 + Math.ceil(bytes / (1 << 20)) * 2000,
  });
  if (!result.success) {
    throw new PublishError(
      "disk",
      `git fast-import failed in ${gitDir}: ${result.stderr.trim().slice(0, 500) || "timed out"}`,
    );
  }
  const tip = await git(["rev-parse", "--verify", "--quiet", `${options.ref}^{commit}`], {
    gitDir,
    globalConfig: options.globalConfig,
    signal: options.signal,
  });
  if (!tip.success) throw new PublishError("disk", `${options.ref} is missing after fast-import`);
  return tip.stdout.trim();
}

/** Options of {@linkcode pushCommit}. */
export interface PushCommitOptions {
  /** The remote (URL or path, as git takes it). */
  url: string;
  /** The branch to move. */
  branch: string;
  /** The commit to push (its parent is the branch's tip the pusher saw). */
  commit: string;
  /** Authentication for the remote. */
  auth?: GitAuth;
  /** Daemon-owned git config (`GIT_CONFIG_GLOBAL`). */
  globalConfig?: string;
  /** Timeout (default 120 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Pushes `options.commit` to `options.branch` of the remote from `gitDir`.
 * Returns `"pushed"`, or `"moved"` when the branch moved meanwhile (fetch and
 * commit again on its new tip); throws a `PublishError` otherwise.
 */
export async function pushCommit(
  gitDir: string,
  options: PushCommitOptions,
): Promise<"pushed" | "moved"> {
  const result = await git([
    "push",
    "--porcelain",
    "--quiet",
    "--end-of-options",
    options.url,
    `${options.commit}:refs/heads/${options.branch}`,
  ], {
    gitDir,
    auth: options.auth,
    globalConfig: options.globalConfig,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  if (result.success) return "pushed";
  const refused = remoteRefusal(result.stdout, result.stderr);
  if (refused) throw new PublishError("rejected", refused);
  const text = `${result.stdout}\n${result.stderr}`;
  if (/\[rejected\]|non-fast-forward|fetch first|\(stale info\)/i.test(text)) return "moved";
  throw new PublishError(
    classifyGitError(result.stderr, { timedOut: result.timedOut }),
    `push failed: ${result.stderr.trim().slice(0, 500) || (result.timedOut ? "timed out" : "")}`,
  );
}
