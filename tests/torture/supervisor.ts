/**
 * The torture harness's service manager: starts `daemon.ts run` (with an
 * armed failpoint and libfaketime when asked), waits until it is up, stops
 * or kills it, and starts it again when it died on its own, recording every
 * exit that no fault explains.
 *
 * @module
 */
import { join } from "node:path";
import { type Daemon, spawnDaemon, stopDaemon } from "./proc.ts";
import { FAILPOINT_FLAG } from "../../lib/engine/mod.ts";

/** No daemon run may outlive this. */
export const DAEMON_HARD_TIMEOUT_MS = 60_000;
/**
 * How long a daemon may take to stop on SIGTERM before it counts as hung: a
 * guard, not a measure (the daemon stops in about two seconds; a test run
 * under `nice` on a loaded machine may get a fraction of a core).
 */
const STOP_GRACE_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The last lines of `text`. */
export function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Where libfaketime is, if installed (TORTURE_FAKETIME_LIB overrides). */
export function findFaketime(): string | undefined {
  const candidates = [
    Deno.env.get("TORTURE_FAKETIME_LIB"),
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
    "/usr/local/lib/faketime/libfaketimeMT.so.1",
  ];
  return candidates.find((path) => {
    if (!path) return false;
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** Options for {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** The test home's environment. */
  env: Record<string, string>;
  /** health.json (the daemon is up once it names the daemon's pid). */
  healthPath: string;
  /** libfaketime to preload, reading its offset from `clockFile`. */
  faketime?: { library: string; clockFile: string };
  /** Writes a line to the operation log. */
  note: (line: string) => void;
}

/** Runs at most one daemon at a time for one test home. */
export class Supervisor {
  /** Exits that no fault explains (a crash, a daemon that ignored SIGTERM, a hard timeout). */
  readonly problems: string[] = [];
  /** Stderr of the last daemon that exited. */
  lastStderr = "";
  readonly #options: SupervisorOptions;
  #daemon: Daemon | null = null;
  #runningArmed: string | null = null;
  /** The last stop had to SIGKILL the daemon after the grace period. */
  #stopKilled = false;
  #armed: string | null = null;

  /** A supervisor with nothing running. */
  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  /** True while a daemon is (believed to be) running. */
  get running(): boolean {
    return this.#daemon !== null;
  }

  /** Arms `spec` (`<name>:<n>`) for the next start only. */
  arm(spec: string): void {
    this.#armed = spec;
  }

  /** Starts the daemon and waits (bounded) until its health.json names it. */
  async start(): Promise<void> {
    if (this.#daemon) return this.#options.note("  (skipped: the daemon is running)");
    const env = { ...this.#options.env };
    if (this.#armed) env.ASCIINEMA_FAILPOINT = this.#armed;
    const faketime = this.#options.faketime;
    if (faketime) {
      Object.assign(env, {
        LD_PRELOAD: faketime.library,
        FAKETIME_TIMESTAMP_FILE: faketime.clockFile,
        FAKETIME_NO_CACHE: "1",
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
      });
    }
    this.#runningArmed = this.#armed;
    this.#armed = null;
    const daemon = spawnDaemon(env, {
      hardTimeoutMs: DAEMON_HARD_TIMEOUT_MS,
      args: this.#runningArmed ? [FAILPOINT_FLAG] : [],
    });
    this.#daemon = daemon;
    // The event: health.json names this daemon, or it ended (an armed failpoint). However
    // slowly a loaded machine starts it; its hard timeout bounds the wait.
    while (!daemon.done()) {
      try {
        const health = JSON.parse(await Deno.readTextFile(this.#options.healthPath));
        if (health?.pid === daemon.pid) return;
      } catch {
        // not written yet (or being replaced)
      }
      await sleep(25);
    }
  }

  /** SIGTERM, then waits for the exit (SIGKILL after a grace period). */
  async stop(): Promise<void> {
    if (!this.#daemon) return;
    if (this.#daemon.done()) return await this.#reap("self");
    this.#stopKilled = (await stopDaemon(this.#daemon, STOP_GRACE_MS)).killed;
    await this.#reap("stop");
  }

  /** SIGKILL, as a crash or power cut would. */
  async kill(): Promise<void> {
    if (!this.#daemon) return;
    this.#daemon.signal("SIGKILL");
    await this.#reap("kill");
  }

  /** Starts the daemon again if it died on its own (an armed failpoint). */
  async supervise(): Promise<void> {
    if (this.#daemon?.done()) {
      await this.#reap("self");
      await this.start();
    }
  }

  async #reap(expected: "kill" | "stop" | "self"): Promise<void> {
    const daemon = this.#daemon!;
    const status = await daemon.exited;
    this.#daemon = null;
    this.lastStderr = daemon.stderr();
    const how = status.signal ?? `code ${status.code}`;
    if (daemon.timedOut()) {
      this.problems.push(`a daemon outlived the ${DAEMON_HARD_TIMEOUT_MS} ms hard timeout`);
    } else if (
      expected === "stop" && status.signal === "SIGKILL" && this.#runningArmed &&
      !this.#stopKilled
    ) {
      // The armed failpoint was reached while the daemon finished its work on the way out.
      this.#options.note(`  (daemon hit failpoint ${this.#runningArmed} while stopping)`);
    } else if (expected === "stop" && status.code !== 0 && status.signal !== "SIGTERM") {
      // (Killed by the SIGTERM itself is fine: it came before the daemon's handler was in place.)
      this.problems.push(`the daemon exited with ${how} on SIGTERM:\n${tail(daemon.stderr())}`);
    } else if (expected === "self") {
      if (status.signal === "SIGKILL" && this.#runningArmed) {
        this.#options.note(`  (daemon hit failpoint ${this.#runningArmed}; restarting it)`);
      } else {
        this.problems.push(`the daemon exited by itself with ${how}:\n${tail(daemon.stderr())}`);
      }
    }
  }
}

/** The clock file libfaketime reads under `root`. */
export function clockFile(root: string): string {
  return join(root, "clock");
}
