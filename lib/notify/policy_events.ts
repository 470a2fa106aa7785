/**
 * What {@linkcode NotificationPolicy} is told: the daemon's events and their
 * details, and how it sends.
 *
 * @module
 */
import type { Clock } from "../sys/mod.ts";
import type { DeliveryResult, Notice } from "./notice.ts";

/** Sends a notice; the policy's only way out. */
export type SendNotice = (notice: Notice) => Promise<DeliveryResult | void> | DeliveryResult | void;

/** Options for {@linkcode NotificationPolicy}. */
export interface NotificationPolicyOptions {
  /** Delivers a notice (usually {@linkcode Notifier.send}). */
  send: SendNotice;
  /** The clock (default the process's; tests step it). */
  clock?: Clock;
  /** Pushes must fail this long before a notice (default 120). */
  failureGraceSeconds?: number;
  /** One notice per event kind and key per this many minutes (default 30). */
  throttleMinutes?: number;
  /** Host name shown in notices (default `Deno.hostname()`). */
  host?: string;
}

/** Daemon events the policy understands (structurally compatible with `EngineEvent` in lib/engine/core/options.ts). */
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
  | { type: "caught-up"; id: string }
  | { type: "public-refused"; id: string; message: string };

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
