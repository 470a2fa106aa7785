/**
 * The one GitHub API call the daemon, setup and bootstrap make about a
 * repository: `GET {api}/repos/{owner}/{repo}`, whose `private` (and, on
 * newer servers, `visibility`) field says whether the world can read it.
 * The token travels only in the `Authorization` header. Without a token
 * the request is anonymous: an answer of 404 then means the world cannot
 * see the repository (private, or not there), which is what matters here.
 *
 * @module
 */
import { errorMessage, redact, registerSecret, timeoutSignal } from "../sys/mod.ts";
import { displayUrl, isLoopbackHost } from "./remote_url.ts";
import { type GitHubRepo, repoFullName, type Visibility } from "./visibility.ts";

/** Timeout of the request (default). */
const VISIBILITY_TIMEOUT_MS = 15_000;

/** Options for {@linkcode fetchVisibility}. */
export interface FetchVisibilityOptions {
  /** The token (absent: an anonymous request). */
  token?: string;
  /** `fetch` (tests). */
  fetch?: typeof fetch;
  /** Timeout (default {@linkcode VISIBILITY_TIMEOUT_MS}). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** `User-Agent` (GitHub requires one). */
  userAgent?: string;
}

/** What the API said. */
export interface VisibilityResult {
  /** `public`, `private` (also GitHub Enterprise's `internal`), or `unknown`. */
  visibility: Visibility;
  /** For `unknown`: what went wrong (never the token). */
  error?: string;
}

/** Redirects followed at most (GitHub answers a renamed repository with one). */
const MAX_REDIRECTS = 3;

/**
 * `fetch` that follows a redirect only to the same origin: the token in the
 * headers never reaches another host. A redirect elsewhere is answered as it
 * came (a 3xx, which the caller reports as unknown).
 */
async function sameOriginFetch(
  url: string,
  options: { headers: Record<string, string>; signal: AbortSignal; fetch: typeof fetch },
): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0;; hop++) {
    const response = await options.fetch(current, {
      headers: options.headers,
      signal: options.signal,
      redirect: "manual",
    });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || !location || hop >= MAX_REDIRECTS) {
      return response;
    }
    const next = new URL(location, current);
    if (next.origin !== current.origin) return response;
    await response.body?.cancel().catch(() => {});
    current = next;
  }
}

/** Asks the GitHub API whether `repo` is public. Never throws. */
export async function fetchVisibility(
  repo: GitHubRepo,
  options: FetchVisibilityOptions = {},
): Promise<VisibilityResult> {
  let token = options.token?.trim();
  if (token) registerSecret(token);
  let base: URL;
  try {
    base = new URL(repo.api);
  } catch {
    return { visibility: "unknown", error: `${displayUrl(repo.api)} is not a URL` };
  }
  // A token never crosses the network in clear: plain http only to a loopback API (tests).
  if (base.protocol !== "https:" && !isLoopbackHost(base.hostname)) token = undefined;
  const path = `/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.repo)}`;
  const limit = timeoutSignal(options.timeoutMs ?? VISIBILITY_TIMEOUT_MS, options.signal);
  const where = `${displayUrl(repo.api)}${path}`;
  try {
    const headers: Record<string, string> = {
      "Accept": "application/vnd.github+json",
      "X-GitHub-Api-Version": "2022-11-28",
      "User-Agent": options.userAgent ?? "asciinema-chunker",
    };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await sameOriginFetch(repo.api + path, {
      headers,
      signal: limit.signal,
      fetch: options.fetch ?? fetch,
    });
    const text = await response.text();
    if (response.status === 200) {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {
        return { visibility: "unknown", error: `${where} answered something that is not JSON` };
      }
      if (body.visibility === "public" || body.private === false) return { visibility: "public" };
      if (
        body.visibility === "private" || body.visibility === "internal" || body.private === true
      ) return { visibility: "private" };
      return { visibility: "unknown", error: `${where} did not say whether it is private` };
    }
    if (!token && (response.status === 404 || response.status === 403)) {
      // Anonymous: the world cannot see it.
      return { visibility: "private" };
    }
    let said = "";
    try {
      const message = JSON.parse(text)?.message;
      if (typeof message === "string") said = `: ${message}`;
    } catch {
      said = "";
    }
    return {
      visibility: "unknown",
      error: `${where} answered HTTP ${response.status}${said}` +
        (response.status === 404 || response.status === 403
          ? ` (the token cannot see ${repoFullName(repo)})`
          : response.status === 401
          ? " (the token was rejected)"
          : response.status >= 300 && response.status < 400
          ? " (a redirect to another host, not followed: the token stays with the API)"
          : ""),
    };
  } catch (error) {
    if (limit.timedOut()) return { visibility: "unknown", error: `${where}: no answer in time` };
    if (options.signal?.aborted) return { visibility: "unknown", error: "stopped" };
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return {
        visibility: "unknown",
        error: `this process may not reach ${base.host} (run \`deno task daemon-start\` again to ` +
          "reinstall the daemon with the current config.json)",
      };
    }
    return {
      visibility: "unknown",
      error: `${where}: ${redact(errorMessage(error))}`,
    };
  } finally {
    limit.clear();
  }
}
