/**
 * One "machine" of a torture sequence: a test home with its own daemon
 * (supervised) and its own model of what was written there. Two machines
 * share the remote and the recording names, like two laptops of one person.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../../lib/sys/mod.ts";
import { makeTestHome, type TestHome } from "../support/env.ts";
import { writeConfig } from "../support/daemon.ts";
import {
  appendBytes,
  completeLine,
  contentOf,
  exitBytes,
  type Incarnation,
  Model,
} from "./model.ts";
import type { Prng } from "./prng.ts";
import { command, DAEMON_TS } from "./proc.ts";
import { BRANCH } from "./remote.ts";
import { clockFile, Supervisor } from "./supervisor.ts";

/** Daemon settings: react within a fraction of a second, cut small chunks, check the remote often. */
export const TORTURE_SETTINGS = {
  idle_threshold: 0.1,
  max_chunk_bytes: 1024,
  max_chunk_seconds: 1,
  retry_max_seconds: 1,
  scan_interval_seconds: 0.5,
  heartbeat_seconds: 1,
  verify_interval_seconds: 1,
  push_timeout_seconds: 3,
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A machine: its home, daemon and model. */
export class Machine {
  /** What was written on this machine. */
  readonly model: Model;
  /** Its name in the operation log. */
  readonly name: string;
  /** `.json` texts hidden behind a FIFO, by recording (restored by heal). */
  readonly fifos = new Map<string, string | null>();
  #t!: TestHome;
  #daemon!: Supervisor;
  #lastStderr = "";

  /** A machine named `name` whose headers carry `tag`. */
  constructor(name: string, tag: string) {
    this.name = name;
    this.model = new Model(tag);
  }

  /** Its test home. */
  get home(): TestHome {
    return this.#t;
  }

  /** Its daemon. */
  get daemon(): Supervisor {
    return this.#daemon;
  }

  /** Stderr of its last `run --once`, else of its last daemon. */
  get lastStderr(): string {
    return this.#lastStderr || (this.#daemon?.lastStderr ?? "");
  }

  /** Creates the home and config.json; the daemon starts on request. */
  async setup(
    remote: string,
    options: { faketime?: string; note: (line: string) => void },
  ): Promise<void> {
    this.#t = await makeTestHome(`torture-${this.name}-`);
    await writeConfig(this.#t.paths.home, {
      ...TORTURE_SETTINGS,
      repo_url: remote,
      branch: BRANCH,
    });
    await Deno.mkdir(this.#t.paths.active, { recursive: true });
    await Deno.mkdir(join(this.#t.root, "staging"), { recursive: true });
    await Deno.writeTextFile(clockFile(this.#t.root), "+0\n");
    this.#daemon = new Supervisor({
      env: this.#t.env,
      healthPath: this.#t.paths.health,
      faketime: options.faketime
        ? { library: options.faketime, clockFile: clockFile(this.#t.root) }
        : undefined,
      note: options.note,
    });
  }

  /** The `.cast` of `rec`. */
  cast(rec: string): string {
    return join(this.#t.paths.active, `${rec}.cast`);
  }

  /** The `.json` of `rec`. */
  json(rec: string): string {
    return join(this.#t.paths.active, `${rec}.json`);
  }

  /** Appends `bytes` to `rec`'s `.cast`. */
  async append(rec: string, bytes: Uint8Array): Promise<void> {
    const file = await Deno.open(this.cast(rec), { append: true });
    try {
      let at = 0;
      while (at < bytes.length) at += await file.write(bytes.subarray(at));
    } finally {
      file.close();
    }
  }

  /** Starts a new incarnation of `rec` with `lines` lines and writes it (a new file). */
  async create(rec: string, version: 2 | 3, lines: number, random: Prng): Promise<Incarnation> {
    const inc = this.model.begin(rec, { version, origin: "create" });
    if (lines > 0) appendBytes(inc, random, { lines, partial: false, big: false });
    await Deno.writeFile(this.cast(rec), contentOf(inc), { createNew: true });
    return inc;
  }

  /** Ends `inc` with the v3 exit event. */
  async exit(inc: Incarnation): Promise<void> {
    await this.append(inc.rec, exitBytes(inc));
    inc.ended = true;
    inc.json = this.model.json.get(inc.rec) ?? null;
  }

  /** Writes `rec`'s `.json` by rename (the text goes into the model). */
  async writeJson(rec: string, text: string): Promise<void> {
    const temp = join(this.#t.root, "staging", `${rec}.json`);
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, this.json(rec));
    this.model.json.set(rec, text);
    this.fifos.delete(rec);
  }

  /** Replaces `rec`'s `.json` with a FIFO (its text is put back by {@linkcode Machine.heal}). */
  async fifo(rec: string): Promise<void> {
    if (this.fifos.has(rec)) return;
    this.fifos.set(rec, this.model.json.get(rec) ?? null);
    await Deno.remove(this.json(rec)).catch(() => {});
    const made = await command("mkfifo", {
      args: [this.json(rec)],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      timeoutMs: 10_000,
    });
    if (made.code !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  }

  /** Loses `state/`, `repos/` and `spool/` (the daemon must be stopped). */
  async wipe(): Promise<void> {
    for (const dir of [this.#t.paths.state, this.#t.paths.repos, this.#t.paths.spool]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** Stops the daemon, completes partial lines, puts back `.json` files hidden behind FIFOs. */
  async heal(): Promise<void> {
    await this.#daemon.stop();
    for (const [rec, inc] of this.model.current) {
      if (!inc.ended && inc.pending) await this.append(rec, completeLine(inc));
    }
    for (const [rec, text] of this.fifos) {
      await Deno.remove(this.json(rec)).catch(() => {});
      if (text !== null) await this.writeJson(rec, text);
    }
    this.fifos.clear();
  }

  /** One `daemon.ts run --once`; true when it exited 0. */
  async drainOnce(note: (line: string) => void, attempt: number): Promise<boolean> {
    const out = await command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", DAEMON_TS, "run", "--once"],
      env: this.#t.env,
      timeoutMs: 60_000,
    });
    this.#lastStderr = out.stderr;
    note(
      `-- drain ${this.name} ${attempt}: run --once exited ${
        out.timedOut ? "(timeout)" : out.code
      }`,
    );
    return out.code === 0;
  }

  /** Waits (bounded) until a finished `rec` has left active/; false when it has not. */
  async finishedGone(rec: string, waitMs: number): Promise<boolean> {
    const gone = async () => !(await exists(this.cast(rec))) && !(await exists(this.json(rec)));
    const deadline = Date.now() + waitMs;
    while (!(await gone()) && Date.now() < deadline) await sleep(50);
    return await gone();
  }

  /** Kills any daemon still running and removes the home unless `keep`. */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    await this.#daemon?.kill();
    if (!options.keep && this.#t) await this.#t.cleanup();
  }
}
