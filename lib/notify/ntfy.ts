/**
 * The ntfy backend: the message as the body of a POST to the topic URL, with
 * an optional access token from the credential store.
 *
 * @module
 */
import { NTFY_TOKEN } from "../credentials/mod.ts";
import { isPlainHttpToRemote } from "../sys/mod.ts";
import { headerSafe, httpFailure, post, readSecrets } from "./http.ts";
import type {
  BackendResult,
  HttpBackendOptions,
  Notice,
  NoticePriority,
  NotifierBackend,
} from "./notice.ts";

/** Options for {@linkcode ntfyBackend}. */
export interface NtfyOptions extends HttpBackendOptions {
  /** Topic URL (`https://ntfy.sh/<topic>`). */
  url: string;
  /** Tags added to every notice. */
  tags?: string[];
}

function ntfyPriority(priority: NoticePriority): number {
  return priority === "high" ? 5 : priority === "low" ? 2 : 3;
}

/**
 * ntfy: POST to the topic URL with the message as the body and `Title`,
 * `Priority` (1..5) and `Tags` headers; `Authorization: Bearer` when the
 * credential store has {@linkcode NTFY_TOKEN}.
 */
export function ntfyBackend(options: NtfyOptions): NotifierBackend {
  return {
    name: "ntfy",
    async send(notice: Notice): Promise<BackendResult> {
      const base = { backend: "ntfy" };
      const secrets = await readSecrets(options.getSecret, [NTFY_TOKEN], base.backend);
      if (!Array.isArray(secrets)) return secrets;
      const [token] = secrets;
      const tags = [...notice.tags, ...(options.tags ?? [])];
      const headers: Record<string, string> = {
        "content-type": "text/plain; charset=utf-8",
        "Title": headerSafe(notice.title),
        "Priority": String(ntfyPriority(notice.priority)),
      };
      if (tags.length > 0) headers["Tags"] = headerSafe(tags.join(","));
      // The token never crosses the network in clear (config.json refuses such a URL too).
      if (token && !isPlainHttpToRemote(options.url)) headers["Authorization"] = `Bearer ${token}`;
      const answer = await post(options.url, { method: "POST", headers, body: notice.message }, {
        ...options,
      });
      if ("error" in answer) return { ...base, ok: false, permanent: false, error: answer.error };
      if (answer.status >= 200 && answer.status < 300) {
        return { ...base, ok: true, permanent: false, status: answer.status };
      }
      return httpFailure(base.backend, answer.status, {
        detail: `: ${answer.body.trim().slice(0, 200)}`,
      });
    },
  };
}
