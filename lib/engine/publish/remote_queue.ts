/**
 * One queue per remote: its work (resume look-ups, then publishing) runs one
 * job at a time, off the engine's tick, so a slow, hanging or failing remote
 * never delays a recording or another remote. A failure is recorded with its
 * kind and retried with backoff; nothing thrown here escapes.
 *
 * @module
 */
import { type Clock, nextRetry, type Retry, withTimeout } from "../../sys/mod.ts";
import type { ErrorKind } from "../../git/mod.ts";

/** A failure the queue understands: a kind and a message. */
export interface QueueFailure {
  /** What kind of failure. */
  kind: ErrorKind;
  /** For people. */
  message: string;
}

/** What the queue asks of its owner (the engine's `Remote`). */
export interface QueueOwner {
  /**
   * Publishes one bounded batch; true when more work is left, `"idle"` when
   * there was nothing to publish (neither a success nor a failure). Throws to fail.
   */
  publish(): Promise<boolean | "idle">;
  /** Turns a thrown value into a failure. */
  classify(error: unknown): QueueFailure;
  /** Called after each failure and each recovery (health, notifications). */
  changed(failure: QueueFailure | null): void;
  /**
   * The earliest time (monotonic ms) the waiting work may be published, given
   * when a publish last worked (null: never): work that may wait to share a
   * push says so here; 0 or less: now.
   */
  notBefore(lastSuccess: number | null): number;
}

/** Options for {@linkcode RemoteQueue}. */
export interface RemoteQueueOptions {
  /** Whose work the queue runs. */
  owner: QueueOwner;
  /** The clock (monotonic for backoff). */
  clock: Clock;
  /** Longest backoff, seconds. */
  capSeconds: number;
  /** Batches in one run before yielding to the event loop (default 16). */
  batchesPerRun?: number;
}

/** Serial work and backoff for one remote. */
export class RemoteQueue {
  /** The remote's key (its clone's folder name). */
  readonly key: string;
  /** The current retry, or null when the last attempt worked. */
  retry: Retry | null = null;
  /** The kind of the last failure. */
  errorKind: ErrorKind | null = null;
  /** When failures began (monotonic), or null. */
  failingSince: number | null = null;
  /** When a push last worked (monotonic), or null. */
  lastSuccess: number | null = null;
  #options: RemoteQueueOptions;
  #jobs: { run: () => Promise<void>; reports: boolean }[] = [];
  #wanted = false;
  #running: Promise<void> | null = null;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;

  /** Creates the queue (idle until {@linkcode RemoteQueue.kick}). */
  constructor(key: string, options: RemoteQueueOptions) {
    this.key = key;
    this.#options = options;
  }

  /** True while a job or batch runs. */
  get busy(): boolean {
    return this.#running !== null;
  }

  /**
   * Adds a one-off job (a look-up, a check); it runs before the next
   * publishing batch. With `reports`, a job that throws is a failure of the
   * remote like a failed push (backoff, health, notices) and one that works
   * ends such a failure.
   */
  enqueue(job: () => Promise<void>, options: { reports?: boolean } = {}): void {
    this.#jobs.push({ run: job, reports: options.reports ?? false });
    this.kick({ now: true });
  }

  /** Asks for a publish run: now, or when the backoff ends (`now` overrides the backoff). */
  kick(options: { now?: boolean } = {}): void {
    if (this.#stopped) return;
    this.#wanted = true;
    if (this.#running) return;
    const due = options.now || this.#jobs.length ? 0 : this.#due() - this.#options.clock.now();
    if (due > 0) {
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.kick({ now: true });
        }, due);
      }
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#run({ force: options.now && this.#jobs.length === 0 }).finally(() => {
      this.#running = null;
      if ((this.#wanted || this.#jobs.length) && !this.#stopped) this.kick();
    });
  }

  /** When the next run may start (monotonic): after a backoff, or when the work may go. */
  #due(): number {
    if (this.retry) return this.retry.at;
    return this.#options.owner.notBefore(this.lastSuccess);
  }

  /**
   * One run: the queued jobs (look-ups, checks) and the publishing batches
   * take turns, so a long look-up never holds back chunks already cut, and
   * new work never starves it. Publishing waits for its time (`notBefore`,
   * a backoff) unless the run was forced.
   */
  async #run(options: { force?: boolean } = {}): Promise<void> {
    const most = this.#options.batchesPerRun ?? 16;
    let batches = 0;
    let failed = false;
    const mayPublish = () =>
      this.#wanted && batches < most && !failed && !this.#stopped &&
      (options.force || this.#due() <= this.#options.clock.now());
    // Bounded: every pass runs a job or a batch (at most `most`), or the run ends.
    for (let pass = 0; pass < most + 256 && !this.#stopped; pass++) {
      const job = this.#jobs.shift();
      if (job) {
        try {
          await job.run();
          if (job.reports) this.#succeed({ published: false });
        } catch (error) {
          if (this.#stopped) return;
          if (job.reports) {
            failed = true;
            this.#fail(this.#options.owner.classify(error));
          }
        }
      }
      if (mayPublish()) {
        this.#wanted = false;
        batches++;
        let more = false;
        try {
          const outcome = await this.#options.owner.publish();
          more = outcome === true;
          if (outcome !== "idle") this.#succeed({ published: true });
        } catch (error) {
          if (this.#stopped) return;
          failed = true;
          this.#fail(this.#options.owner.classify(error));
        }
        // A batch cut short by its size goes on; work that came meanwhile waits for the
        // next run, which keeps the push interval.
        if (more) this.#wanted = true;
      }
      if (!this.#jobs.length && !mayPublish()) return;
    }
    // Still wanted after the bounded run: the finally hands it to a new run.
  }

  #succeed(options: { published: boolean }): void {
    const recovered = this.retry !== null;
    this.retry = null;
    this.errorKind = null;
    this.failingSince = null;
    if (options.published) this.lastSuccess = this.#options.clock.now();
    if (recovered) this.#options.owner.changed(null);
  }

  #fail(failure: QueueFailure): void {
    const now = this.#options.clock.now();
    const needsPerson = failure.kind === "auth" || failure.kind === "config";
    this.retry = nextRetry(this.retry, {
      now,
      error: failure.message,
      capSeconds: this.#options.capSeconds,
    });
    if (needsPerson) this.retry.at = now + this.#options.capSeconds * 1000;
    this.errorKind = failure.kind;
    this.failingSince ??= now;
    this.#wanted = false;
    this.#options.owner.changed(failure);
    // A new run (after this one) waits for the backoff.
    this.#wanted = true;
  }

  /** Stops: no new runs; waits up to `graceMs` for the current one. */
  async stop(graceMs = 1500): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#running) return;
    await withTimeout(this.#running, graceMs);
  }

  /** Waits until no run is going and none is wanted now (for `run --once`). */
  async settle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
