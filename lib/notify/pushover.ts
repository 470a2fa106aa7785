/**
 * The Pushover backend: a form POST with the app token and user key from the
 * credential store.
 *
 * @module
 */
import { PUSHOVER_APP, PUSHOVER_USER } from "../credentials/mod.ts";
import { isPlainHttpToRemote, log, PLAIN_HTTP_NOTIFY } from "../sys/mod.ts";
import { httpFailure, post, readSecrets, truncate } from "./http.ts";
import type {
  BackendResult,
  HttpBackendOptions,
  Notice,
  NoticePriority,
  NotifierBackend,
} from "./notice.ts";

/** Default Pushover endpoint. */
const PUSHOVER_API_URL = "https://api.pushover.net/1/messages.json";
export const PUSHOVER_MESSAGE_MAX = 1024;
/** Pushover's limit on `title`. */
const PUSHOVER_TITLE_MAX = 250;

/** Options for {@linkcode pushoverBackend}. */
export interface PushoverOptions extends HttpBackendOptions {
  /** Endpoint, default {@linkcode PUSHOVER_API_URL}. */
  apiUrl?: string;
  /** Pushover sound name. */
  sound?: string;
}

function pushoverPriority(priority: NoticePriority): number {
  // 2 (emergency) needs retry/expire and keeps alerting: never used.
  return priority === "high" ? 1 : priority === "low" ? -1 : 0;
}

/**
 * Pushover: a form POST with `token`, `user`, `title`, `message`,
 * `priority` and `sound`. Success only when the JSON reply has `"status":1`;
 * a 4xx answer is permanent, a 5xx or network error is not.
 */
export function pushoverBackend(options: PushoverOptions): NotifierBackend {
  const apiUrl = options.apiUrl ?? PUSHOVER_API_URL;
  return {
    name: "pushover",
    async send(notice: Notice): Promise<BackendResult> {
      const base = { backend: "pushover" };
      const secrets = await readSecrets(
        options.getSecret,
        [PUSHOVER_APP, PUSHOVER_USER],
        base.backend,
      );
      if (!Array.isArray(secrets)) return secrets;
      const [token, user] = secrets;
      if (!token && !user) {
        return { ...base, ok: false, permanent: true, skipped: true, error: "not set up" };
      }
      if (!token || !user) {
        return {
          ...base,
          ok: false,
          permanent: true,
          error: `no ${
            !token ? PUSHOVER_APP : PUSHOVER_USER
          } in the credential store (deno task daemon-setup)`,
        };
      }
      if (isPlainHttpToRemote(apiUrl)) {
        // The app token and user key never cross the network in clear.
        return {
          ...base,
          ok: false,
          permanent: true,
          error: `notify.pushover.api_url: ${PLAIN_HTTP_NOTIFY}`,
        };
      }
      const form = new URLSearchParams();
      form.set("token", token);
      form.set("user", user);
      form.set("title", truncate(notice.title, PUSHOVER_TITLE_MAX));
      form.set("message", truncate(notice.message, PUSHOVER_MESSAGE_MAX));
      form.set("priority", String(pushoverPriority(notice.priority)));
      if (options.sound) form.set("sound", options.sound);
      const answer = await post(apiUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      }, options);
      if ("error" in answer) return { ...base, ok: false, permanent: false, error: answer.error };
      let reply: { status?: unknown; errors?: unknown } = {};
      try {
        reply = JSON.parse(answer.body);
      } catch {
        // not JSON: judged by the HTTP status below
      }
      const remaining = Number(answer.headers.get("x-limit-app-remaining") ?? NaN);
      if (Number.isFinite(remaining) && remaining < 100) {
        log("notify").warn("Pushover: only {remaining} messages left this month for this app", {
          remaining,
        });
      }
      if (answer.status >= 200 && answer.status < 300 && reply.status === 1) {
        return { ...base, ok: true, permanent: false, status: answer.status };
      }
      const errors = Array.isArray(reply.errors) ? reply.errors.map(String).join("; ") : "";
      return httpFailure(base.backend, answer.status, {
        detail: errors ? `: ${errors}` : "",
        permanentHint: " (check the app token and user key: deno task daemon-setup)",
      });
    },
  };
}
