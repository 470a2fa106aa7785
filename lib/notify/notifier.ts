/**
 * Failure notices: Pushover and ntfy backends, a dispatcher that never
 * throws, and {@linkcode NotificationPolicy}, the clock-injectable policy the
 * daemon calls (grace period, throttle, recovery notices).
 *
 * Secrets (Pushover app token and user key, ntfy token) come from an
 * injected lookup, are registered for redaction as soon as they are loaded,
 * and are never logged.
 *
 * @module
 */
import {
  log,
  NotifySchema,
  type NotifySettings,
  registerSecret,
  type Settings,
  timeoutSignal,
} from "../sys/mod.ts";

export {
  /** Credential-store service holding the optional ntfy access token. */
  NTFY_TOKEN as NTFY_TOKEN_SERVICE,
  /** Credential-store service holding the Pushover application token. */
  PUSHOVER_APP as PUSHOVER_APP_SERVICE,
  /** Credential-store service holding the Pushover user key. */
  PUSHOVER_USER as PUSHOVER_USER_SERVICE,
} from "../credentials/mod.ts";
import {
  NTFY_TOKEN as NTFY_TOKEN_SERVICE,
  PUSHOVER_APP as PUSHOVER_APP_SERVICE,
  PUSHOVER_USER as PUSHOVER_USER_SERVICE,
} from "../credentials/mod.ts";
/** Default Pushover endpoint. */
export const PUSHOVER_API_URL = "https://api.pushover.net/1/messages.json";
/** Timeout of one notification request. */
export const NOTIFY_TIMEOUT_MS = 10_000;
/** Pushover's limit on `message`. */
export const PUSHOVER_MESSAGE_MAX = 1024;
/** Pushover's limit on `title`. */
export const PUSHOVER_TITLE_MAX = 250;

/** Looks a secret up by credential-store service name; `undefined` when absent. */
export type GetSecret = (service: string) => Promise<string | undefined>;

/** What a notice is about (also the throttle's event kind). */
export type NoticeKind =
  | "push_failing"
  | "auth_rejected"
  | "disk_trouble"
  | "crash_restart"
  | "recovered"
  | "behind"
  | "caught_up";

/** How urgent a notice is; each backend maps it to its own scale. */
export type NoticePriority = "low" | "normal" | "high";

/** One notice, backend-neutral. Plain text. */
export interface Notice {
  /** What it is about. */
  kind: NoticeKind;
  /** What it concerns (remote key, recording id, `disk`, `daemon`). */
  key: string;
  /** Short title. */
  title: string;
  /** Body: what happened and what to run next. */
  message: string;
  /** Urgency. */
  priority: NoticePriority;
  /** ntfy tags (emoji short codes). */
  tags: string[];
}

/** The outcome of one backend's attempt. */
export interface BackendResult {
  /** Backend name. */
  backend: string;
  /** True when the service accepted the notice. */
  ok: boolean;
  /** True when retrying cannot help (4xx: bad token, user or topic). */
  permanent: boolean;
  /** True when the backend is not set up (its secrets are absent): not an error. */
  skipped?: boolean;
  /** HTTP status, when there was an answer. */
  status?: number;
  /** What went wrong (no secrets). */
  error?: string;
}

/** The outcome of delivering one notice to every configured backend. */
export interface DeliveryResult {
  /** True when at least one backend accepted it. */
  delivered: boolean;
  /** True when it was not delivered and retrying cannot help (or nothing is configured). */
  permanent: boolean;
  /** Per-backend results. */
  results: BackendResult[];
}

/** A notification backend. */
export interface NotifierBackend {
  /** Name for logs and status (`pushover`, `ntfy`). */
  readonly name: string;
  /** Sends one notice; never throws. */
  send(notice: Notice): Promise<BackendResult>;
}

/** Options shared by the HTTP backends. */
export interface HttpBackendOptions {
  /** Secret lookup (credential store). */
  getSecret: GetSecret;
  /** `fetch` to use (tests); default the global one. */
  fetch?: typeof fetch;
  /** Request timeout, default {@linkcode NOTIFY_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Options for {@linkcode pushoverBackend}. */
export interface PushoverOptions extends HttpBackendOptions {
  /** Endpoint, default {@linkcode PUSHOVER_API_URL}. */
  apiUrl?: string;
  /** Pushover sound name. */
  sound?: string;
}

/** Options for {@linkcode ntfyBackend}. */
export interface NtfyOptions extends HttpBackendOptions {
  /** Topic URL (`https://ntfy.sh/<topic>`). */
  url: string;
  /** Tags added to every notice. */
  tags?: string[];
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}

/** Header values must be Latin-1: keep ASCII, replace the rest. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 250);
}

/** The part of a URL that is safe to log (no credentials, no query). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.name === "AbortError" || error.message === "timeout" ? "timed out" : error.message;
  }
  return String(error);
}

/**
 * Reads `services` from the credential store in order, registering each
 * value as a secret; a store that cannot be read gives `backend`'s
 * transient failure result instead of the values.
 */
async function readSecrets(
  getSecret: GetSecret,
  services: string[],
  backend: string,
): Promise<(string | undefined)[] | BackendResult> {
  const values: (string | undefined)[] = [];
  try {
    for (const service of services) {
      const value = await getSecret(service);
      registerSecret(value);
      values.push(value);
    }
  } catch (error) {
    return {
      backend,
      ok: false,
      permanent: false,
      error: `credential store: ${errorText(error)}`,
    };
  }
  return values;
}

/**
 * `backend`'s result for an HTTP answer that is not a success: a 4xx is
 * permanent (sending again cannot help; `permanentHint` is appended), a 5xx
 * is not. The error reads `HTTP <status><detail>`.
 */
function httpFailure(
  backend: string,
  status: number,
  options: { detail?: string; permanentHint?: string } = {},
): BackendResult {
  const permanent = status >= 400 && status < 500;
  return {
    backend,
    ok: false,
    permanent,
    status,
    error: `HTTP ${status}${options.detail ?? ""}${permanent ? options.permanentHint ?? "" : ""}`,
  };
}

async function post(
  url: string,
  init: RequestInit,
  options: HttpBackendOptions,
): Promise<{ status: number; body: string; headers: Headers } | { error: string }> {
  const timer = timeoutSignal(options.timeoutMs ?? NOTIFY_TIMEOUT_MS);
  try {
    const response = await (options.fetch ?? fetch)(url, { ...init, signal: timer.signal });
    const body = await response.text();
    return { status: response.status, body, headers: response.headers };
  } catch (error) {
    return { error: timer.timedOut() ? "timed out" : errorText(error) };
  } finally {
    timer.clear();
  }
}

function pushoverPriority(priority: NoticePriority): number {
  // 2 (emergency) needs retry/expire and keeps alerting: never used.
  return priority === "high" ? 1 : priority === "low" ? -1 : 0;
}

function ntfyPriority(priority: NoticePriority): number {
  return priority === "high" ? 5 : priority === "low" ? 2 : 3;
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
        [PUSHOVER_APP_SERVICE, PUSHOVER_USER_SERVICE],
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
            !token ? PUSHOVER_APP_SERVICE : PUSHOVER_USER_SERVICE
          } in the credential store (deno task daemon-setup)`,
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

/**
 * ntfy: POST to the topic URL with the message as the body and `Title`,
 * `Priority` (1..5) and `Tags` headers; `Authorization: Bearer` when the
 * credential store has {@linkcode NTFY_TOKEN_SERVICE}.
 */
export function ntfyBackend(options: NtfyOptions): NotifierBackend {
  return {
    name: "ntfy",
    async send(notice: Notice): Promise<BackendResult> {
      const base = { backend: "ntfy" };
      const secrets = await readSecrets(options.getSecret, [NTFY_TOKEN_SERVICE], base.backend);
      if (!Array.isArray(secrets)) return secrets;
      const [token] = secrets;
      const tags = [...notice.tags, ...(options.tags ?? [])];
      const headers: Record<string, string> = {
        "content-type": "text/plain; charset=utf-8",
        "Title": headerSafe(notice.title),
        "Priority": String(ntfyPriority(notice.priority)),
      };
      if (tags.length > 0) headers["Tags"] = headerSafe(tags.join(","));
      if (token) headers["Authorization"] = `Bearer ${token}`;
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

/** Options for {@linkcode createNotificationPolicy}. */
export interface CreatePolicyOptions extends CreateNotifierOptions {
  /** Clock (tests). */
  now?: () => number;
  /** Host name shown in notices. */
  host?: string;
}

/**
 * The policy the daemon uses: {@linkcode createNotifier} behind
 * {@linkcode NotificationPolicy.fromSettings}.
 */
export function createNotificationPolicy(
  settings: Pick<Settings, "notify">,
  options: CreatePolicyOptions,
): NotificationPolicy {
  const notifier = createNotifier(settings, options);
  return NotificationPolicy.fromSettings(settings, {
    send: (notice) => notifier.send(notice),
    now: options.now,
    host: options.host,
  });
}

/** Sends a notice; the policy's only way out. */
export type SendNotice = (notice: Notice) => Promise<DeliveryResult | void> | DeliveryResult | void;

/** Options for {@linkcode NotificationPolicy}. */
export interface NotificationPolicyOptions {
  /** Delivers a notice (usually {@linkcode Notifier.send}). */
  send: SendNotice;
  /** Clock in milliseconds (tests); default `Date.now`. */
  now?: () => number;
  /** Pushes must fail this long before a notice (default 120). */
  failureGraceSeconds?: number;
  /** One notice per event kind and key per this many minutes (default 30). */
  throttleMinutes?: number;
  /** Host name shown in notices (default `Deno.hostname()`). */
  host?: string;
}

/** Daemon events the policy understands (structurally compatible with `EngineEvent` in lib/engine/engine.ts). */
export type PolicyEvent =
  | {
    type: "push-failed";
    remote: string;
    kind: string;
    message: string;
    since: Date | string | number;
    queued: number;
    label?: string;
  }
  | { type: "push-ok"; remote: string; queued: number; label?: string }
  | { type: "disk"; message: string }
  | { type: "crash-restart"; message: string }
  | { type: "behind"; id: string; ageSeconds: number }
  | { type: "caught-up"; id: string };

/** Details of a failing remote. */
export interface PushFailingInfo {
  /** When pushes started failing (health.json `failing_since`). */
  since: Date | string | number;
  /** Chunks waiting to be pushed. */
  queued: number;
  /** The last error (no secrets: it is redacted again anyway by the logger, not by the service). */
  message: string;
  /** Remote URL or name for people (default: the key). */
  label?: string;
}

/** Details of a successful push. */
export interface PushSucceededInfo {
  /** Chunks that were queued and are now pushed (or being pushed). */
  queued: number;
  /** Remote URL or name for people (default: the key). */
  label?: string;
}

/** Options for events that take a key. */
export interface EventOptions {
  /** What the event concerns, for the throttle (recording id, remote key). */
  key?: string;
}

interface Outage {
  since: number;
  notified: boolean;
  auth: boolean;
  queued: number;
  label: string;
}

interface Pending {
  notice: Notice;
  nextAt: number;
  attempts: number;
}

function toMillis(value: Date | string | number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  const parsed = Date.parse(value);
  return Number.isFinite(parsed) ? parsed : NaN;
}

/** "1 h 5 min", "3 min", "40 s". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 48) return rest ? `${hours} h ${rest} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return `${days} d ${hours % 24} h`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

const STATUS_HINT =
  "Run `deno task daemon-status` for details and `deno task daemon-logs` for the log.";

/**
 * When to notify. Pure apart from the injected `send` and clock:
 * - {@linkcode NotificationPolicy.pushFailing}: once pushes to a remote have
 *   failed longer than the grace period;
 * - {@linkcode NotificationPolicy.authRejected}: at once, high priority;
 * - {@linkcode NotificationPolicy.diskTrouble}, {@linkcode NotificationPolicy.crashRestart};
 * - {@linkcode NotificationPolicy.pushSucceeded}: a recovery notice, only
 *   after a failure notice was sent for that remote.
 *
 * At most one notice per event kind and key per throttle period. A notice
 * that could not be delivered for a passing reason (network) does not count
 * and is retried by {@linkcode NotificationPolicy.tick} (or replaced by the
 * next event of its kind).
 */
export class NotificationPolicy {
  #send: SendNotice;
  #now: () => number;
  #graceMs: number;
  #throttleMs: number;
  #host: string;
  #lastSent = new Map<string, number>();
  #outages = new Map<string, Outage>();
  #pending = new Map<string, Pending>();
  #behind = new Set<string>();

  /** Creates the policy. */
  constructor(options: NotificationPolicyOptions) {
    this.#send = options.send;
    this.#now = options.now ?? Date.now;
    this.#graceMs = (options.failureGraceSeconds ?? 120) * 1000;
    this.#throttleMs = (options.throttleMinutes ?? 30) * 60_000;
    let host = options.host;
    if (host === undefined) {
      try {
        host = Deno.hostname();
      } catch {
        host = "this machine";
      }
    }
    this.#host = host;
  }

  /** Builds the policy from settings (`notify.*`) around a send function. */
  static fromSettings(
    settings: Pick<Settings, "notify">,
    options: Omit<NotificationPolicyOptions, "failureGraceSeconds" | "throttleMinutes">,
  ): NotificationPolicy {
    const notify = notifySettings(settings);
    return new NotificationPolicy({
      ...options,
      failureGraceSeconds: notify.failure_grace_seconds,
      throttleMinutes: notify.throttle_minutes,
    });
  }

  /** True while a failure notice for `remoteKey` is outstanding (sent, not yet recovered). */
  failureNotified(remoteKey: string): boolean {
    return this.#outages.get(remoteKey)?.notified ?? false;
  }

  #outage(remoteKey: string, since: number, label: string): Outage {
    let outage = this.#outages.get(remoteKey);
    if (!outage) {
      outage = { since, notified: false, auth: false, queued: 0, label };
      this.#outages.set(remoteKey, outage);
    } else if (Number.isFinite(since) && since < outage.since) {
      outage.since = since;
    }
    outage.label = label;
    return outage;
  }

  #throttled(notice: Notice): boolean {
    const last = this.#lastSent.get(`${notice.kind}\0${notice.key}`);
    return last !== undefined && this.#now() - last < this.#throttleMs;
  }

  /** Sends unless throttled; returns the notice when it was delivered (or could never be). */
  async #emit(notice: Notice, throttle = true): Promise<Notice | undefined> {
    const id = `${notice.kind}\0${notice.key}`;
    if (throttle && this.#throttled(notice)) return undefined;
    this.#pending.delete(id);
    // Reserve the slot first so that concurrent events cannot both send.
    const previous = this.#lastSent.get(id);
    this.#lastSent.set(id, this.#now());
    let result: DeliveryResult | void;
    try {
      result = await this.#send(notice);
    } catch (error) {
      log("notify").warn("notification failed: {error}", { error: errorText(error) });
      result = { delivered: false, permanent: false, results: [] };
    }
    if (!result || result.delivered || result.permanent) return notice;
    if (previous === undefined) this.#lastSent.delete(id);
    else this.#lastSent.set(id, previous);
    this.#pending.set(id, { notice, nextAt: this.#now() + 60_000, attempts: 1 });
    return undefined;
  }

  /**
   * Dispatches a daemon event (the shape of `EngineEvent` in lib/engine/engine.ts):
   * `push-failed` with kind `auth` goes to {@linkcode NotificationPolicy.authRejected},
   * other kinds to {@linkcode NotificationPolicy.pushFailing} (kind `disk`
   * also to {@linkcode NotificationPolicy.diskTrouble}); `push-ok` to
   * {@linkcode NotificationPolicy.pushSucceeded}; `disk` to diskTrouble;
   * `crash-restart` to crashRestart. Never throws.
   */
  async handleEvent(event: PolicyEvent): Promise<Notice | undefined> {
    try {
      switch (event.type) {
        case "push-failed":
          if (event.kind === "auth") return await this.authRejected(event.remote, event.message);
          if (event.kind === "disk") await this.diskTrouble(event.message);
          return await this.pushFailing(event.remote, {
            since: event.since,
            queued: event.queued,
            message: event.message,
            label: event.label,
          });
        case "push-ok":
          return await this.pushSucceeded(event.remote, {
            queued: event.queued,
            label: event.label,
          });
        case "disk":
          return await this.diskTrouble(event.message);
        case "crash-restart":
          return await this.crashRestart(event.message);
        case "behind":
          return await this.behind(event.id, event.ageSeconds);
        case "caught-up":
          return await this.caughtUp(event.id);
      }
    } catch (error) {
      log("notify").warn("notification policy failed: {error}", { error: errorText(error) });
    }
    return undefined;
  }

  /**
   * Pushes to `remoteKey` are failing. Notifies once they have failed longer
   * than the grace period (then at most once per throttle period). Returns
   * the notice sent, if any.
   */
  async pushFailing(remoteKey: string, info: PushFailingInfo): Promise<Notice | undefined> {
    const since = toMillis(info.since);
    const outage = this.#outage(
      remoteKey,
      Number.isFinite(since) ? since : this.#now(),
      info.label ?? remoteKey,
    );
    outage.queued = info.queued;
    if (outage.auth) return undefined; // the token notice covers it
    const failingMs = this.#now() - outage.since;
    if (failingMs < this.#graceMs) return undefined;
    const notice: Notice = {
      kind: "push_failing",
      key: remoteKey,
      title: `asciinema backup failing on ${this.#host}`,
      message: `Backups to ${outage.label} have failed for ${formatDuration(failingMs)}; ` +
        `${plural(info.queued, "chunk")} queued and kept safe on this machine.\n` +
        `Last error: ${truncate(info.message, 400)}\n${STATUS_HINT}`,
      priority: "normal",
      tags: ["warning"],
    };
    const sent = await this.#emit(notice);
    if (sent) outage.notified = true;
    return sent;
  }

  /** The remote rejected the token: notifies at once, high priority. */
  async authRejected(remoteKey: string, message: string): Promise<Notice | undefined> {
    const outage = this.#outage(
      remoteKey,
      this.#now(),
      this.#outages.get(remoteKey)?.label ?? remoteKey,
    );
    outage.auth = true;
    const notice: Notice = {
      kind: "auth_rejected",
      key: remoteKey,
      title: `asciinema backup: token rejected on ${this.#host}`,
      message:
        `The remote ${outage.label} rejected the daemon's token, so nothing is being pushed. ` +
        `Recordings keep being saved and queued on this machine.\n` +
        `Error: ${truncate(message, 400)}\n` +
        "Store a new token with `deno task daemon-setup`; the daemon picks it up without a restart. " +
        "Check with `deno task daemon-status`.",
      priority: "high",
      tags: ["rotating_light", "key"],
    };
    const sent = await this.#emit(notice);
    if (sent) outage.notified = true;
    return sent;
  }

  /** Spool or disk trouble (write failed, disk full). */
  diskTrouble(message: string, options: EventOptions = {}): Promise<Notice | undefined> {
    return this.#emit({
      kind: "disk_trouble",
      key: options.key ?? "disk",
      title: `asciinema backup: disk trouble on ${this.#host}`,
      message: `The backup daemon cannot write its spool or state: ${truncate(message, 500)}\n` +
        `Free some disk space or fix the permissions of the asciinema home. ${STATUS_HINT}`,
      priority: "high",
      tags: ["floppy_disk", "warning"],
    });
  }

  /** The daemon started after a crash (health.json was not `stopped`). */
  crashRestart(message: string, options: EventOptions = {}): Promise<Notice | undefined> {
    return this.#emit({
      kind: "crash_restart",
      key: options.key ?? "daemon",
      title: `asciinema backup restarted after a crash on ${this.#host}`,
      message:
        `${
          truncate(message, 600)
        }\nNo data is lost: recordings resume from their last checkpoint. ` +
        STATUS_HINT,
      priority: "normal",
      tags: ["recycle"],
    });
  }

  /**
   * Recording `id` has bytes older than `behind_minutes` that are not on the
   * remote: pushes stall while the terminal keeps writing. Throttled like the
   * others; {@linkcode NotificationPolicy.caughtUp} ends it.
   */
  async behind(id: string, ageSeconds: number): Promise<Notice | undefined> {
    const sent = await this.#emit({
      kind: "behind",
      key: id,
      title: `asciinema backup falling behind on ${this.#host}`,
      message:
        `Recording ${id} has ${
          formatDuration(ageSeconds * 1000)
        } of output that is not on the remote yet; it stays safe on this machine meanwhile.\n` +
        STATUS_HINT,
      priority: "normal",
      tags: ["hourglass"],
    });
    if (sent) this.#behind.add(id);
    return sent;
  }

  /** Recording `id` is caught up again: a notice only when a behind notice went out. */
  async caughtUp(id: string): Promise<Notice | undefined> {
    this.#pending.delete(`behind\0${id}`);
    this.#lastSent.delete(`behind\0${id}`);
    if (!this.#behind.delete(id)) return undefined;
    return await this.#emit({
      kind: "caught_up",
      key: id,
      title: `asciinema backup caught up on ${this.#host}`,
      message:
        `Recording ${id} is backed up as it goes again. Check with \`deno task daemon-status\`.`,
      priority: "low",
      tags: ["white_check_mark"],
    }, false);
  }

  /**
   * A push to `remoteKey` worked. Sends a recovery notice only when a
   * failure notice was sent for this outage; clears the outage either way.
   */
  async pushSucceeded(remoteKey: string, info: PushSucceededInfo): Promise<Notice | undefined> {
    const outage = this.#outages.get(remoteKey);
    if (!outage) return undefined;
    this.#outages.delete(remoteKey);
    for (const kind of ["push_failing", "auth_rejected"]) {
      this.#pending.delete(`${kind}\0${remoteKey}`);
      this.#lastSent.delete(`${kind}\0${remoteKey}`);
    }
    if (!outage.notified) return undefined;
    const queued = Math.max(info.queued, outage.queued);
    const label = info.label ?? outage.label;
    return await this.#emit({
      kind: "recovered",
      key: remoteKey,
      title: `asciinema backup working again on ${this.#host}`,
      message:
        `Backups to ${label} work again after ${
          formatDuration(this.#now() - outage.since)
        } down; ` +
        `${plural(queued, "chunk")} that were queued are being pushed.\n` +
        "Check with `deno task daemon-status`.",
      priority: "normal",
      tags: ["white_check_mark"],
    }, false);
  }

  /**
   * Retries notices that could not be delivered for a passing reason (every
   * minute at first, backing off to 30 minutes). Call it from the daemon loop.
   */
  async tick(): Promise<void> {
    const now = this.#now();
    for (const [id, pending] of [...this.#pending]) {
      if (pending.nextAt > now) continue;
      this.#pending.delete(id);
      let result: DeliveryResult | void;
      try {
        result = await this.#send(pending.notice);
      } catch {
        result = { delivered: false, permanent: false, results: [] };
      }
      if (!result || result.delivered || result.permanent) {
        this.#lastSent.set(id, this.#now());
        const outage = this.#outages.get(pending.notice.key);
        const kind = pending.notice.kind;
        if (outage && (kind === "push_failing" || kind === "auth_rejected")) {
          outage.notified = true;
        }
      } else if (!this.#pending.has(id)) {
        const delay = Math.min(60_000 * 2 ** pending.attempts, 30 * 60_000);
        this.#pending.set(id, {
          ...pending,
          nextAt: this.#now() + delay,
          attempts: pending.attempts + 1,
        });
      }
    }
  }
}
