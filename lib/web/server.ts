/**
 * The viewer's HTTP server: 127.0.0.1 only, every request through the
 * guard (lib/web/guard.ts), then the page, its assets and a read-only JSON
 * API over the branches:
 *
 * - `GET /api/recordings?text=&machine=&from=&to=`: the list, filtered;
 * - `GET /api/search?q=&regex=1&icase=1&r=`: matches grouped by recording;
 * - `GET /api/player/status?r=&id=`: a recording's row and how far its time map got;
 * - `GET /api/player/index?r=&id=&m=&at=&wait=`: the player's segmented index (`m`:
 *   marker times, `at`: wait until the map covers this second, `wait`: at most
 *   this long (ms) for the whole map);
 * - `GET /api/player/segment?r=&id=&n=&to=&end=`: one segment;
 * - `GET /api/live?r=&id=`: the event stream of a recording in progress.
 *
 * Whatever a request names (remote, id, numbers) is checked against what
 * the branches hold; answers are JSON (`nosniff`), errors too.
 *
 * @module
 */
import type { BranchSourceOptions } from "../branch/mod.ts";
import { errorMessage, KindedError } from "../sys/mod.ts";
import { PatternError } from "../text/mod.ts";
import { assetFor } from "./assets.ts";
import { type BranchState, ViewerBranches } from "./branches.ts";
import { Catalog, filterRows } from "./catalog.ts";
import {
  type GuardConfig,
  judgeRequest,
  loginCookie,
  newToken,
  securityHeaders,
  TOKEN_PARAM,
} from "./guard.ts";
import { followStart, liveStream } from "./live.ts";
import { PlayerData } from "./player_data.ts";
import { webSearch } from "./search.ts";

/** Options of {@linkcode startViewer}. */
export interface ViewerOptions extends BranchSourceOptions {
  /** Port (default: a free one). */
  port?: number;
  /** Seconds between fetches of a remote, and of a followed recording (default 2). */
  intervalSeconds?: number;
  /** Bytes between seek points (default 1 MiB; tests make it small). */
  spacing?: number;
  /** Live streams at once (default 8). */
  maxLive?: number;
}

/** The viewer while it runs: where it listens and how to stop it. */
export interface Viewer {
  /** The URL to open, with the token. */
  url: string;
  port: number;
  /** Stops the server and removes its temporary files. */
  close(): Promise<void>;
  /** Settles when the server stopped. */
  finished: Promise<void>;
}

/**
 * How long an index waits for the time map to be read whole before it
 * describes the part read so far (`wait` overrides it, up to 5 s).
 */
const INDEX_WAIT_MS = 400;

/** Markers taken from the `m` parameter at most. */
const MAX_MARKERS = 1000;

/** An answer other than 200, by its status: the request's fault, nothing there, upstream, busy. */
type HttpErrorKind = "request" | "not-found" | "upstream" | "busy";

const HTTP_KINDS: Record<number, HttpErrorKind> = {
  400: "request",
  404: "not-found",
  502: "upstream",
  503: "busy",
};

class HttpError extends KindedError<HttpErrorKind> {
  constructor(readonly status: 400 | 404 | 502 | 503, message: string) {
    super(HTTP_KINDS[status], message);
  }
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function intParam(url: URL, name: string, options: { required?: boolean } = {}): number {
  const text = url.searchParams.get(name);
  if (text === null || text === "") {
    if (options.required) throw new HttpError(400, `missing ${name}`);
    return NaN;
  }
  if (!/^\d{1,15}$/.test(text)) throw new HttpError(400, `${name} must be a whole number`);
  return Number(text);
}

function numberParam(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new HttpError(400, `${name} must be a number`);
  return value;
}

function markersParam(url: URL): { t: number; label: string }[] {
  const text = url.searchParams.get("m");
  if (!text) return [];
  return text.split(",").slice(0, MAX_MARKERS).map(Number)
    .filter((t) => Number.isFinite(t) && t >= 0)
    .map((t) => ({ t, label: "search hit" }));
}

/** Starts the viewer (see the module). */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const intervalMs = (options.intervalSeconds ?? 2) * 1000;
  const branches = await ViewerBranches.open({ ...options, intervalMs });
  const catalog = new Catalog(branches, options);
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const reading = { ...options, signal };
  const data = new PlayerData({
    identities: options.identities,
    signal,
    spacing: options.spacing,
  });
  const token = newToken();
  let live = 0;
  const maxLive = options.maxLive ?? 8;

  /** The state of remote `r` holding recording `id` (404 when it does not). */
  async function recording(url: URL, cached = false): Promise<{ state: BranchState; id: string }> {
    const r = intParam(url, "r", { required: true });
    const id = url.searchParams.get("id");
    if (!id) throw new HttpError(400, "missing id");
    if (!branches.remote(r)) throw new HttpError(404, `no remote ${r}`);
    const { state, error } = await branches.state(r, { cached });
    if (!state?.index) throw new HttpError(502, error ?? "the branch does not exist yet");
    if (!state.index.chunks.has(id) && !state.index.manifests.has(id)) {
      throw new HttpError(404, "no such recording on that remote");
    }
    return { state, id };
  }

  async function api(path: string, url: URL): Promise<Response> {
    switch (path) {
      case "/api/recordings": {
        const { rows, remotes } = await catalog.all();
        const shown = filterRows(rows, {
          text: url.searchParams.get("text") ?? undefined,
          machine: url.searchParams.get("machine") ?? undefined,
          from: url.searchParams.get("from") ?? undefined,
          to: url.searchParams.get("to") ?? undefined,
        });
        const machines = [...new Set(rows.map((row) => row.machine))].sort();
        return json({ remotes, machines, total: rows.length, recordings: shown });
      }
      case "/api/search": {
        const pattern = url.searchParams.get("q") ?? "";
        if (!pattern) throw new HttpError(400, "nothing to search for");
        const r = intParam(url, "r");
        try {
          return json(
            await webSearch(branches, {
              pattern,
              regex: url.searchParams.get("regex") === "1",
              ignoreCase: url.searchParams.get("icase") === "1",
              remote: Number.isNaN(r) ? undefined : r,
            }, reading),
          );
        } catch (error) {
          if (error instanceof PatternError) throw new HttpError(400, error.message);
          throw error;
        }
      }
      case "/api/player/status": {
        const { state, id } = await recording(url);
        const row = await catalog.find(state.remote.key, id);
        return json({ row: row ?? null, map: data.status(state, id) });
      }
      case "/api/player/index": {
        const { state, id } = await recording(url);
        const at = numberParam(url, "at");
        const waitMs = Math.min(numberParam(url, "wait") ?? INDEX_WAIT_MS, 5000);
        const status = await data.ready(state, id, { waitMs, untilSeconds: at });
        const base = `segment?r=${state.remote.key}&id=${encodeURIComponent(id)}`;
        const index = data.index(state, id, {
          markers: markersParam(url),
          url: (n, to, lastUs) =>
            `${base}&n=${n}&to=${to}${lastUs === undefined ? "" : `&end=${lastUs}`}`,
        });
        if (!index) throw new HttpError(502, status.error ?? "the recording could not be read");
        return json({ ...index, map: status });
      }
      case "/api/player/segment": {
        const { state, id } = await recording(url, true);
        const n = intParam(url, "n", { required: true });
        const to = intParam(url, "to", { required: true });
        const end = intParam(url, "end");
        const segment = await data.segment(state, id, {
          n,
          to,
          lastUs: Number.isNaN(end) ? undefined : end,
        });
        if (!segment) throw new HttpError(404, "no such segment (reload the player)");
        return json(segment);
      }
      case "/api/live": {
        const { state, id } = await recording(url);
        if (live >= maxLive) throw new HttpError(503, "too many live players open");
        const status = await data.ready(state, id, { waitMs: 0 });
        const headerLine = data.headerLine(state, id);
        if (!headerLine) throw new HttpError(502, status.error ?? "the recording has no header");
        live++;
        let counted = true;
        const release = () => {
          if (counted) live--;
          counted = false;
        };
        const body = liveStream({
          ...reading,
          repoUrl: state.remote.url,
          branch: state.remote.branch,
          id,
          headerLine,
          from: followStart(state.index?.chunks.get(id) ?? []),
          intervalMs,
          onEnd: release,
        });
        return new Response(body, {
          headers: { "content-type": "text/event-stream; charset=utf-8" },
        });
      }
    }
    throw new HttpError(404, "no such page");
  }

  async function handle(request: Request, remote: string, config: GuardConfig) {
    const url = new URL(request.url);
    const verdict = judgeRequest({
      method: request.method,
      url,
      host: request.headers.get("host"),
      cookie: request.headers.get("cookie"),
      fetchSite: request.headers.get("sec-fetch-site"),
      remote,
    }, config);
    if (verdict.kind === "refuse") {
      return new Response(`${verdict.reason}\n`, {
        status: verdict.status,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          ...(verdict.status === 405 ? { allow: "GET, HEAD" } : {}),
        },
      });
    }
    let response: Response;
    try {
      const asset = assetFor(url.pathname);
      if (asset) {
        response = new Response(asset.body, { headers: { "content-type": asset.type } });
      } else if (url.pathname.startsWith("/api/")) {
        url.searchParams.delete(TOKEN_PARAM);
        response = await api(url.pathname, url);
      } else {
        throw new HttpError(404, "no such page");
      }
    } catch (error) {
      if (error instanceof HttpError) response = json({ error: error.message }, error.status);
      else if (signal.aborted) response = json({ error: "the viewer is stopping" }, 503);
      else response = json({ error: errorMessage(error) }, 500);
    }
    if (verdict.kind === "login") response.headers.append("set-cookie", loginCookie(config));
    return response;
  }

  let config: GuardConfig = { token, port: 0 };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal,
    onListen: () => {},
  }, async (request, info) => {
    const response = await handle(request, info.remoteAddr.hostname, config);
    for (const [name, value] of Object.entries(securityHeaders())) {
      response.headers.set(name, value);
    }
    if (request.method === "HEAD") {
      await response.body?.cancel();
      return new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  });
  const port = server.addr.port;
  config = { token, port };
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      stop.abort(new Error("the viewer stopped"));
      await server.finished.catch(() => {});
      await branches.close();
    })();
  server.finished.then(close, close);
  return {
    url: `http://127.0.0.1:${port}/?${TOKEN_PARAM}=${token}`,
    port,
    close,
    finished: server.finished,
  };
}
