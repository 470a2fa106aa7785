/**
 * A loopback smart-HTTP git server for tests: `Deno.serve` on 127.0.0.1
 * (port 0) running `git http-backend` as CGI behind HTTP Basic auth that
 * accepts one token (user name anything, password = token). Request and
 * response bodies are streamed, so large packs never sit in memory. The
 * token can be changed while it runs (rotation tests), and every request is
 * counted: accepted, rejected (wrong credentials) and unauthenticated (none).
 *
 * ```ts
 * const server = await startGitHttpServer({ token: "t0ken" });
 * await server.createRepo("rec");
 * const url = server.repoUrl("rec"); // http://127.0.0.1:PORT/rec.git
 * ...
 * await server.stop();
 * ```
 *
 * @module
 */
import { join } from "node:path";

/** Request counters. */
export interface GitHttpStats {
  /** Requests with the right token (served by git http-backend). */
  accepted: number;
  /** Requests with credentials that were wrong (answered 401). */
  rejected: number;
  /** Requests without credentials (answered 401). */
  unauthenticated: number;
  /**
   * `git-receive-pack` POSTs the backend completed (a push whose pack exceeds
   * http.postBuffer sends a small probe POST first, so one push may count twice).
   */
  receivePacks: number;
  /** Push requests refused with 403 because of `refusePush` (right token, no write access). */
  refusedPushes: number;
  /** Every `Authorization` header received, in order (the secret-scope tests read them). */
  authorizations: string[];
  /** Requests answered with a redirect (see `redirectTo`). */
  redirected: number;
}

/** Options for {@linkcode startGitHttpServer}. */
export interface GitHttpServerOptions {
  /** The accepted token. */
  token: string;
  /** Folder holding the bare repositories (default: a new temp dir, removed by `stop`). */
  root?: string;
  /** Answer 403 instead of 401 for wrong credentials (a GitHub-like "forbidden"). */
  forbiddenOnWrongToken?: boolean;
  /**
   * Accept the token for reads but answer 403 to every push request
   * (`service=git-receive-pack`), like GitHub for a token that can read but
   * not write. Changeable with {@linkcode GitHttpServer.setRefusePush}.
   */
  refusePush?: boolean;
  /** Upload speed limit for pushes (bytes per second), like a slow link; null: none. */
  pushBytesPerSecond?: number | null;
  /**
   * Answer every request with a 307 to this base URL plus the request's path
   * and query (a moved repository, or an attacker's redirect), before any auth.
   */
  redirectTo?: string;
  /** Accept requests without credentials too (an anonymous mirror). */
  anonymous?: boolean;
}

/** A running server. */
export interface GitHttpServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  /** The port. */
  readonly port: number;
  /** GIT_PROJECT_ROOT: the folder of the bare repositories. */
  readonly root: string;
  /** Counters (live object). */
  readonly stats: GitHttpStats;
  /** The URL of the bare repo `name` (`.git` appended when missing). */
  repoUrl(name: string): string;
  /** The path of the bare repo `name` on disk. */
  repoPath(name: string): string;
  /** Creates the bare repo `name` (idempotent); returns its path. */
  createRepo(name: string): Promise<string>;
  /** Accepts only `token` from now on. */
  setToken(token: string): void;
  /** Refuses (true) or allows (false) pushes from now on (reads stay allowed). */
  setRefusePush(refuse: boolean): void;
  /** Limits push uploads to `bytesPerSecond` from now on (null: no limit). */
  setPushSpeed(bytesPerSecond: number | null): void;
  /** Installs (script) or removes (null) the `pre-receive` hook of repo `name`. */
  setPreReceiveHook(name: string, script: string | null): Promise<void>;
  /** Stops serving, waits for running backends, removes a temp root it created. */
  stop(): Promise<void>;
}

function repoDirName(name: string): string {
  const clean = name.replace(/^\/+|\/+$/g, "");
  if (!/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/.test(clean) || clean.includes("..")) {
    throw new Error(`bad repository name ${JSON.stringify(name)}`);
  }
  return clean.endsWith(".git") ? clean : `${clean}.git`;
}

function credentialsOf(header: string | null): { user: string; password: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return { user: "", password: "" };
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
  } catch {
    return { user: "", password: "" };
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return { user: decoded, password: "" };
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Splits a CGI response into its header block and a stream of the rest. */
async function readCgiResponse(
  stdout: ReadableStream<Uint8Array>,
): Promise<{ status: number; headers: Headers; body: ReadableStream<Uint8Array> }> {
  const reader = stdout.getReader();
  let buffer = new Uint8Array(0);
  let end = -1;
  let skip = 0;
  while (end < 0) {
    const { value, done } = await reader.read();
    if (done) break;
    const next = new Uint8Array(buffer.length + value.length);
    next.set(buffer);
    next.set(value, buffer.length);
    buffer = next;
    for (let i = 0; i < buffer.length - 1; i++) {
      if (buffer[i] === 10 && buffer[i + 1] === 10) {
        end = i;
        skip = 2;
        break;
      }
      if (
        buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10
      ) {
        end = i;
        skip = 4;
        break;
      }
    }
    if (buffer.length > 65536 && end < 0) throw new Error("CGI header block too large");
  }
  if (end < 0) {
    reader.releaseLock();
    throw new Error("git http-backend ended without a header block");
  }
  const headerText = new TextDecoder().decode(buffer.subarray(0, end));
  const rest = buffer.subarray(end + skip);
  const headers = new Headers();
  let status = 200;
  for (const line of headerText.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers.append(key, value);
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.length) controller.enqueue(rest);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { status, headers, body };
}

/** A stream that passes bytes on at most `rate()` bytes per second (read per slice). */
function throttled(
  body: ReadableStream<Uint8Array>,
  rate: () => number | null,
): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        let offset = 0;
        while (offset < chunk.length) {
          const limit = rate();
          if (!limit) {
            controller.enqueue(chunk.subarray(offset));
            return;
          }
          const slice = Math.max(1, Math.floor(limit / 20));
          controller.enqueue(chunk.slice(offset, offset + slice));
          offset += slice;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
    }),
  );
}

/** Starts the server on 127.0.0.1 with an ephemeral port. */
export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? await Deno.makeTempDir({ prefix: "git-http-" });
  let token = options.token;
  let refusePush = options.refusePush ?? false;
  let pushSpeed = options.pushBytesPerSecond ?? null;
  const stats: GitHttpStats = {
    accepted: 0,
    rejected: 0,
    unauthenticated: 0,
    receivePacks: 0,
    refusedPushes: 0,
    authorizations: [],
    redirected: 0,
  };
  const running = new Set<Promise<unknown>>();
  const abort = new AbortController();

  const handler = async (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const header = request.headers.get("authorization");
    if (header !== null) stats.authorizations.push(header);
    if (options.redirectTo) {
      stats.redirected++;
      await request.body?.cancel().catch(() => {});
      const asked = new URL(request.url);
      return new Response(null, {
        status: 307,
        headers: { Location: `${options.redirectTo}${asked.pathname}${asked.search}` },
      });
    }
    const anonymous = options.anonymous && header === null;
    const given = anonymous ? { user: "", password: token } : credentialsOf(header);
    if (!given || !sameSecret(given.password, token)) {
      if (given) stats.rejected++;
      else stats.unauthenticated++;
      await request.body?.cancel().catch(() => {});
      const status = given && options.forbiddenOnWrongToken ? 403 : 401;
      return new Response(status === 401 ? "Unauthorized\n" : "Forbidden\n", {
        status,
        headers: { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" },
      });
    }
    const url = new URL(request.url);
    if (
      refusePush &&
      (url.pathname.endsWith("/git-receive-pack") ||
        url.searchParams.get("service") === "git-receive-pack")
    ) {
      stats.refusedPushes++;
      await request.body?.cancel().catch(() => {});
      return new Response("Write access to repository not granted.\n", {
        status: 403,
        headers: { "Content-Type": "text/plain" },
      });
    }
    stats.accepted++;
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: root,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "http.receivepack",
      GIT_CONFIG_VALUE_0: "true",
      GIT_CONFIG_KEY_1: "safe.directory",
      GIT_CONFIG_VALUE_1: "*",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      SERVER_SOFTWARE: "git-http-test-server",
      REQUEST_METHOD: request.method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ""),
      REMOTE_USER: given.user || "x-access-token",
      REMOTE_ADDR: (info.remoteAddr as Deno.NetAddr).hostname ?? "127.0.0.1",
      CONTENT_TYPE: request.headers.get("content-type") ?? "",
    };
    const length = request.headers.get("content-length");
    if (length !== null) env.CONTENT_LENGTH = length;
    const encoding = request.headers.get("content-encoding");
    if (encoding) env.HTTP_CONTENT_ENCODING = encoding;
    const protocol = request.headers.get("git-protocol");
    if (protocol) env.GIT_PROTOCOL = protocol;
    const child = new Deno.Command("git", {
      args: ["http-backend"],
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).spawn();
    const upload = request.body ?? new ReadableStream({ start: (c) => c.close() });
    const isPush = url.pathname.endsWith("/git-receive-pack");
    const feeding = (isPush ? throttled(upload, () => pushSpeed) : upload)
      .pipeTo(child.stdin).catch(() => {});
    const errors = new Response(child.stderr).text().catch(() => "");
    const done = Promise.all([child.status, feeding, errors]);
    running.add(done);
    done.finally(() => running.delete(done));
    if (url.pathname.endsWith("/git-receive-pack") && request.method === "POST") {
      child.status.then((status) => {
        if (status.success) stats.receivePacks++;
      });
    }
    try {
      const response = await readCgiResponse(child.stdout);
      return new Response(response.body, { status: response.status, headers: response.headers });
    } catch (error) {
      const text = await errors;
      return new Response(`git http-backend failed: ${(error as Error).message}\n${text}`, {
        status: 500,
      });
    }
  };

  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: abort.signal,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
    onError: (error) => new Response(`server error: ${error}\n`, { status: 500 }),
  }, handler);
  const addr = await ready.promise;
  const base = `http://127.0.0.1:${addr.port}`;

  return {
    url: base,
    port: addr.port,
    root,
    stats,
    repoUrl: (name) => `${base}/${repoDirName(name)}`,
    repoPath: (name) => join(root, repoDirName(name)),
    async createRepo(name) {
      const path = join(root, repoDirName(name));
      const out = await new Deno.Command("git", {
        args: ["init", "--bare", "--quiet", path],
        env: { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(`git init ${path}: ${new TextDecoder().decode(out.stderr)}`);
      }
      return path;
    },
    setToken(next) {
      token = next;
    },
    setRefusePush(refuse) {
      refusePush = refuse;
    },
    setPushSpeed(bytesPerSecond) {
      pushSpeed = bytesPerSecond;
    },
    async setPreReceiveHook(name, script) {
      const hook = join(root, repoDirName(name), "hooks", "pre-receive");
      if (script === null) {
        await Deno.remove(hook).catch(() => {});
        return;
      }
      await Deno.mkdir(join(root, repoDirName(name), "hooks"), { recursive: true });
      await Deno.writeTextFile(hook, script, { mode: 0o755 });
    },
    async stop() {
      abort.abort();
      await server.finished.catch(() => {});
      await Promise.allSettled([...running]);
      if (ownRoot) await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}
