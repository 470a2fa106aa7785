/**
 * {@linkcode NotificationPolicy}, the clock-injectable policy the daemon
 * calls: grace period, throttle, recovery notices, retries of notices that
 * could not be delivered.
 *
 * @module
 */
import {
  backoffMs,
  type Clock,
  formatDuration,
  log,
  type Settings,
  steadyWall,
  systemClock,
} from "../sys/mod.ts";
import { createNotifier, type CreateNotifierOptions, notifySettings } from "./dispatch.ts";
import { errorText, truncate } from "./http.ts";
import type { DeliveryResult, Notice } from "./notice.ts";
import type {
  EventOptions,
  NotificationPolicyOptions,
  PolicyEvent,
  PushFailingInfo,
  PushSucceededInfo,
  SendNotice,
} from "./policy_events.ts";

/** Options for {@linkcode createNotificationPolicy}. */
export interface CreatePolicyOptions extends CreateNotifierOptions {
  /** The clock (default the process's; tests step it). */
  clock?: Clock;
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
    clock: options.clock,
    host: options.host,
  });
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
    // Wall time that advances with the monotonic clock: throttles, grace periods and retries
    // are durations and must not jump when the wall clock steps; it still compares with the
    // wall times events carry (`since`).
    this.#now = steadyWall(options.clock ?? systemClock);
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
   * Dispatches a daemon event (the shape of `EngineEvent` in lib/engine/core/options.ts):
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
        case "public-refused":
          return await this.publicRefused(event.id, event.message);
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

  /**
   * Recording `id` is held back because its remote is a public GitHub
   * repository (or its visibility is unknown): at once, high priority,
   * throttled per recording.
   */
  publicRefused(id: string, message: string): Promise<Notice | undefined> {
    return this.#emit({
      kind: "public_refused",
      key: id,
      title: `asciinema backup held back on ${this.#host}`,
      message: `Recording ${id} is not pushed: ${truncate(message, 700)}\n` +
        "It stays safe in the spool on this machine. " + STATUS_HINT,
      priority: "high",
      tags: ["lock", "warning"],
    });
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
        this.#pending.set(id, {
          ...pending,
          nextAt: this.#now() +
            backoffMs(pending.attempts + 1, { firstSeconds: 60, capSeconds: 1800 }),
          attempts: pending.attempts + 1,
        });
      }
    }
  }
}
