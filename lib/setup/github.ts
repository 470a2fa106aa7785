/**
 * Setup's checks of a GitHub token against the repository the daemon will
 * push to, and the creation of the recordings branch.
 *
 * - {@linkcode checkGitHubToken}: `GET {api}/user` (whose token is it) and
 *   `GET {api}/repos/{owner}/{repo}` (does the token see the repository, and
 *   does GitHub say its user may push). The token travels only in the
 *   `Authorization` header.
 * - {@linkcode checkPushAccess}: the real test, with git and this token
 *   (lib/git/auth.ts, environment only, hermetic lib/git/hermetic.ts; never `gh`):
 *   `git ls-remote` (the token reads the repository), then
 *   `git push --dry-run` of a commit to the branch. A dry run asks the
 *   server's push endpoint (`service=git-receive-pack`) for its refs, which
 *   GitHub answers with 403 when the token may read but not write, and sends
 *   nothing. A token that reads but cannot push is reported as `read-only`,
 *   never as valid. (GitHub's `permissions.push` describes the user, not a
 *   fine-grained token's own permissions, so the API answer alone is not
 *   enough.)
 * - {@linkcode ensureBranch}: creates the orphan recordings branch (one
 *   commit with a README) when the remote does not have it yet.
 *
 * @module
 */
import { join } from "node:path";
import { redact, registerSecret, timeoutSignal } from "../sys/mod.ts";
import {
  classifyGitError,
  displayUrl,
  git,
  type GitAuth,
  gitAuthFor,
  gitChecked,
  parseRemoteUrl,
} from "../git/mod.ts";

/** Default GitHub API. */
export const DEFAULT_GITHUB_API = "https://api.github.com";

/** Timeout of one API request. */
export const API_TIMEOUT_MS = 15_000;

/** Timeout of one git network operation during setup. */
export const SETUP_GIT_TIMEOUT_MS = 60_000;

/** Where people create a fine-grained token (GitHub or a GitHub Enterprise host). */
export function tokenCreationUrl(webHost = "github.com"): string {
  return `https://${webHost}/settings/personal-access-tokens/new`;
}

/** Owner and name of a repository. */
export interface RepoName {
  /** Owner (user or organisation). */
  owner: string;
  /** Repository name (without `.git`). */
  repo: string;
}

/**
 * Owner and repository of an `https://` (or loopback `http://`) remote or a
 * GitHub SSH form: the last two path segments, `.git` removed; `undefined`
 * for local paths, other SSH hosts, or a path with fewer than two segments.
 */
export function repoNameOf(url: string): RepoName | undefined {
  let parsed;
  try {
    parsed = parseRemoteUrl(url);
  } catch {
    return undefined;
  }
  if (parsed.kind !== "https" && parsed.kind !== "http-loopback") return undefined;
  const parts = new URL(parsed.url).pathname.split("/").filter(Boolean);
  if (parts.length < 2) return undefined;
  const owner = decodeURIComponent(parts[parts.length - 2]);
  const repo = decodeURIComponent(parts[parts.length - 1]).replace(/\.git$/, "");
  if (!owner || !repo) return undefined;
  return { owner, repo };
}

/** What the GitHub API said about a token. */
export type TokenCheck =
  | {
    ok: true;
    /** The token's user. */
    login: string;
    /** `permissions.push` of the repository (the user's role; the git check decides). */
    push: boolean;
    /** `owner/repo` as GitHub spells it. */
    fullName: string;
  }
  | {
    ok: false;
    /**
     * `invalid`: GitHub rejected the token (401); `no-repo`: the token cannot
     * see the repository (404/403); `read-only`: GitHub says no push;
     * `network`: no answer; `api`: any other answer.
     */
    kind: "invalid" | "no-repo" | "read-only" | "network" | "api";
    /** What went wrong and what to do (never the token). */
    message: string;
    /** The token's user, when known. */
    login?: string;
  };

/** Options for {@linkcode checkGitHubToken}. */
export interface CheckTokenOptions {
  /** API base URL (default {@linkcode DEFAULT_GITHUB_API}). */
  api?: string;
  /** The repository. */
  repo: RepoName;
  /** `fetch` (tests). */
  fetch?: typeof fetch;
  /** Per-request timeout (default {@linkcode API_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Abort (Ctrl-C). */
  signal?: AbortSignal;
}

async function apiGet(
  path: string,
  token: string,
  options: CheckTokenOptions,
): Promise<{ status: number; body: Record<string, unknown> } | { error: string }> {
  const base = (options.api ?? DEFAULT_GITHUB_API).replace(/\/+$/, "");
  const limit = timeoutSignal(options.timeoutMs ?? API_TIMEOUT_MS, options.signal);
  try {
    const response = await (options.fetch ?? fetch)(base + path, {
      headers: {
        "Authorization": `Bearer ${token}`,
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "asciinema-chunker-setup",
      },
      signal: limit.signal,
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
    } catch {
      body = { message: text.trim().slice(0, 200) };
    }
    return { status: response.status, body };
  } catch (error) {
    if (limit.timedOut()) return { error: "no answer within the timeout" };
    if (options.signal?.aborted) return { error: "cancelled" };
    return { error: redact((error as Error).message) };
  } finally {
    limit.clear();
  }
}

function apiMessage(body: Record<string, unknown>): string {
  return typeof body.message === "string" ? body.message : "";
}

/**
 * Asks the GitHub API who the token belongs to and whether it sees the
 * repository. Never throws; never puts the token anywhere but the header.
 */
export async function checkGitHubToken(
  token: string,
  options: CheckTokenOptions,
): Promise<TokenCheck> {
  registerSecret(token);
  const api = options.api ?? DEFAULT_GITHUB_API;
  const full = `${options.repo.owner}/${options.repo.repo}`;
  const user = await apiGet("/user", token, options);
  if ("error" in user) {
    return {
      ok: false,
      kind: "network",
      message: `could not reach the GitHub API at ${displayUrl(api)} (${user.error}); ` +
        `check the network, or pass --github-api for GitHub Enterprise`,
    };
  }
  if (user.status === 401) {
    return {
      ok: false,
      kind: "invalid",
      message: `GitHub rejected this token (HTTP 401${
        apiMessage(user.body) ? `: ${apiMessage(user.body)}` : ""
      }): it is mistyped, expired or revoked. Copy it again, or create a new one`,
    };
  }
  if (user.status !== 200 || typeof user.body.login !== "string") {
    return {
      ok: false,
      kind: "api",
      message: `GitHub API ${displayUrl(api)}/user answered HTTP ${user.status}${
        apiMessage(user.body) ? ` (${apiMessage(user.body)})` : ""
      }`,
    };
  }
  const login = user.body.login;
  const path = `/repos/${encodeURIComponent(options.repo.owner)}/${
    encodeURIComponent(options.repo.repo)
  }`;
  const repo = await apiGet(path, token, options);
  if ("error" in repo) {
    return {
      ok: false,
      kind: "network",
      login,
      message: `could not reach the GitHub API at ${displayUrl(api)} (${repo.error})`,
    };
  }
  if (repo.status === 404 || repo.status === 403) {
    return {
      ok: false,
      kind: "no-repo",
      login,
      message: `the token of ${login} cannot see ${full} (HTTP ${repo.status}): create the ` +
        `repository first (private), and give the token access to it ("Only select ` +
        `repositories" → ${full})`,
    };
  }
  if (repo.status !== 200) {
    return {
      ok: false,
      kind: "api",
      login,
      message: `GitHub API ${displayUrl(api)}${path} answered HTTP ${repo.status}${
        apiMessage(repo.body) ? ` (${apiMessage(repo.body)})` : ""
      }`,
    };
  }
  const permissions = repo.body.permissions as Record<string, unknown> | undefined;
  const fullName = typeof repo.body.full_name === "string" ? repo.body.full_name : full;
  if (permissions && permissions.push === false) {
    return {
      ok: false,
      kind: "read-only",
      login,
      message: `${login} can read ${fullName} but cannot push to it: it needs write access ` +
        `to the repository (and the token "Contents: Read and write")`,
    };
  }
  return { ok: true, login, push: permissions?.push === true, fullName };
}

/** What the git write check found. */
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
  const resolved = await gitAuthFor(url, { token });
  return { url: resolved.url, auth: resolved.auth };
}

/** The branch's tip on the remote (`undefined` when absent), or the failure. */
async function remoteTip(
  url: string,
  auth: GitAuth,
  options: GitCheckOptions,
): Promise<{ tip?: string } | { error: PushCheck & { ok: false } }> {
  const result = await git(
    ["ls-remote", "--heads", "--", url, `refs/heads/${options.branch}`],
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
- \`recordings/<id>/manifest.json\`: written when a recording ends

Restore one with \`deno task restore <id>\` (or concatenate the chunks of a
recording in order and run \`zstd -d\`).
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
    return { ok: false, kind: "remote", message: (error as Error).message };
  }
  const tip = await remoteTip(resolved.url, resolved.auth, options);
  if ("error" in tip) return tip.error;
  const scratch = await scratchCommit(options.signal);
  try {
    const ref = `refs/heads/${options.branch}`;
    const result = await git(
      ["push", "--dry-run", "--porcelain", "--", resolved.url, `${scratch.commit}:${ref}`],
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
    throw new BranchSetupError("remote", (error as Error).message);
  }
  const tip = await remoteTip(resolved.url, resolved.auth, options);
  if ("error" in tip) throw new BranchSetupError(tip.error.kind, tip.error.message);
  if (tip.tip) return "exists";
  const scratch = await scratchCommit(options.signal);
  try {
    const ref = `refs/heads/${options.branch}`;
    const result = await git(
      ["push", "--porcelain", "--", resolved.url, `${scratch.commit}:${ref}`],
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

/**
 * The web host for a GitHub API URL: `api.github.com` → `github.com`,
 * `https://ghe.example/api/v3` → `ghe.example`.
 */
export function webHostOf(api: string): string {
  try {
    const url = new URL(api);
    if (url.hostname === "api.github.com") return "github.com";
    return url.host;
  } catch {
    return "github.com";
  }
}
