/**
 * Applies a sequence's operations to a real daemon in a hermetic test home
 * and keeps the model of what was written. Acts like a service manager:
 * a daemon that dies by itself (an armed failpoint) is started again.
 *
 * @module
 */
import { join } from "node:path";
import { makeTestHome, type TestHome } from "../support/env.ts";
import { writeConfig } from "../support/daemon.ts";
import { appendBytes, completeLine, contentOf, exitBytes, Model } from "./model.ts";
import type { Incarnation } from "./model.ts";
import type { Op, Sequence } from "./ops.ts";
import { mixSeed, mulberry32 } from "./prng.ts";
import { command, DAEMON_TS } from "./proc.ts";
import { BRANCH, Remote } from "./remote.ts";
import { clockFile, findFaketime, Supervisor } from "./supervisor.ts";

/** Daemon settings: react within a fraction of a second, cut small chunks. */
export const TORTURE_SETTINGS = {
  idle_threshold: 0.1,
  max_chunk_bytes: 1024,
  max_chunk_seconds: 1,
  retry_max_seconds: 1,
  scan_interval_seconds: 0.5,
  heartbeat_seconds: 1,
} as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** One sequence's test home, remote, daemon and model. */
export class World {
  /** What the harness wrote. */
  readonly model: Model;
  /** The operation log (what ran, what was skipped, what the daemon did by itself). */
  readonly log: string[] = [];
  readonly #sequence: Sequence;
  readonly #print?: (line: string) => void;
  readonly #faketime?: string;
  #t!: TestHome;
  #remote!: Remote;
  #daemon!: Supervisor;
  #lastStderr = "";
  readonly #began = performance.now();

  /** A world for `sequence`; `print` sees every log line as it happens. */
  constructor(sequence: Sequence, options: { print?: (line: string) => void } = {}) {
    this.#sequence = sequence;
    this.#print = options.print;
    this.model = new Model(`torture s${sequence.seed}`);
    if (sequence.usesClock) this.#faketime = findFaketime();
  }

  /** The test home. */
  get home(): TestHome {
    return this.#t;
  }

  /** The bare remote. */
  get remote(): Remote {
    return this.#remote;
  }

  /** Things that are wrong whatever the oracle says (a daemon that crashed by itself). */
  get problems(): string[] {
    return this.#daemon?.problems ?? [];
  }

  /** Stderr of the last daemon run (for failure reports). */
  get lastStderr(): string {
    return this.#lastStderr || (this.#daemon?.lastStderr ?? "");
  }

  /** Stderr of the last serving daemon (before the drain), for failure reports. */
  get daemonStderr(): string {
    return this.#daemon?.lastStderr ?? "";
  }

  #note(line: string): void {
    line = `${String(Math.round(performance.now() - this.#began)).padStart(5)}ms ${line}`;
    this.log.push(line);
    this.#print?.(line);
  }

  #cast(rec: string): string {
    return join(this.#t.paths.active, `${rec}.cast`);
  }

  #json(rec: string): string {
    return join(this.#t.paths.active, `${rec}.json`);
  }

  /** Creates the home, the remote and config.json. */
  async setup(): Promise<void> {
    this.#t = await makeTestHome("torture-");
    this.#remote = new Remote(this.#t.root);
    await this.#remote.init();
    await writeConfig(this.#t.paths.home, {
      ...TORTURE_SETTINGS,
      repo_url: this.#remote.path,
      branch: BRANCH,
    });
    await Deno.mkdir(this.#t.paths.active, { recursive: true });
    await Deno.mkdir(join(this.#t.root, "staging"), { recursive: true });
    await Deno.writeTextFile(clockFile(this.#t.root), "+0\n");
    this.#daemon = new Supervisor({
      env: this.#t.env,
      healthPath: this.#t.paths.health,
      faketime: this.#faketime
        ? { library: this.#faketime, clockFile: clockFile(this.#t.root) }
        : undefined,
      note: (line) => this.#note(line),
    });
  }

  /** Runs operation number `index`. */
  async apply(op: Op, index: number): Promise<void> {
    const random = mulberry32(mixSeed(this.#sequence.seed, index + 1));
    switch (op.kind) {
      case "create":
        return await this.#create(op, random);
      case "append": {
        const inc = this.#live(op.rec, index);
        if (!inc) return;
        const bytes = appendBytes(inc, random, op);
        if (op.lines < 15) return await this.#appendFile(op.rec, bytes);
        // A burst: several writes in quick succession, cut anywhere.
        let at = 0;
        while (at < bytes.length) {
          const end = Math.min(bytes.length, at + random.int(1, Math.ceil(bytes.length / 3)));
          await this.#appendFile(op.rec, bytes.subarray(at, end));
          at = end;
          await sleep(random.int(0, 12));
        }
        return;
      }
      case "pause":
        return await sleep(op.ms);
      case "replace":
      case "rewrite": {
        const old = this.#live(op.rec, index);
        if (!old) return;
        const inc = this.#begin(
          op.rec,
          { version: old.version, origin: op.kind },
          op.lines,
          random,
        );
        const bytes = contentOf(inc);
        if (op.kind === "replace") {
          const temp = join(this.#t.root, "staging", `${index}.cast`);
          await Deno.writeFile(temp, bytes);
          await Deno.rename(temp, this.#cast(op.rec));
        } else {
          const file = await Deno.open(this.#cast(op.rec), { write: true, truncate: true });
          try {
            await file.write(bytes).then(() => file.syncData());
          } finally {
            file.close();
          }
        }
        return;
      }
      case "remove":
        if (!this.#live(op.rec, index)) return;
        await Deno.remove(this.#cast(op.rec));
        this.model.remove(op.rec);
        return;
      case "end":
        return await this.#end(op, index);
      case "start":
        return await this.#daemon.start();
      case "stop":
        return await this.#daemon.stop();
      case "kill":
        await sleep(op.afterMs);
        return await this.#daemon.kill();
      case "failpoint":
        return this.#daemon.arm(`${op.name}:${op.n}`);
      case "remote":
        return await this.#remote.set(op.mode);
      case "clock":
        if (!this.#faketime) return this.#note("  (skipped: libfaketime is not installed)");
        await Deno.writeTextFile(
          clockFile(this.#t.root),
          `${op.offsetSeconds >= 0 ? "+" : ""}${op.offsetSeconds}\n`,
        );
        return;
    }
  }

  /** Runs `op` with its log line, then restarts a daemon that died on its own. */
  async step(op: Op, index: number, describe: string): Promise<void> {
    this.#note(`${String(index).padStart(2)} ${describe}`);
    await this.apply(op, index);
    await this.#daemon.supervise();
  }

  #live(rec: string, index: number): Incarnation | undefined {
    const inc = this.model.current.get(rec);
    if (!inc || inc.ended) {
      this.#note(`  (skipped at ${index}: ${rec} is ${inc ? "finished" : "absent"})`);
      return undefined;
    }
    return inc;
  }

  #begin(
    rec: string,
    options: { version: 2 | 3; origin: Incarnation["origin"] },
    lines: number,
    random: ReturnType<typeof mulberry32>,
  ): Incarnation {
    const inc = this.model.begin(rec, options);
    if (lines > 0) appendBytes(inc, random, { lines, partial: false, big: false });
    return inc;
  }

  async #appendFile(rec: string, bytes: Uint8Array): Promise<void> {
    const file = await Deno.open(this.#cast(rec), { append: true });
    try {
      let at = 0;
      while (at < bytes.length) at += await file.write(bytes.subarray(at));
    } finally {
      file.close();
    }
  }

  async #writeJson(rec: string, fields: Record<string, unknown>): Promise<void> {
    const text = JSON.stringify({
      repo_url: this.#remote.path,
      branch: BRANCH,
      started: "2026-01-02T03:04:05Z",
      ...fields,
    });
    const temp = join(this.#t.root, "staging", `${rec}.json`);
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, this.#json(rec));
    this.model.json.set(rec, text);
  }

  async #create(
    op: Extract<Op, { kind: "create" }>,
    random: ReturnType<typeof mulberry32>,
  ): Promise<void> {
    const previous = this.model.incarnations.findLast((inc) => inc.rec === op.rec);
    if (this.model.current.has(op.rec) && !previous?.ended) {
      return this.#note(`  (skipped: ${op.rec} exists)`);
    }
    if (previous?.ended) {
      // Reuse only once the finished files have left active/ (the daemon moves them to done/).
      const gone = async () =>
        !(await exists(this.#cast(op.rec))) && !(await exists(this.#json(op.rec)));
      const deadline = Date.now() + (this.#daemon.running ? 8_000 : 0);
      while (!(await gone()) && Date.now() < deadline) await sleep(50);
      if (!(await gone())) {
        return this.#note(`  (skipped: finished ${op.rec} has not been moved to done/)`);
      }
      this.model.json.delete(op.rec);
    }
    if (op.json) await this.#writeJson(op.rec, { torture: `s${this.#sequence.seed} #${op.rec}` });
    const origin = previous?.ended ? "reuse" : previous ? "recreate" : "create";
    const inc = this.#begin(op.rec, { version: op.version, origin }, op.lines, random);
    await Deno.writeFile(this.#cast(op.rec), contentOf(inc), { createNew: true });
  }

  async #end(op: Extract<Op, { kind: "end" }>, index: number): Promise<void> {
    const inc = this.#live(op.rec, index);
    if (!inc) return;
    if (op.how === "exit" && inc.version === 3) {
      await this.#appendFile(op.rec, exitBytes(inc));
    } else {
      await this.#appendFile(op.rec, completeLine(inc));
      const previous = this.model.json.get(op.rec);
      const fields = previous ? JSON.parse(previous) : {};
      await this.#writeJson(op.rec, { ...fields, ended: new Date().toISOString() });
    }
    inc.ended = true;
    inc.json = this.model.json.get(op.rec) ?? null;
  }

  /** Heals every fault, completes every partial line and stops the daemon. */
  async heal(): Promise<void> {
    await this.#daemon.stop();
    this.#note("-- heal: daemon stopped, remote ok, partial lines completed");
    await this.#remote.set("ok");
    for (const [rec, inc] of this.model.current) {
      if (!inc.ended && inc.pending) await this.#appendFile(rec, completeLine(inc));
    }
  }

  /** `daemon.ts run --once` until it exits 0 (at most 3 times); false when it never did. */
  async drain(): Promise<boolean> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const out = await command(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", DAEMON_TS, "run", "--once"],
        env: this.#t.env,
        timeoutMs: 60_000,
      });
      this.#lastStderr = out.stderr;
      this.#note(`-- drain ${attempt}: run --once exited ${out.timedOut ? "(timeout)" : out.code}`);
      if (out.code === 0) return true;
    }
    return false;
  }

  /** Kills any daemon still running and removes the home unless `keep`. */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    await this.#daemon?.kill();
    if (!options.keep && this.#t) await this.#t.cleanup();
  }
}
