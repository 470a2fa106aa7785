/**
 * No accidental publication: before plaintext chunks go to a GitHub
 * repository (github.com, or GitHub Enterprise over HTTPS: the host of the
 * `github_api` setting), the repository's visibility is asked of the GitHub
 * API, and a public one is refused unless the chunks are encrypted or
 * `allow_public` is set. Pure: the remote, the cached answer and the
 * monotonic time in, one decision out. The network call is
 * lib/git/github_api.ts's, run by the daemon in the remote's queue.
 *
 * Local paths, `file://`, SSH remotes of other hosts and the embedded
 * default are not GitHub repositories and are never checked.
 *
 * @module
 */
import { httpRemoteOf, normalizeHost, repoNameOf } from "./remote_url.ts";

/** The default GitHub API. */
export const GITHUB_API = "https://api.github.com";

/** A cached answer is asked again after this long (24 h). */
export const VISIBILITY_RECHECK_MS = 24 * 3600_000;

/** A public answer that holds chunks back is asked again after this long (1 h). */
export const REFUSED_RECHECK_MS = 3600_000;

/** A failed check is tried again after this long (1 min). */
export const UNKNOWN_RECHECK_MS = 60_000;

/** A repository on GitHub, and the API that describes it. */
export interface GitHubRepo {
  /** API base without trailing slash (`https://api.github.com`, `https://HOST/api/v3`). */
  api: string;
  owner: string;
  /** Repository name (without `.git`). */
  repo: string;
}

/** What the API said about a repository. */
export type Visibility = "public" | "private" | "unknown";

/** An answer, and when it was got (monotonic ms). */
export interface VisibilityAnswer {
  /** What is known. */
  visibility: Visibility;
  /** Monotonic time of the answer. */
  at: number;
  /** For `unknown`: why (for people, never a token). */
  error?: string;
  /** Set after a push rejection: ask again before the next push. */
  stale?: boolean;
}

/** What to do with a recording's chunks for this remote. */
export type VisibilityDecision =
  | { action: "allow"; why: "not-github" | "allow_public" | "encrypted" | "private" }
  | { action: "check" }
  | { action: "refuse"; visibility: "public" | "unknown"; message: string };

/**
 * The GitHub repository of `url`: github.com (HTTPS and GitHub's SSH
 * forms, which the daemon pushes over HTTPS) is always asked of
 * api.github.com, whatever `githubApi` says; a host served by the
 * `githubApi` setting (GitHub Enterprise: `https://HOST/api/v3`) is asked of
 * that API, and only that host is. Undefined for anything else.
 */
export function githubRepoOf(
  url: string,
  options: { githubApi?: string } = {},
): GitHubRepo | undefined {
  const parsed = httpRemoteOf(url);
  if (!parsed) return undefined;
  const api = parsed.github ? GITHUB_API : enterpriseApiFor(parsed.host, options.githubApi);
  const name = api ? repoNameOf(url) : undefined;
  return api && name ? { api, ...name } : undefined;
}

/** `githubApi` (without trailing slashes) when its host is `host`; else undefined. */
export function enterpriseApiFor(
  host: string | undefined,
  githubApi: string | undefined,
): string | undefined {
  const configured = githubApi?.replace(/\/+$/, "");
  if (!host || !configured) return undefined;
  try {
    return normalizeHost(new URL(configured).hostname) === normalizeHost(host)
      ? configured
      : undefined;
  } catch {
    return undefined;
  }
}

/** The repository as GitHub names it: `owner/repo`. */
export function repoFullName(repo: GitHubRepo): string {
  return `${repo.owner}/${repo.repo}`;
}

/** True when `answer` must be asked again at `now`. */
export function visibilityDue(answer: VisibilityAnswer | null | undefined, now: number): boolean {
  if (!answer || answer.stale) return true;
  const age = now - answer.at;
  if (answer.visibility === "unknown") return age >= UNKNOWN_RECHECK_MS;
  if (answer.visibility === "public") return age >= REFUSED_RECHECK_MS;
  return age >= VISIBILITY_RECHECK_MS;
}

/** What the decision needs. */
export interface VisibilityFacts {
  /** The GitHub repository of the remote, when it is one. */
  repo: GitHubRepo | undefined;
  /** The cached answer, when there is one. */
  answer: VisibilityAnswer | null | undefined;
  /** Monotonic now. */
  now: number;
  /** Some chunk still to be pushed is plaintext. */
  plaintext: boolean;
  /** `allow_public` in the recording's `.json` or config.json. */
  allowPublic: boolean;
  /**
   * Where git really connects is not known yet (lib/git/remote_route.ts:
   * rewrites, ssh aliases): asked first, in the remote's queue.
   */
  routePending?: boolean;
  /** Where git really connects could not be told: why (fails closed). */
  routeUnknown?: string;
}

/** The fix a refusal names. */
export const PUBLIC_FIX = "encrypt the recordings (set encryption.recipients in config.json, " +
  "or run `deno task daemon-setup`), make the repository private, or set " +
  '"allow_public": true in config.json (or in the recording\'s .json) to publish them';

/**
 * Whether a recording's chunks may go to this remote now: `allow_public` and
 * encrypted chunks go without asking; plaintext first needs to know where
 * git really connects (a remote whose route cannot be told is refused), then
 * goes to anything not on GitHub; for a GitHub repository it needs a fresh
 * answer (`check`), then goes to a private one and is refused for a public
 * one (or while nobody knows).
 */
export function decideVisibility(facts: VisibilityFacts): VisibilityDecision {
  if (facts.allowPublic) return { action: "allow", why: "allow_public" };
  if (!facts.plaintext) return { action: "allow", why: "encrypted" };
  if (facts.routePending) return { action: "check" };
  if (facts.routeUnknown !== undefined) {
    return {
      action: "refuse",
      visibility: "unknown",
      message: `cannot tell where this remote really leads (${facts.routeUnknown}), so it ` +
        `could be a public GitHub repository: its plaintext chunks stay in the spool; ${PUBLIC_FIX}`,
    };
  }
  if (!facts.repo) return { action: "allow", why: "not-github" };
  const answer = facts.answer;
  const name = repoFullName(facts.repo);
  if (!answer || visibilityDue(answer, facts.now)) return { action: "check" };
  if (answer.visibility === "private") return { action: "allow", why: "private" };
  if (answer.visibility === "public") {
    return {
      action: "refuse",
      visibility: "public",
      message: `${name} is a public GitHub repository: its plaintext chunks stay in the spool ` +
        `and are not pushed; ${PUBLIC_FIX}`,
    };
  }
  return {
    action: "refuse",
    visibility: "unknown",
    message: `could not learn whether ${name} is public (${answer.error ?? "no answer"}): its ` +
      `plaintext chunks stay in the spool until the GitHub API answers; ${PUBLIC_FIX}`,
  };
}
