/**
 * Push notifications: what a notice is (`notice.ts`), one file per backend
 * (`pushover.ts`, `ntfy.ts`), the dispatch to every configured backend
 * (`dispatch.ts`) and the policy: grace, throttle, recovery (`policy.ts`).
 *
 * @module
 */
export * from "./notice.ts";
export { describeUrl } from "./http.ts";
export * from "./pushover.ts";
export * from "./ntfy.ts";
export * from "./dispatch.ts";
export * from "./policy.ts";
export * from "./policy_events.ts";
