/**
 * The dispatcher: every configured backend gets each notice; it never throws.
 *
 * @module
 */
import { log, NotifySchema, type NotifySettings, type Settings } from "../sys/mod.ts";
import { errorText } from "./http.ts";
import type {
  BackendResult,
  DeliveryResult,
  GetSecret,
  Notice,
  NotifierBackend,
} from "./notice.ts";
import { ntfyBackend } from "./ntfy.ts";
import { pushoverBackend } from "./pushover.ts";

/** Fills in the defaults of the `notify` settings. */
export function notifySettings(settings?: Pick<Settings, "notify">): NotifySettings {
  return NotifySchema.parse(settings?.notify ?? {});
}

/** Options for {@linkcode createNotifier}. */
export interface CreateNotifierOptions {
  /** Secret lookup (credential store). */
  getSecret: GetSecret;
  /** `fetch` to use (tests). */
  fetch?: typeof fetch;
  /** Request timeout. */
  timeoutMs?: number;
}

/** Sends notices to every configured backend; never throws. */
export class Notifier {
  /** The configured backends. */
  readonly backends: readonly NotifierBackend[];

  /** Creates a dispatcher over `backends`. */
  constructor(backends: NotifierBackend[]) {
    this.backends = backends;
  }

  /**
   * Delivers `notice` to every backend. Failures are logged (without
   * secrets) and reported in the result, never thrown.
   */
  async send(notice: Notice): Promise<DeliveryResult> {
    const logger = log("notify");
    const results: BackendResult[] = [];
    for (const backend of this.backends) {
      let result: BackendResult;
      try {
        result = await backend.send(notice);
      } catch (error) {
        result = { backend: backend.name, ok: false, permanent: false, error: errorText(error) };
      }
      results.push(result);
      if (result.skipped) {
        logger.debug("{backend} is not set up: {kind} notice not sent there", {
          backend: backend.name,
          kind: notice.kind,
        });
      } else if (result.ok) {
        logger.info("sent {kind} notice via {backend}: {title}", {
          kind: notice.kind,
          backend: backend.name,
          title: notice.title,
        });
      } else {
        logger.warn("could not send {kind} notice via {backend}: {error}", {
          kind: notice.kind,
          backend: backend.name,
          error: result.error ?? "unknown error",
          permanent: result.permanent,
        });
      }
    }
    const delivered = results.some((result) => result.ok);
    return {
      delivered,
      permanent: !delivered && results.every((result) => result.permanent || result.skipped),
      results,
    };
  }
}

/**
 * Builds the dispatcher from settings: Pushover unless
 * `notify.pushover.enabled` is false (its secrets are read at each send, so
 * a token stored later is picked up; with neither secret stored it is
 * skipped quietly), ntfy when `notify.ntfy.url` is set. With
 * `notify.enabled` false there are no backends.
 */
export function createNotifier(
  settings: Pick<Settings, "notify">,
  options: CreateNotifierOptions,
): Notifier {
  const notify = notifySettings(settings);
  const backends: NotifierBackend[] = [];
  if (!notify.enabled) return new Notifier(backends);
  const http = { getSecret: options.getSecret, fetch: options.fetch, timeoutMs: options.timeoutMs };
  if (notify.pushover.enabled) {
    backends.push(
      pushoverBackend({ ...http, apiUrl: notify.pushover.api_url, sound: notify.pushover.sound }),
    );
  }
  if (notify.ntfy.url) {
    backends.push(ntfyBackend({ ...http, url: notify.ntfy.url, tags: notify.ntfy.tags }));
  }
  return new Notifier(backends);
}
