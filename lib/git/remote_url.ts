/**
 * Remote URLs: which transport a `repo_url` means, the URL git should push
 * to, and a form safe for logs and health.json.
 *
 * - GitHub SSH forms (`git@github.com:o/r.git`, `ssh://git@github.com/o/r.git`,
 *   `ssh://git@ssh.github.com:443/o/r.git`, `git+ssh://...`) become
 *   `https://github.com/o/r.git`: the daemon pushes with its own token, never
 *   through the person's SSH agent or ControlMaster.
 * - `https://` URLs stay as they are (any host, GitHub Enterprise included),
 *   minus any userinfo: credentials never travel in a URL (argv).
 * - `http://` is accepted only for loopback hosts (127.0.0.0/8, ::1,
 *   localhost; tests); any other host is refused with {@linkcode RemoteUrlError}.
 * - SSH forms of other hosts, GitHub Enterprise included, stay SSH: nothing
 *   says such a host serves the same repository over HTTPS, or that the
 *   token is meant for it. To push to an enterprise host with the token, set
 *   `repo_url` to its `https://` URL.
 * - Local paths and `file://` URLs are used as they are (no authentication).
 * - Host names are normalised: lower case, a trailing dot removed
 *   (`GitHub.COM.` is github.com), so no spelling slips past the
 *   public-repository guard or the token's scope.
 * - A remote starting with `-` is refused: it would be read as a git option.
 *
 * @module
 */
import { isLoopbackHost, KindedError, normalizeHost, redact } from "../sys/mod.ts";

/** How a remote is reached. */
export type RemoteKind = "https" | "http-loopback" | "ssh" | "local" | "git";

/** A remote URL taken apart: its transport, host and path, without credentials. */
export interface ParsedRemote {
  /** The transport. */
  kind: RemoteKind;
  /** The URL (or path) git should use. */
  url: string;
  /** What was given. */
  original: string;
  /** Host name (lower case, IPv6 without brackets), when there is one. */
  host?: string;
  /** Port, when one was given. */
  port?: number;
  /** True for github.com (including ssh.github.com). */
  github: boolean;
  /** True when pushes need the daemon's token (https and loopback http). */
  needsToken: boolean;
  /** True when the given URL carried userinfo (removed from `url`). */
  hadUserinfo: boolean;
  /** For token remotes: `scheme://host[:port]/`, the scope of the auth header. */
  origin?: string;
}

/** A remote URL the daemon refuses or cannot understand. */
export class RemoteUrlError extends KindedError<"invalid"> {
  /** Creates the error, kind `invalid` (the message never contains credentials). */
  constructor(message: string) {
    super("invalid", message);
  }
}

const GITHUB_HOSTS = new Set(["github.com", "ssh.github.com", "www.github.com"]);

// Host names are compared and judged in lib/sys/host.ts (settings and notifiers need it too).
export { isLoopbackHost, normalizeHost } from "../sys/mod.ts";

function cleanPath(path: string): string {
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}

function githubHttps(path: string, original: string, hadUserinfo: boolean): ParsedRemote {
  const clean = cleanPath(path);
  if (!/^[^/]+\/[^/]+/.test(clean)) {
    throw new RemoteUrlError(
      `${displayUrl(original)}: a GitHub remote needs an owner and a repository (owner/repo.git)`,
    );
  }
  return {
    kind: "https",
    url: `https://github.com/${clean}`,
    original,
    host: "github.com",
    github: true,
    needsToken: true,
    hadUserinfo,
    origin: "https://github.com/",
  };
}

/** Splits an scp-like `[user@]host:path`; undefined when `url` is not one (git's rule). */
function scpLike(url: string): { user?: string; host: string; path: string } | undefined {
  if (url.includes("://")) return undefined;
  // git: a colon before any slash means host:path (a bracketed IPv6 host may hold colons).
  const match = /^(?:([^@/]*)@)?(\[[^\]]+\]|[^:/]+):(.*)$/.exec(url);
  if (!match) return undefined;
  return { user: match[1], host: normalizeHost(match[2]), path: match[3] };
}

/** Parses and normalises a remote; throws {@linkcode RemoteUrlError} for refused or unknown forms. */
export function parseRemoteUrl(input: string): ParsedRemote {
  const original = input;
  const url = input.trim();
  if (!url) throw new RemoteUrlError("the remote URL is empty");
  if (/[\0\r\n]/.test(url)) throw new RemoteUrlError("the remote URL contains a line break");
  if (url.startsWith("-")) {
    throw new RemoteUrlError(
      `${displayUrl(url)}: a remote cannot start with "-" (git would read it as an option)`,
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (!scheme) {
    if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) {
      throw new RemoteUrlError(
        `${displayUrl(url)}: git remote helpers (transport::address) are not supported; ` +
          `use an https:// URL, an SSH URL or a local path`,
      );
    }
    const scp = scpLike(url);
    if (scp && !/^[A-Za-z]$/.test(scp.host)) {
      if (GITHUB_HOSTS.has(scp.host)) return githubHttps(scp.path, original, false);
      return {
        kind: "ssh",
        url,
        original,
        host: scp.host,
        github: false,
        needsToken: false,
        hadUserinfo: false,
      };
    }
    return { kind: "local", url, original, github: false, needsToken: false, hadUserinfo: false };
  }
  if (scheme === "file") {
    return { kind: "local", url, original, github: false, needsToken: false, hadUserinfo: false };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RemoteUrlError(`${displayUrl(url)}: not a valid URL`);
  }
  const host = normalizeHost(parsed.hostname);
  if (!host) throw new RemoteUrlError(`${displayUrl(url)}: the URL has no host`);
  const hadUserinfo = parsed.username !== "" || parsed.password !== "";
  const port = parsed.port ? Number(parsed.port) : undefined;
  if (scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git" || scheme === "git") {
    const ssh = scheme !== "git";
    if (ssh && GITHUB_HOSTS.has(host)) return githubHttps(parsed.pathname, original, false);
    return {
      kind: ssh ? "ssh" : "git",
      url: withoutCredentials(url),
      original,
      host,
      port,
      github: false,
      needsToken: false,
      hadUserinfo: ssh ? parsed.password !== "" : hadUserinfo,
    };
  }
  if (scheme === "https" || scheme === "http") {
    if (scheme === "http" && !isLoopbackHost(host)) {
      throw new RemoteUrlError(
        `${displayUrl(url)}: plain http:// is refused for ${host} (the token would cross the ` +
          `network unencrypted); use the https:// URL of the repository`,
      );
    }
    if (parsed.search || parsed.hash) {
      throw new RemoteUrlError(`${displayUrl(url)}: a remote URL cannot have a query or fragment`);
    }
    parsed.username = "";
    parsed.password = "";
    const github = host === "github.com" || host === "www.github.com";
    if (github) return githubHttps(parsed.pathname, original, hadUserinfo);
    const origin = `${scheme}://${parsed.host}/`;
    return {
      kind: scheme === "https" ? "https" : "http-loopback",
      url: parsed.href,
      original,
      host,
      port,
      github: false,
      needsToken: true,
      hadUserinfo,
      origin,
    };
  }
  throw new RemoteUrlError(
    `${displayUrl(url)}: unsupported scheme ${scheme}://; use https://, ssh://, ` +
      `git@host:path, file:// or a local path`,
  );
}

/**
 * `url` with any password (and an http(s) or git:// user name) removed; an
 * SSH user name stays. A URL without credentials comes back unchanged, so it
 * can name a remote in checkpoints, clones and slugs: a token pasted into a
 * URL is written nowhere.
 */
export function withoutCredentials(url: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(url);
  if (!match) return url;
  const authority = match[2];
  const at = authority.lastIndexOf("@");
  if (at < 0) return url;
  const scheme = match[1].toLowerCase();
  const user = authority.slice(0, at).split(":")[0];
  const ssh = scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git";
  const kept = ssh && user ? `${user}@` : "";
  return `${match[1]}://${kept}${authority.slice(at + 1)}${match[3]}`;
}

/**
 * The remote without credentials, for logs and health.json: userinfo of
 * http(s) URLs removed (an SSH user name is kept, its password removed), query
 * and fragment removed, and token shapes redacted.
 */
export function displayUrl(url: string): string {
  const text = url.trim();
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(text);
  if (match) {
    const scheme = match[1].toLowerCase();
    let authority = match[2];
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      const hostPart = authority.slice(at + 1);
      const user = userinfo.split(":")[0];
      const keepUser = (scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git") &&
        !userinfo.includes(":") && /^[A-Za-z0-9._-]{1,32}$/.test(user);
      authority = keepUser ? `${user}@${hostPart}` : hostPart;
    }
    const rest = match[3].replace(/[?#].*$/s, "");
    return redact(`${match[1]}://${authority}${rest}`);
  }
  return redact(text);
}

/** Owner and name of a repository. */
export interface RepoName {
  /** Owner (user or organisation). */
  owner: string;
  /** Repository name (without `.git`). */
  repo: string;
}

/**
 * The remote when git reaches it over HTTP(S) (`https://`, loopback
 * `http://`, GitHub's SSH forms); undefined for anything else or a URL that
 * does not parse.
 */
export function httpRemoteOf(url: string): ParsedRemote | undefined {
  try {
    const parsed = parseRemoteUrl(url);
    return parsed.kind === "https" || parsed.kind === "http-loopback" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Owner and repository of an `https://` (or loopback `http://`) remote or a
 * GitHub SSH form: the last two path segments, `.git` removed; `undefined`
 * for local paths, other SSH hosts, or a path with fewer than two segments.
 */
export function repoNameOf(url: string): RepoName | undefined {
  const parsed = httpRemoteOf(url);
  if (!parsed) return undefined;
  const parts = new URL(parsed.url).pathname.split("/").filter(Boolean);
  if (parts.length < 2) return undefined;
  const owner = decodeURIComponent(parts[parts.length - 2]);
  const repo = decodeURIComponent(parts[parts.length - 1]).replace(/\.git$/, "");
  if (!owner || !repo) return undefined;
  return { owner, repo };
}
