/**
 * Setup's real write check with git and the token, and the creation of the
 * recordings branch.
 *
 * - {@linkcode checkPushAccess}: with git and this token
 *   (lib/git/auth.ts, environment only, hermetic lib/git/hermetic.ts; never `gh`):
 *   `git ls-remote` (the token reads the repository), then
 *   `git push --dry-run` of a commit to the branch. A dry run asks the
 *   server's push endpoint (`service=git-receive-pack`) for its refs, which
 *   GitHub answers with 403 when the token may read but not write, and sends
 *   nothing. A token that reads but cannot push is reported as `read-only`,
 *   never as valid.
 * - {@linkcode ensureBranch}: creates the orphan recordings branch (one
 *   commit with a README) when the remote does not have it yet.
 *
 * @module
 */
import { join } from "node:path";
import { errorMessage, redact, registerSecret } from "../sys/mod.ts";
import {
  classifyGitError,
  displayUrl,
  git,
  type GitAuth,
  gitAuthFor,
  gitChecked,
  parseRemoteUrl,
  tokenHostEntry,
} from "../git/mod.ts";

/** Timeout of one git network operation during setup. */
export const SETUP_GIT_TIMEOUT_MS = 60_000;

export type PushCheck =
  | {
    ok: true;
    /** True when the branch already exists on the remote. */
    branchExists: boolean;
  }
  | {
    ok: false;
    /**
     * `auth`: the git server rejected the token outright; `read-only`: it
     * reads the repository but may not push; `network`: unreachable;
     * `remote`: anything else (no such repository, ...).
     */
    kind: "auth" | "read-only" | "network" | "remote";
    /** What went wrong and what to do (never the token). */
    message: string;
  };

/** Options for {@linkcode checkPushAccess} and {@linkcode ensureBranch}. */
export interface GitCheckOptions {
  /** The token (for https and loopback http remotes). */
  token?: string;
  /** The branch. */
  branch: string;
  /** Timeout per git network call (default {@linkcode SETUP_GIT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Abort (Ctrl-C). */
  signal?: AbortSignal;
}

function gitDetail(stderr: string): string {
  const lines = redact(stderr).split("\n").map((line) => line.trim()).filter(Boolean);
  return lines.slice(-3).join(" / ").slice(0, 400) || "no output";
}

async function resolve(url: string, token?: string): Promise<{ url: string; auth: GitAuth }> {
  // The person chose this remote for this token in setup: it is in the token's scope.
  const entry = tokenHostEntry(parseRemoteUrl(url));
  const resolved = await gitAuthFor(url, { token, scope: { tokenHosts: entry ? [entry] : [] } });
  return { url: resolved.url, auth: resolved.auth };
}

/** The branch's tip on the remote (`undefined` when absent), or the failure. */
async function remoteTip(
  url: string,
  auth: GitAuth,
  options: GitCheckOptions,
): Promise<{ tip?: string } | { error: PushCheck & { ok: false } }> {
  const result = await git(
    ["ls-remote", "--heads", "--end-of-options", url, `refs/heads/${options.branch}`],
    { auth, timeoutMs: options.timeoutMs ?? SETUP_GIT_TIMEOUT_MS, signal: options.signal },
  );
  if (!result.success) {
    const kind = classifyGitError(result.stderr, { timedOut: result.timedOut });
    const shown = displayUrl(url);
    const message = kind === "auth"
      ? `the git server refused the token for ${shown} (${gitDetail(result.stderr)}): check ` +
        `that the token has access to this repository ("Contents" permission)`
      : kind === "network"
      ? `could not reach ${shown} (${
        result.timedOut ? "timed out" : gitDetail(result.stderr)
      }); check the network`
      : `git could not read ${shown} (${gitDetail(result.stderr)}); does the repository exist?`;
    return { error: { ok: false, kind: kind === "auth" ? "auth" : kind, message } };
  }
  const line = result.stdout.split("\n").find((entry) =>
    entry.endsWith(`\trefs/heads/${options.branch}`)
  );
  return { tip: line?.split("\t")[0] };
}

/** A scratch bare repository holding one orphan commit (a README); removed by `dispose`. */
async function scratchCommit(
  signal?: AbortSignal,
): Promise<{ gitDir: string; commit: string; dispose: () => Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "asciinema-setup-" });
  const dispose = () => Deno.remove(root, { recursive: true }).catch(() => {});
  try {
    const gitDir = join(root, "check.git");
    await gitChecked(["init", "--bare", "--quiet", gitDir], { signal });
    const blob = (await gitChecked(["hash-object", "-w", "--stdin"], {
      gitDir,
      stdin: BRANCH_README,
      signal,
    })).trim();
    const tree = (await gitChecked(["mktree"], {
      gitDir,
      stdin: `100644 blob ${blob}\tREADME.md\n`,
      signal,
    })).trim();
    const commit = (await gitChecked(
      ["commit-tree", tree, "-m", "Start the asciinema recordings branch"],
      { gitDir, signal },
    )).trim();
    return { gitDir, commit, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** The README of a new recordings branch. */
export const BRANCH_README = `# asciinema recordings

This branch is written by asciinema-chunker: live terminal recordings,
backed up chunk by chunk while they are made.

- \`chunks/<id>/<seq>_<start>-<end>.cast.zst\`: one zstd frame per chunk
  (\`.cast.zst.age\`: encrypted with age)
- \`recordings/<id>/manifest.json\` (or \`manifest.json.age\`): written when a
  recording ends

Restore one with \`deno task restore <id>\` (or concatenate the chunks of a
recording in order and run \`zstd -d\`; an encrypted chunk first goes through
\`age -d -i key.txt\`).
`;

/** Parses `git push --porcelain` for `ref`: the status flag and summary, if reported. */
function porcelainStatus(
  stdout: string,
  ref: string,
): { flag: string; summary: string } | undefined {
  for (const line of stdout.split("\n")) {
    const parts = line.split("\t");
    if (parts.length >= 3 && parts[1].endsWith(`:${ref}`)) {
      return { flag: parts[0], summary: parts.slice(2).join("\t") };
    }
  }
  return undefined;
}

function pushFailure(url: string, stderr: string, timedOut: boolean): PushCheck & { ok: false } {
  const kind = classifyGitError(stderr, { timedOut });
  const shown = displayUrl(url);
  if (kind === "auth") {
    return {
      ok: false,
      kind: "read-only",
      message: `the token can read ${shown} but cannot push to it (${gitDetail(stderr)}): ` +
        `give it write access ("Contents: Read and write" for a fine-grained token, the ` +
        `"repo" scope for a classic one)`,
    };
  }
  if (kind === "network") {
    return {
      ok: false,
      kind: "network",
      message: `could not reach ${shown} to test a push (${
        timedOut ? "timed out" : gitDetail(stderr)
      })`,
    };
  }
  return {
    ok: false,
    kind: "remote",
    message: `a test push to ${shown} failed (${gitDetail(stderr)})`,
  };
}

/**
 * The write check: with this token, `git ls-remote` then
 * `git push --dry-run --porcelain` of a commit to `refs/heads/<branch>`.
 * Reaching the push endpoint's ref list means the server lets this token
 * push (a branch that exists answers "fetch first" for our unrelated commit:
 * still write access; nothing is sent by a dry run). Never throws for git
 * failures.
 */
export async function checkPushAccess(url: string, options: GitCheckOptions): Promise<PushCheck> {
  if (options.token) registerSecret(options.token);
  let resolved: { url: string; auth: GitAuth };
  try {
    resolved = await resolve(url, options.token);
  } catch (error) {
    return { ok: false, kind: "remote", message: errorMessage(error) };
  }
  const tip = await remoteTip(resolved.url, resolved.auth, options);
  if ("error" in tip) return tip.error;
  const scratch = await scratchCommit(options.signal);
  try {
    const ref = `refs/heads/${options.branch}`;
    const result = await git(
      [
        "push",
        "--dry-run",
        "--porcelain",
        "--end-of-options",
        resolved.url,
        `${scratch.commit}:${ref}`,
      ],
      {
        gitDir: scratch.gitDir,
        auth: resolved.auth,
        timeoutMs: options.timeoutMs ?? SETUP_GIT_TIMEOUT_MS,
        signal: options.signal,
      },
    );
    const status = porcelainStatus(result.stdout, ref);
    const reached = status !== undefined &&
      (status.flag !== "!" || /fetch first|non-fast-forward|stale info/.test(status.summary));
    if (reached) return { ok: true, branchExists: tip.tip !== undefined };
    return pushFailure(resolved.url, result.stderr || status?.summary || "", result.timedOut);
  } finally {
    await scratch.dispose();
  }
}

/** What {@linkcode ensureBranch} did. */
export type EnsureBranchResult = "created" | "exists";

/** Thrown by {@linkcode ensureBranch}: the branch could not be created. */
export class BranchSetupError extends Error {
  /** The kind of failure. */
  readonly kind: "auth" | "read-only" | "network" | "remote";
  /** Creates the error. */
  constructor(kind: BranchSetupError["kind"], message: string) {
    super(message);
    this.name = "BranchSetupError";
    this.kind = kind;
  }
}

/**
 * Creates the orphan branch on the remote (one commit with a README) unless
 * it exists. Throws {@linkcode BranchSetupError}.
 */
export async function ensureBranch(
  url: string,
  options: GitCheckOptions,
): Promise<EnsureBranchResult> {
  if (options.token) registerSecret(options.token);
  let resolved: { url: string; auth: GitAuth };
  try {
    resolved = await resolve(url, options.token);
  } catch (error) {
    throw new BranchSetupError("remote", errorMessage(error));
  }
  const tip = await remoteTip(resolved.url, resolved.auth, options);
  if ("error" in tip) throw new BranchSetupError(tip.error.kind, tip.error.message);
  if (tip.tip) return "exists";
  const scratch = await scratchCommit(options.signal);
  try {
    const ref = `refs/heads/${options.branch}`;
    const result = await git(
      ["push", "--porcelain", "--end-of-options", resolved.url, `${scratch.commit}:${ref}`],
      {
        gitDir: scratch.gitDir,
        auth: resolved.auth,
        timeoutMs: options.timeoutMs ?? SETUP_GIT_TIMEOUT_MS,
        signal: options.signal,
      },
    );
    const status = porcelainStatus(result.stdout, ref);
    if (result.success && status && status.flag !== "!") return "created";
    // Created by someone else in the meantime: fine.
    if (status && /fetch first|non-fast-forward/.test(status.summary)) return "exists";
    const failure = pushFailure(
      resolved.url,
      result.stderr || status?.summary || "",
      result.timedOut,
    );
    throw new BranchSetupError(failure.kind, failure.message);
  } finally {
    await scratch.dispose();
  }
}
