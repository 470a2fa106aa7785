/**
 * A loopback stand-in for the parts of the GitHub REST API that setup uses:
 *
 * - `GET /user`: `{login, id}` for a known token, 401 `Bad credentials` otherwise;
 * - `GET /repos/{owner}/{repo}`: `{full_name, private, visibility,
 *   permissions: {admin, push, pull}}` when the token is granted the
 *   repository, 404 `Not Found` otherwise (what GitHub answers when a token
 *   cannot see a repository). Without a token: a public repository (any
 *   grant with `private: false`) is answered, anything else is 404, like
 *   GitHub. A repository's visibility can change while it runs.
 *
 * The token is read from `Authorization: Bearer <token>` (or `token <token>`).
 * Grants can change while it runs, and every request is recorded (method,
 * path, and whether it carried the right token) so tests can check that the
 * token travels only in the header.
 *
 * ```ts
 * const api = await startGitHubApi({
 *   tokens: { "ghp_x": { login: "alice", repos: { "alice/recordings": { push: true } } } },
 * });
 * // setup.ts --github-api api.url ...
 * await api.stop();
 * ```
 *
 * @module
 */

/** What one token may do. */
export interface TokenGrant {
  /** The user the token belongs to. */
  login: string;
  /** Repositories (`owner/repo`) the token sees, with its push permission (private unless `private: false`). */
  repos: Record<string, { push: boolean; private?: boolean }>;
}

/** One request the stand-in received. */
export interface ApiRequest {
  /** HTTP method. */
  method: string;
  /** Path with query. */
  path: string;
  /** The token it carried (undefined when none). */
  token?: string;
  /** The status answered. */
  status: number;
}

/** Options for {@linkcode startGitHubApi}. */
export interface GitHubApiOptions {
  /** Known tokens and what each may do. */
  tokens: Record<string, TokenGrant>;
  /** A path prefix, like GitHub Enterprise's `/api/v3` (default none). */
  prefix?: string;
}

/** A running stand-in. */
export interface GitHubApi {
  /** The API base URL (`http://127.0.0.1:PORT` plus the prefix; no trailing slash). */
  readonly url: string;
  /** Every request, in order. */
  readonly requests: ApiRequest[];
  /** Adds or replaces a token's grant. */
  grant(token: string, grant: TokenGrant): void;
  /** Forgets a token (it is answered 401 from now on). */
  revoke(token: string): void;
  /** Makes `owner/repo` public (`false`) or private (`true`) in every grant. */
  setPrivate(fullName: string, isPrivate: boolean): void;
  /** Stops serving. */
  stop(): Promise<void>;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8" },
  });
}

function tokenOf(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function repoBody(
  fullName: string,
  repo: { push: boolean; private?: boolean },
  withPermissions: boolean,
): Record<string, unknown> {
  const isPrivate = repo.private ?? true;
  return {
    full_name: fullName,
    name: fullName.split("/")[1],
    owner: { login: fullName.split("/")[0] },
    private: isPrivate,
    visibility: isPrivate ? "private" : "public",
    ...(withPermissions
      ? {
        permissions: { admin: false, maintain: false, push: repo.push, triage: false, pull: true },
      }
      : {}),
  };
}

/** Starts the stand-in on 127.0.0.1 with an ephemeral port. */
export async function startGitHubApi(options: GitHubApiOptions): Promise<GitHubApi> {
  const tokens = new Map(Object.entries(options.tokens));
  const prefix = (options.prefix ?? "").replace(/\/+$/, "");
  const requests: ApiRequest[] = [];
  const abort = new AbortController();

  const answer = (request: Request): Response => {
    const url = new URL(request.url);
    const token = tokenOf(request.headers.get("authorization"));
    const grant = token === undefined ? undefined : tokens.get(token);
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : "";
    if (request.method !== "GET") return json(404, { message: "Not Found" });
    const anonymousRepo = /^\/repos\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (token === undefined && anonymousRepo) {
      const fullName = `${decodeURIComponent(anonymousRepo[1])}/${
        decodeURIComponent(anonymousRepo[2])
      }`.toLowerCase();
      const open = [...tokens.values()].flatMap((one) => Object.entries(one.repos))
        .find(([name, repo]) => name.toLowerCase() === fullName && repo.private === false);
      if (!open) return json(404, { message: "Not Found", status: "404" });
      return json(200, repoBody(open[0], { push: false, private: false }, false));
    }
    if (!grant) {
      return json(401, {
        message: token === undefined ? "Requires authentication" : "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      });
    }
    if (path === "/user") return json(200, { login: grant.login, id: 1, type: "User" });
    const repo = /^\/repos\/([^/]+)\/([^/]+)\/?$/.exec(path);
    if (repo) {
      const fullName = `${decodeURIComponent(repo[1])}/${decodeURIComponent(repo[2])}`;
      const entry = Object.entries(grant.repos).find(([name]) =>
        name.toLowerCase() === fullName.toLowerCase()
      );
      if (!entry) {
        return json(404, {
          message: "Not Found",
          documentation_url: "https://docs.github.com/rest/repos/repos#get-a-repository",
          status: "404",
        });
      }
      return json(200, repoBody(entry[0], entry[1], true));
    }
    return json(404, { message: "Not Found" });
  };

  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: abort.signal,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
  }, async (request) => {
    await request.body?.cancel().catch(() => {});
    const response = answer(request);
    const url = new URL(request.url);
    requests.push({
      method: request.method,
      path: url.pathname + url.search,
      token: tokenOf(request.headers.get("authorization")),
      status: response.status,
    });
    return response;
  });
  const addr = await ready.promise;
  return {
    url: `http://127.0.0.1:${addr.port}${prefix}`,
    requests,
    grant(token, grant) {
      tokens.set(token, grant);
    },
    revoke(token) {
      tokens.delete(token);
    },
    setPrivate(fullName, isPrivate) {
      for (const grant of tokens.values()) {
        for (const [name, repo] of Object.entries(grant.repos)) {
          if (name.toLowerCase() === fullName.toLowerCase()) repo.private = isPrivate;
        }
      }
    },
    async stop() {
      abort.abort();
      await server.finished.catch(() => {});
    },
  };
}
