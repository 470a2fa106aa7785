/**
 * Setup's questions to the GitHub API: whose token is it, and does it see the
 * repository the daemon will push to.
 *
 * - {@linkcode checkGitHubToken}: `GET {api}/user` (whose token is it) and
 *   `GET {api}/repos/{owner}/{repo}` (does the token see the repository, and
 *   does GitHub say its user may push). The token travels only in the
 *   `Authorization` header. (GitHub's `permissions.push` describes the user,
 *   not a fine-grained token's own permissions, so the API answer alone is not
 *   enough: lib/setup/git_access.ts makes the real write check.)
 *
 * @module
 */
import { errorMessage, redact, registerSecret, timeoutSignal } from "../sys/mod.ts";
import { displayUrl, type RepoName } from "../git/mod.ts";

/** Default GitHub API. */
export const DEFAULT_GITHUB_API = "https://api.github.com";

/** Timeout of one API request. */
export const API_TIMEOUT_MS = 15_000;

/** Where people create a fine-grained token (GitHub or a GitHub Enterprise host). */
export function tokenCreationUrl(webHost = "github.com"): string {
  return `https://${webHost}/settings/personal-access-tokens/new`;
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
    /** Whether the world can read it (`public`): recordings there must be encrypted. */
    visibility: "public" | "private" | "unknown";
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
    return { error: redact(errorMessage(error)) };
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
  const visibility = repo.body.visibility === "public" || repo.body.private === false
    ? "public"
    : repo.body.visibility === "private" || repo.body.visibility === "internal" ||
        repo.body.private === true
    ? "private"
    : "unknown";
  return { ok: true, login, push: permissions?.push === true, fullName, visibility };
}

/** What the git write check found. */

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
