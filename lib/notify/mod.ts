/**
 * Push notifications: the Pushover and ntfy backends, the dispatch to every
 * configured backend, and the policy (grace, throttle, recovery).
 *
 * @module
 */
export * from "./notifier.ts";
