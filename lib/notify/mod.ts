/**
 * Push notifications: what a notice is (`notice.ts`), one file per backend
 * (`pushover.ts`, `ntfy.ts`), the dispatch to every configured backend
 * (`dispatch.ts`) and the policy: grace, throttle, recovery (`policy.ts`).
 *
 * @module
 */
export { type GetSecret, type Notice } from "./notice.ts";
export { describeUrl } from "./http.ts";
export { PUSHOVER_MESSAGE_MAX, pushoverBackend } from "./pushover.ts";
export { ntfyBackend } from "./ntfy.ts";
export { createNotifier, Notifier, notifySettings } from "./dispatch.ts";
export { createNotificationPolicy, NotificationPolicy } from "./policy.ts";
