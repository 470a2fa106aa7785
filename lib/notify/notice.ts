/**
 * What a notice is and what a backend answers: the types every part of
 * lib/notify/ shares.
 *
 * @module
 */

/** Timeout of one notification request. */
export const NOTIFY_TIMEOUT_MS = 10_000;

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
  | "caught_up"
  | "public_refused";

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

/** One way a notice leaves the machine (Pushover, ntfy): sends it and says how it went. */
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
