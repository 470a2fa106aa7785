/**
 * How the daemon's git reaches a remote with its own token.
 *
 * The stored token is a GitHub token: it goes only to github.com, to the host
 * of the `github_api` setting (GitHub Enterprise), and to hosts the person
 * named in `github_token_hosts` ({@linkcode tokenAllowedFor}); every other
 * HTTPS host is asked anonymously. For those remotes the token travels only
 * in the environment of the git child: one `http.<origin>/.extraHeader` entry
 * (`Authorization: Basic base64(x-access-token:TOKEN)`) passed through
 * `GIT_CONFIG_COUNT/KEY/VALUE` by {@linkcode GitAuth.config} — never argv, the
 * URL, a file or `.git/config`. The header is scoped to the remote's origin,
 * so git never sends it to another host. SSH remotes get nothing extra
 * (lib/git/hermetic.ts already disables ControlMaster for our ssh); local remotes
 * need nothing.
 *
 * Also here: {@linkcode classifyGitError} (auth / network / remote) and
 * {@linkcode TokenCache}, the re-read policy (at start, after an auth
 * failure, at most every `rereadIntervalMs` while failing), and
 * {@linkcode createAuthResolver}, which ties both to the publisher.
 *
 * @module
 */
import type { GitAuth } from "./hermetic.ts";
import type { ResolvedAuth } from "./target.ts";
import {
  type CredentialStore,
  CredentialUnavailableError,
  envVarFor,
  GITHUB_PAT,
  SETUP_COMMAND,
} from "../credentials/mod.ts";
import { clipText, type Clock, errorMessage, registerSecret, systemClock } from "../sys/mod.ts";
import {
  displayUrl,
  normalizeHost,
  type ParsedRemote,
  parseRemoteUrl,
  RemoteUrlError,
} from "./remote_url.ts";

/** Where the stored GitHub token may be sent besides github.com. */
export interface TokenScope {
  /** The `github_api` setting: its host is GitHub Enterprise's. */
  githubApi?: string;
  /** `github_token_hosts`: more hosts (`host` or `host:port`) the person allowed the token for. */
  tokenHosts?: readonly string[];
}

/** The scope of the settings (`github_api`, `github_token_hosts`). */
export function tokenScopeOf(
  settings: { github_api?: string; github_token_hosts?: readonly string[] },
): TokenScope {
  return { githubApi: settings.github_api, tokenHosts: settings.github_token_hosts };
}

function apiHost(githubApi: string | undefined): string | undefined {
  if (!githubApi) return undefined;
  try {
    return normalizeHost(new URL(githubApi).hostname);
  } catch {
    return undefined;
  }
}

/**
 * True when the stored GitHub token may go to `remote`: github.com, the host
 * of `github_api`, or a `github_token_hosts` entry (`host`, or `host:port` for
 * that port only). Any other host gets no token.
 */
export function tokenAllowedFor(remote: ParsedRemote, scope: TokenScope = {}): boolean {
  if (!remote.needsToken || !remote.host) return false;
  if (remote.github) return true;
  const host = normalizeHost(remote.host);
  if (host === apiHost(scope.githubApi)) return true;
  const port = remote.port ?? (remote.kind === "https" ? 443 : 80);
  return (scope.tokenHosts ?? []).some((entry) => {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.trim());
    if (!match || normalizeHost(match[1]) !== host) return false;
    return match[2] === undefined || Number(match[2]) === port;
  });
}

/**
 * The `github_token_hosts` entry (`host[:port]`) that lets the token go to
 * `remote`, or undefined when the remote takes no token or is in the default
 * scope already (github.com).
 */
export function tokenHostEntry(remote: ParsedRemote): string | undefined {
  if (!remote.needsToken || !remote.host || remote.github) return undefined;
  const host = remote.host.includes(":") ? `[${remote.host}]` : remote.host;
  return remote.port === undefined ? host : `${host}:${remote.port}`;
}

/** `{anonymous}`, the fix, for a remote that takes a token but is out of its scope; else `{}`. */
export function anonymousNote(remote: ParsedRemote): { anonymous?: string } {
  const entry = tokenHostEntry(remote);
  if (!entry) return {};
  return {
    anonymous: `the GitHub token is sent only to github.com and the host of github_api; to ` +
      `send it to ${remote.host} too, add "${entry}" to github_token_hosts in config.json`,
  };
}

/** What git should push to, and how. */
export interface ResolvedRemote {
  /** The URL git should use (GitHub SSH forms already turned into HTTPS). */
  url: string;
  /** Authentication for {@linkcode git}'s `auth` option (empty for SSH and local remotes). */
  auth: GitAuth;
  /** The parsed remote (kind, host, ...). */
  remote: ParsedRemote;
}

/** No token for a remote that needs one (the store works, it has none). */
export class MissingTokenError extends Error {
  /** Creates the error (names the fix). */
  constructor(message: string) {
    super(message);
    this.name = "MissingTokenError";
  }
}

/** Options for {@linkcode gitAuthFor}. */
export interface GitAuthForOptions {
  /** Where the token is read when `token` is not given. */
  store?: CredentialStore;
  /** The token, already read (for example from a {@linkcode TokenCache}). */
  token?: string;
  /** Service of the token (default `asciinema-github-pat`). */
  service?: string;
  /** Abort (shutdown). */
  signal?: AbortSignal;
  /** Where the token may go (default: github.com only). */
  scope?: TokenScope;
}

/** The HTTP header value git sends: Basic `x-access-token:<token>`. */
export function basicAuthHeader(token: string): string {
  const bytes = new TextEncoder().encode(`x-access-token:${token}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Authorization: Basic ${btoa(binary)}`;
}

/** The GitAuth carrying `token` for `origin` (`scheme://host[:port]/`), environment only. */
export function tokenAuth(origin: string, token: string): GitAuth {
  registerSecret(token);
  return { config: [[`http.${origin}.extraHeader`, basicAuthHeader(token)]] };
}

/** The message of a missing token, naming the fix. */
export function missingTokenMessage(remote: string, store?: CredentialStore): string {
  const envName = envVarFor(GITHUB_PAT);
  const hint = store?.kind === "env"
    ? `set ${envName} (credential store env), or choose a keyring with \`${SETUP_COMMAND}\``
    : `store one with \`${SETUP_COMMAND}\` (or set credential_store to env and use ${envName})`;
  return `no GitHub token for pushing to ${displayUrl(remote)}: ${hint}`;
}

/**
 * Resolves the URL git should push to and its authentication: the token only
 * for a host in `scope` ({@linkcode tokenAllowedFor}), else none. Throws
 * `RemoteUrlError` for refused URLs (plain http to a non-loopback host, ...),
 * {@linkcode MissingTokenError} when such a remote has no token, and
 * `CredentialUnavailableError` when the keyring cannot be asked.
 */
export async function gitAuthFor(
  url: string,
  options: GitAuthForOptions = {},
): Promise<ResolvedRemote> {
  const remote = parseRemoteUrl(url);
  if (!tokenAllowedFor(remote, options.scope)) return { url: remote.url, auth: {}, remote };
  let token = options.token?.trim();
  if (!token && options.store) {
    token = await options.store.get(options.service ?? GITHUB_PAT, { signal: options.signal });
  }
  if (!token) throw new MissingTokenError(missingTokenMessage(url, options.store));
  return { url: remote.url, auth: tokenAuth(remote.origin!, token), remote };
}

/** What went wrong with a git network operation. */
export type GitErrorKind = "auth" | "network" | "remote";

const AUTH_PATTERNS = [
  /\b(?:http|error|returned error:?)\D{0,20}\b40[13]\b/i,
  /\b40[13] (?:unauthorized|forbidden)/i,
  /authentication failed/i,
  /could not read (?:username|password)/i,
  /permission denied \(publickey/i,
  /invalid credentials/i,
  /invalid username or password/i,
  /permission to [^\n]{1,300}? denied to/i,
  /bad credentials/i,
];

const REMOTE_PATTERNS = [
  /repository (?:'[^']*' )?not found/i,
  /\[remote rejected\]/i,
  /hook declined/i,
];

const NETWORK_PATTERNS = [
  /could not resolve (?:host|proxy)/i,
  /connection refused/i,
  /timed out/i,
  /unable to access/i,
  /network is unreachable/i,
  /no route to host/i,
  /connection reset/i,
  /operation too slow/i,
  /the remote end hung up unexpectedly/i,
  /ssl|tls|certificate/i,
  // Local-path and file:// remotes that are gone (unmounted disk, moved folder).
  /does not appear to be a git repository/i,
  /could not read from remote repository/i,
];

/**
 * Classifies git's stderr: "auth" for HTTP 401/403, "Authentication failed",
 * "could not read Username", "Permission denied (publickey)", "invalid
 * credentials"; "network" for unresolvable hosts, refused or timed-out
 * connections, "unable to access" and a remote path or host that is not
 * there; otherwise (and for "repository not found", rejected refs, declined
 * hooks) "remote".
 */
export function classifyGitError(
  stderr: string,
  options: { timedOut?: boolean } = {},
): GitErrorKind {
  // A remote's text is clipped first: no pattern ever runs over more than a few KiB of it.
  const text = clipText(stderr);
  if (AUTH_PATTERNS.some((pattern) => pattern.test(text))) return "auth";
  if (options.timedOut) return "network";
  if (REMOTE_PATTERNS.some((pattern) => pattern.test(text))) return "remote";
  if (NETWORK_PATTERNS.some((pattern) => pattern.test(text))) return "network";
  return "remote";
}

/** Default: re-read a failing token at most every 5 minutes. */
export const TOKEN_REREAD_MS = 5 * 60_000;

/** Options for {@linkcode TokenCache}. */
export interface TokenCacheOptions {
  /** Minimum time between re-reads while the token is being rejected (default 5 min). */
  rereadIntervalMs?: number;
  /** The clock (default the process's; tests step it). */
  clock?: Clock;
}

/**
 * Token re-read policy: the token is read at the first `get()`; it is read
 * again only after {@linkcode TokenCache.reportAuthFailure}, and then no more
 * often than every `rereadIntervalMs` while the failures go on. While nothing
 * is cached (missing token, locked keyring) every `get()` reads — the
 * publisher's backoff spaces those calls.
 */
export class TokenCache {
  #read: () => Promise<string | undefined>;
  #interval: number;
  #clock: Clock;
  #value: string | undefined;
  #lastRead = -Infinity;
  #authFailed = false;
  #reads = 0;

  /** Creates the cache over `read` (for example `() => store.get(GITHUB_PAT)`). */
  constructor(read: () => Promise<string | undefined>, options: TokenCacheOptions = {}) {
    this.#read = read;
    this.#interval = options.rereadIntervalMs ?? TOKEN_REREAD_MS;
    this.#clock = options.clock ?? systemClock;
  }

  /** How many times the store was read. */
  get reads(): number {
    return this.#reads;
  }

  /** True when the next `get()` will read the store. */
  get due(): boolean {
    if (this.#value === undefined) return true;
    return this.#authFailed && this.#clock.now() - this.#lastRead >= this.#interval;
  }

  /** The token (read from the store when due); `undefined` when none is stored. */
  async get(): Promise<string | undefined> {
    if (!this.due) return this.#value;
    this.#lastRead = this.#clock.now();
    this.#reads++;
    try {
      const value = await this.#read();
      this.#value = value?.trim() || undefined;
    } catch (error) {
      this.#value = undefined;
      throw error;
    }
    return this.#value;
  }

  /** The remote rejected the token: the next `get()` after the interval reads again. */
  reportAuthFailure(): void {
    this.#authFailed = true;
  }

  /** A push worked: stop re-reading. */
  reportSuccess(): void {
    this.#authFailed = false;
  }

  /** Forgets the token (the next `get()` reads). */
  invalidate(): void {
    this.#value = undefined;
  }
}

/** The subset of the chunker's events the resolver listens to. */
export interface PushEvent {
  /** `push-failed`, `push-ok`, ... */
  type: string;
  /** For `push-failed`: the error kind. */
  kind?: string;
}

/** An auth resolver for the publisher plus the hook that feeds it push outcomes. */
export interface AuthResolverHandle {
  /** `AuthResolver` of lib/git/publisher.ts: the URL to push to and its auth. */
  authFor(url: string): Promise<ResolvedAuth>;
  /** Feed every chunker event here (`onEvent`): auth failures trigger a re-read. */
  observe(event: PushEvent): void;
  /** The token for a remote that needs one (the GitHub API call); undefined when none can be read. */
  tokenFor(url: string): Promise<string | undefined>;
  /** The token cache (tests, status). */
  readonly cache: TokenCache;
}

/** Thrown by the resolver when no usable token is at hand (a config problem, with the fix). */
export class AuthSetupError extends Error {
  /** `config`: the fix is in the setup, not in the remote. */
  readonly kind = "config" as const;
  /** True when the keyring could not be asked (locked, no D-Bus, ...). */
  readonly unavailable: boolean;
  /** Creates the error. */
  constructor(message: string, unavailable: boolean) {
    super(message);
    this.name = "AuthSetupError";
    this.unavailable = unavailable;
  }
}

/** Options for {@linkcode createAuthResolver}. */
export interface AuthResolverOptions extends TokenCacheOptions {
  /** The credential store. */
  store: CredentialStore;
  /** Service of the token (default `asciinema-github-pat`). */
  service?: string;
  /** Where the token may go (default: github.com only). */
  scope?: TokenScope;
  /**
   * Turns a setup problem into the publisher's error (for example
   * `(e) => new PublishError("config", e.message)`); default: the
   * {@linkcode AuthSetupError} itself.
   */
  wrapError?: (error: AuthSetupError) => Error;
}

/**
 * The daemon's resolver: parses the remote, reads the token through a
 * {@linkcode TokenCache} only for remotes in its scope, and re-reads it
 * after auth failures reported through `observe`.
 */
export function createAuthResolver(options: AuthResolverOptions): AuthResolverHandle {
  const service = options.service ?? GITHUB_PAT;
  const cache = new TokenCache(() => options.store.get(service), options);
  const wrap = options.wrapError ?? ((error: AuthSetupError) => error);
  return {
    cache,
    async authFor(url: string) {
      let remote: ParsedRemote;
      try {
        remote = parseRemoteUrl(url);
      } catch (error) {
        if (error instanceof RemoteUrlError) throw wrap(new AuthSetupError(error.message, false));
        throw error;
      }
      if (!tokenAllowedFor(remote, options.scope)) {
        return { url: remote.url, auth: {}, ...anonymousNote(remote) };
      }
      let token: string | undefined;
      try {
        token = await cache.get();
      } catch (error) {
        const unavailable = error instanceof CredentialUnavailableError;
        throw wrap(
          new AuthSetupError(
            `cannot read the GitHub token for ${displayUrl(url)}: ${errorMessage(error)}`,
            unavailable,
          ),
        );
      }
      if (!token) throw wrap(new AuthSetupError(missingTokenMessage(url, options.store), false));
      const resolved = await gitAuthFor(url, { token, scope: options.scope });
      return { url: resolved.url, auth: resolved.auth };
    },
    async tokenFor(url: string) {
      try {
        if (!tokenAllowedFor(parseRemoteUrl(url), options.scope)) return undefined;
        return await cache.get();
      } catch {
        return undefined;
      }
    },
    observe(event: PushEvent) {
      if (event.type === "push-failed" && event.kind === "auth") cache.reportAuthFailure();
      else if (event.type === "push-ok") cache.reportSuccess();
    },
  };
}
