/**
 * A loopback stand-in for Pushover and ntfy: records every request and
 * answers like the real services (or as a test tells it to).
 *
 * - `POST /1/messages.json` (Pushover): form fields; `{"status":1}` unless
 *   `pushoverReply` says otherwise.
 * - `POST /<topic>` (ntfy): body and headers; 200 unless `ntfyReply` says otherwise.
 *
 * @module
 */

/** One request the stand-in received. */
export interface ReceivedNotice {
  /** `pushover` or `ntfy`. */
  service: "pushover" | "ntfy";
  /** Request path. */
  path: string;
  /** Request headers (lower-case names). */
  headers: Record<string, string>;
  /** Pushover form fields (empty for ntfy). */
  form: Record<string, string>;
  /** Raw body. */
  body: string;
}

/** A canned answer. */
export interface Reply {
  /** HTTP status. */
  status: number;
  /** Body (JSON for Pushover). */
  body: string;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** Wait until this promise settles before answering (timeouts). */
  hang?: Promise<void>;
}

/** The running stand-in. */
export interface NotifyServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Pushover endpoint URL. */
  pushoverUrl: string;
  /** ntfy topic URL for `topic`. */
  ntfyUrl(topic?: string): string;
  /** Everything received, in order. */
  received: ReceivedNotice[];
  /** Answer for the next Pushover requests (default success). */
  pushoverReply?: (notice: ReceivedNotice) => Reply;
  /** Answer for the next ntfy requests (default 200). */
  ntfyReply?: (notice: ReceivedNotice) => Reply;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 and a free port. */
export function startNotifyServer(): Promise<NotifyServer> {
  const listening = Promise.withResolvers<number>();
  const state: NotifyServer = {
    origin: "",
    pushoverUrl: "",
    ntfyUrl: (topic = "backups") => `${state.origin}/${topic}`,
    received: [],
    close: async () => {
      await server.shutdown();
    },
  };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => listening.resolve(port),
  }, async (request) => {
    const url = new URL(request.url);
    const body = await request.text();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => headers[key] = value);
    const pushover = url.pathname === "/1/messages.json";
    const notice: ReceivedNotice = {
      service: pushover ? "pushover" : "ntfy",
      path: url.pathname,
      headers,
      form: pushover ? Object.fromEntries(new URLSearchParams(body)) : {},
      body,
    };
    state.received.push(notice);
    const reply = pushover
      ? state.pushoverReply?.(notice) ??
        {
          status: 200,
          body: JSON.stringify({ status: 1, request: crypto.randomUUID() }),
          headers: { "x-limit-app-remaining": "9000" },
        }
      : state.ntfyReply?.(notice) ?? { status: 200, body: JSON.stringify({ id: "abc" }) };
    if (reply.hang) await reply.hang.catch(() => {});
    return new Response(reply.body, {
      status: reply.status,
      headers: { "content-type": "application/json", ...(reply.headers ?? {}) },
    });
  });
  return listening.promise.then((port) => {
    state.origin = `http://127.0.0.1:${port}`;
    state.pushoverUrl = `${state.origin}/1/messages.json`;
    return state;
  });
}
