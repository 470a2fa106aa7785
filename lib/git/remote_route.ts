/**
 * Where git will really connect for a remote, whatever its spelling: the
 * public-repository guard asks this, not the URL as written.
 *
 * - `url.<base>.insteadOf` / `pushInsteadOf` rewrites in the configuration
 *   the daemon's git reads (its own global file and the clone's config) are
 *   applied as git applies them: the longest matching prefix wins, and a push
 *   uses `pushInsteadOf` first ({@linkcode applyUrlRewrites}, pure).
 * - An SSH host is an alias until `ssh -G` says which host name it resolves
 *   to (`Host github-work` + `HostName github.com` is github.com)
 *   ({@linkcode resolveSshHost}).
 * - The result is a GitHub repository (github.com, or the host of
 *   `github_api` over HTTPS or SSH), not GitHub, or unknown — and unknown
 *   holds plaintext back (DESIGN.md invariant 16).
 *
 * @module
 */
import { errorMessage, run } from "../sys/mod.ts";
import { git } from "./hermetic.ts";
import { normalizeHost, type ParsedRemote, parseRemoteUrl } from "./remote_url.ts";
import {
  decideVisibility,
  enterpriseApiFor,
  GITHUB_API,
  type GitHubRepo,
  type VisibilityAnswer,
} from "./visibility.ts";
import { fetchVisibility } from "./github_api.ts";

/** One `url.<base>.insteadOf` (or `pushInsteadOf`) rule. */
export interface UrlRewrite {
  /** The replacement (`<base>`). */
  base: string;
  /** The prefix it replaces. */
  prefix: string;
  /** A `pushInsteadOf` rule (applies to pushes only). */
  push: boolean;
}

/** `url` after git's rewrites: the longest matching prefix wins; pushes try `pushInsteadOf` first. */
export function applyUrlRewrites(
  url: string,
  rules: readonly UrlRewrite[],
  options: { push?: boolean } = {},
): string {
  const pick = (push: boolean) => {
    let best: UrlRewrite | undefined;
    for (const rule of rules) {
      if (rule.push !== push || !url.startsWith(rule.prefix)) continue;
      if (!best || rule.prefix.length > best.prefix.length) best = rule;
    }
    return best;
  };
  const rule = (options.push ? pick(true) : undefined) ?? pick(false);
  return rule ? rule.base + url.slice(rule.prefix.length) : url;
}

/** Parses `git config -z --get-regexp '^url\.'` output into rules. */
export function parseUrlRewrites(output: string): UrlRewrite[] {
  const rules: UrlRewrite[] = [];
  for (const record of output.split("\0")) {
    const newline = record.indexOf("\n");
    if (newline < 0) continue;
    const key = record.slice(0, newline);
    const value = record.slice(newline + 1);
    const match = /^url\.(.*)\.(insteadof|pushinsteadof)$/is.exec(key);
    if (!match || !value) continue;
    rules.push({ base: match[1], prefix: value, push: match[2].toLowerCase() === "pushinsteadof" });
  }
  return rules;
}

/** Options of the I/O parts. */
export interface RouteOptions {
  /** The clone whose config git reads too (absent: only the global file). */
  gitDir?: string;
  /** The daemon's global git config (`GIT_CONFIG_GLOBAL`). */
  globalConfig?: string;
  /** The `github_api` setting. */
  githubApi?: string;
  /** Abort. */
  signal?: AbortSignal;
  /** Runs `ssh -G` (tests); default the `ssh` on PATH. */
  sshConfig?: (host: string, port?: number) => Promise<SshResolution>;
}

/** The rewrite rules of the configuration the daemon's git reads. */
export async function readUrlRewrites(options: RouteOptions = {}): Promise<UrlRewrite[]> {
  const result = await git(["config", "-z", "--get-regexp", "^url\\."], {
    gitDir: options.gitDir,
    globalConfig: options.globalConfig,
    signal: options.signal,
    timeoutMs: 10_000,
  });
  // Exit 1: no such key. Anything else is an unreadable configuration.
  if (result.code === 1 && !result.stderr.trim()) return [];
  if (!result.success) throw new Error(`git config: ${result.stderr.trim().slice(0, 300)}`);
  return parseUrlRewrites(result.stdout);
}

/** What `ssh -G` said of a host. */
export interface SshResolution {
  /** The host name ssh connects to. */
  hostname: string;
  /** The port. */
  port?: number;
}

/** The host name (and port) `ssh -G` resolves `host` to, with the user's ssh configuration. */
export async function resolveSshHost(
  host: string,
  options: { port?: number; signal?: AbortSignal } = {},
): Promise<SshResolution> {
  if (host.startsWith("-")) throw new Error(`${host}: not a host name`);
  const args = ["-G", ...(options.port ? ["-p", String(options.port)] : []), "--", host];
  const result = await run("ssh", { args, timeoutMs: 10_000, signal: options.signal });
  if (!result.success) {
    throw new Error(`ssh -G ${host} failed: ${result.stderr.trim().slice(0, 300) || "no output"}`);
  }
  let hostname: string | undefined;
  let port: number | undefined;
  for (const line of result.stdout.split("\n")) {
    const [key, value] = line.trim().split(/\s+/, 2);
    if (key === "hostname" && value) hostname = normalizeHost(value);
    if (key === "port" && value) port = Number(value) || undefined;
  }
  if (!hostname) throw new Error(`ssh -G ${host} named no host`);
  return { hostname, port };
}

/** Where a remote leads, for the guard. */
export type Route =
  | { kind: "github"; repo: GitHubRepo; via: string }
  | { kind: "other"; via: string }
  | { kind: "unknown"; error: string };

const GITHUB_SSH_HOSTS = new Set(["github.com", "ssh.github.com", "www.github.com"]);

/** Owner and repository of a path's last two segments (`o/r.git`), if it has them. */
function ownerRepo(path: string): { owner: string; repo: string } | undefined {
  const parts = path.split(/[/:]/).filter(Boolean);
  if (parts.length < 2) return undefined;
  const owner = parts[parts.length - 2];
  const repo = parts[parts.length - 1].replace(/\.git$/, "");
  return owner && repo ? { owner, repo } : undefined;
}

function pathOf(remote: ParsedRemote): string {
  if (remote.url.includes("://")) {
    try {
      return decodeURIComponent(new URL(remote.url).pathname);
    } catch {
      return "";
    }
  }
  const colon = remote.url.indexOf(":");
  return colon >= 0 ? remote.url.slice(colon + 1) : remote.url;
}

/** The route of one effective URL (after rewrites); pure but for the ssh look-up. */
async function routeOfUrl(url: string, options: RouteOptions): Promise<Route> {
  let remote: ParsedRemote;
  try {
    remote = parseRemoteUrl(url);
  } catch (error) {
    return { kind: "unknown", error: errorMessage(error) };
  }
  let host = remote.host;
  if (remote.kind === "ssh" && host) {
    const resolved = await (options.sshConfig ?? ((h, port) =>
      resolveSshHost(h, { port, signal: options.signal })))(host, remote.port);
    host = resolved.hostname;
  }
  const name = ownerRepo(pathOf(remote));
  if (remote.github || (remote.kind === "ssh" && host && GITHUB_SSH_HOSTS.has(host))) {
    return name
      ? { kind: "github", repo: { api: GITHUB_API, ...name }, via: url }
      : { kind: "unknown", error: `${url} names no owner/repository on github.com` };
  }
  const api = (remote.kind === "https" || remote.kind === "http-loopback" || remote.kind === "ssh")
    ? enterpriseApiFor(host, options.githubApi)
    : undefined;
  if (api) {
    return name
      ? { kind: "github", repo: { api, ...name }, via: url }
      : { kind: "unknown", error: `${url} names no owner/repository on ${host}` };
  }
  return { kind: "other", via: url };
}

/**
 * Where git will connect for `url` (fetch and push, after the rewrites of
 * the daemon's git configuration and the user's ssh aliases). A GitHub route
 * of either wins; a failure to tell is `unknown`. Never throws.
 */
export async function routeOf(url: string, options: RouteOptions = {}): Promise<Route> {
  try {
    const rules = await readUrlRewrites(options);
    const effective = new Set([
      applyUrlRewrites(url, rules),
      applyUrlRewrites(url, rules, { push: true }),
    ]);
    const routes: Route[] = [];
    for (const each of effective) routes.push(await routeOfUrl(each, options));
    return routes.find((route) => route.kind === "unknown") ??
      routes.find((route) => route.kind === "github") ?? routes[0];
  } catch (error) {
    return { kind: "unknown", error: errorMessage(error) };
  }
}

/** Options of {@linkcode plaintextRefusal}. */
export interface PlaintextRefusalOptions extends RouteOptions {
  /** `allow_public` (config.json or the recording's `.json`). */
  allowPublic?: boolean;
  /** The token for the visibility question (only for a remote in the token's scope). */
  token?: string;
  /** `fetch` (tests). */
  fetch?: typeof fetch;
}

/**
 * The public-repository guard asked once (a command, not the daemon, which
 * caches its answers in lib/engine/publish/visibility_gate.ts): null when plaintext
 * derived from a recording may go to `url`, else why not. The same pure
 * decision as the daemon's, over the same route.
 */
export async function plaintextRefusal(
  url: string,
  options: PlaintextRefusalOptions = {},
): Promise<string | null> {
  const route = await routeOf(url, options);
  const facts = {
    repo: route.kind === "github" ? route.repo : undefined,
    answer: undefined as VisibilityAnswer | undefined,
    now: 0,
    plaintext: true,
    allowPublic: options.allowPublic === true,
    ...(route.kind === "unknown" ? { routeUnknown: route.error } : {}),
  };
  let decision = decideVisibility(facts);
  if (decision.action === "check" && facts.repo) {
    const answer = await fetchVisibility(facts.repo, {
      token: options.token,
      fetch: options.fetch,
      signal: options.signal,
    });
    decision = decideVisibility({ ...facts, answer: { ...answer, at: 0 } });
  }
  return decision.action === "refuse" ? decision.message : null;
}
