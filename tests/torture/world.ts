/**
 * Applies a sequence's operations to real daemons in hermetic test homes
 * and keeps the model of what was written on each machine. Acts like a
 * service manager: a daemon that dies by itself (an armed failpoint) is
 * started again.
 *
 * @module
 */
import { join } from "node:path";
import type { TestHome } from "../support/env.ts";
import { appendBytes, completeLine, contentOf, type Incarnation, type Model } from "./model.ts";
import { Machine, TORTURE_SETTINGS } from "./machine.ts";
import type { Op, Sequence } from "./ops.ts";
import { mixSeed, mulberry32 } from "./prng.ts";
import { Remote, resetBranch } from "./remote.ts";
import { clockFile, findFaketime } from "./supervisor.ts";
import { sweepFaketimeShm } from "./faketime_shm.ts";

export { TORTURE_SETTINGS };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One sequence's machines, remote and models. */
export class World {
  /** The operation log (what ran, what was skipped, what the daemon did by itself). */
  readonly log: string[] = [];
  readonly #sequence: Sequence;
  readonly #print?: (line: string) => void;
  readonly #faketime?: string;
  readonly #one: Machine;
  readonly #two?: Machine;
  #remote!: Remote;
  readonly #began = performance.now();
  /** Wall time the world began (libfaketime's files made since then are ours to sweep). */
  readonly #wallBegan = Date.now();

  /** A world for `sequence`; `print` sees every log line as it happens. */
  constructor(sequence: Sequence, options: { print?: (line: string) => void } = {}) {
    this.#sequence = sequence;
    this.#print = options.print;
    this.#one = new Machine("one", `torture s${sequence.seed}`);
    if (sequence.usesOther) this.#two = new Machine("two", `torture s${sequence.seed} m2`);
    if (sequence.usesClock) this.#faketime = findFaketime();
  }

  /** What the harness wrote on the first machine. */
  get model(): Model {
    return this.#one.model;
  }

  /** Every machine: its model, `active/` and `done/` (for the oracle). */
  get machines(): { name: string; model: Model; active: string; done: string }[] {
    return [this.#one, ...(this.#two ? [this.#two] : [])].map((machine) => ({
      name: machine.name,
      model: machine.model,
      active: machine.home.paths.active,
      done: machine.home.paths.done,
    }));
  }

  /** The first machine's test home. */
  get home(): TestHome {
    return this.#one.home;
  }

  /** The bare remote. */
  get remote(): Remote {
    return this.#remote;
  }

  /** Things that are wrong whatever the oracle says (a daemon that crashed by itself). */
  get problems(): string[] {
    return [
      ...(this.#one.daemon?.problems ?? []),
      ...(this.#two?.daemon?.problems ?? []).map((problem) => `machine two: ${problem}`),
    ];
  }

  /** Stderr of the last daemon run (for failure reports). */
  get lastStderr(): string {
    return this.#one.lastStderr;
  }

  /** Stderr of the last serving daemon (before the drain), for failure reports. */
  get daemonStderr(): string {
    return this.#one.daemon?.lastStderr ?? "";
  }

  #note(line: string): void {
    line = `${String(Math.round(performance.now() - this.#began)).padStart(5)}ms ${line}`;
    this.log.push(line);
    this.#print?.(line);
  }

  /** Creates the homes, the remote and config.json. */
  async setup(): Promise<void> {
    const note = (line: string) => this.#note(line);
    // The remote lives beside the first machine's home.
    const root = await Deno.makeTempDir({ prefix: "torture-remote-" });
    this.#remote = new Remote(root);
    await this.#remote.init();
    await this.#one.setup(this.#remote.path, { faketime: this.#faketime, note });
    await this.#two?.setup(this.#remote.path, {
      note: (line) => note(`(two) ${line.trim()}`),
    });
  }

  /** Runs operation number `index`. */
  async apply(op: Op, index: number): Promise<void> {
    const random = mulberry32(mixSeed(this.#sequence.seed, index + 1));
    const one = this.#one;
    switch (op.kind) {
      case "create":
        return await this.#create(op, random);
      case "append": {
        const inc = this.#live(op.rec, index);
        if (!inc) return;
        const bytes = appendBytes(inc, random, op);
        if (op.lines < 15) return await one.append(op.rec, bytes);
        // A burst: several writes in quick succession, cut anywhere.
        let at = 0;
        while (at < bytes.length) {
          const end = Math.min(bytes.length, at + random.int(1, Math.ceil(bytes.length / 3)));
          await one.append(op.rec, bytes.subarray(at, end));
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
        const inc = one.model.begin(op.rec, { version: old.version, origin: op.kind });
        if (op.lines > 0) appendBytes(inc, random, { lines: op.lines, partial: false, big: false });
        const bytes = contentOf(inc);
        if (op.kind === "replace") {
          const temp = join(one.home.root, "staging", `${index}.cast`);
          await Deno.writeFile(temp, bytes);
          await Deno.rename(temp, one.cast(op.rec));
        } else {
          const file = await Deno.open(one.cast(op.rec), { write: true, truncate: true });
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
        await Deno.remove(one.cast(op.rec));
        one.model.remove(op.rec);
        return;
      case "end":
        return await this.#end(op, index);
      case "start":
        return await one.daemon.start();
      case "stop":
        return await one.daemon.stop();
      case "kill":
        await sleep(op.afterMs);
        return await one.daemon.kill();
      case "failpoint":
        return one.daemon.arm(`${op.name}:${op.n}`);
      case "remote":
        return await this.#remote.set(op.mode);
      case "clock":
        if (!this.#faketime) return this.#note("  (skipped: libfaketime is not installed)");
        await Deno.writeTextFile(
          clockFile(one.home.root),
          `${op.offsetSeconds >= 0 ? "+" : ""}${op.offsetSeconds}\n`,
        );
        return;
      case "other":
        return await this.#other(op, random);
      case "wipe":
        await one.daemon.stop();
        if (op.remoteDown && this.#remote.mode !== "gone") await this.#remote.set("gone");
        await one.wipe();
        return await one.daemon.start();
      case "reset":
        return this.#note(`  (${await resetBranch(this.#remote.where, op.back)})`);
      case "fifo": {
        if (!this.#live(op.rec, index)) return;
        return await one.fifo(op.rec);
      }
    }
  }

  /** Runs `op` with its log line, then restarts a daemon that died on its own. */
  async step(op: Op, index: number, describe: string): Promise<void> {
    this.#note(`${String(index).padStart(2)} ${describe}`);
    await this.apply(op, index);
    await this.#one.daemon.supervise();
    await this.#two?.daemon.supervise();
  }

  #live(rec: string, index: number, machine = this.#one): Incarnation | undefined {
    const inc = machine.model.current.get(rec);
    if (!inc || inc.ended) {
      this.#note(`  (skipped at ${index}: ${rec} is ${inc ? "finished" : "absent"})`);
      return undefined;
    }
    return inc;
  }

  async #create(
    op: Extract<Op, { kind: "create" }>,
    random: ReturnType<typeof mulberry32>,
  ): Promise<void> {
    const one = this.#one;
    const previous = one.model.incarnations.findLast((inc) => inc.rec === op.rec);
    if (one.model.current.has(op.rec) && !previous?.ended) {
      return this.#note(`  (skipped: ${op.rec} exists)`);
    }
    if (previous?.ended) {
      // Reuse only once the finished files have left active/ (the daemon moves them to done/).
      if (!(await one.finishedGone(op.rec, one.daemon.running ? 8_000 : 0))) {
        return this.#note(`  (skipped: finished ${op.rec} has not been moved to done/)`);
      }
      one.model.json.delete(op.rec);
    }
    if (op.json) {
      await one.writeJson(
        op.rec,
        this.#jsonText({ torture: `s${this.#sequence.seed} #${op.rec}` }),
      );
    }
    const origin = previous?.ended ? "reuse" : previous ? "recreate" : "create";
    const inc = one.model.begin(op.rec, { version: op.version, origin });
    if (op.lines > 0) appendBytes(inc, random, { lines: op.lines, partial: false, big: false });
    await Deno.writeFile(one.cast(op.rec), contentOf(inc), { createNew: true });
  }

  #jsonText(fields: Record<string, unknown>): string {
    return JSON.stringify({
      repo_url: this.#remote.path,
      branch: "asciinema-recordings",
      started: "2026-01-02T03:04:05Z",
      ...fields,
    });
  }

  async #end(op: Extract<Op, { kind: "end" }>, index: number): Promise<void> {
    const one = this.#one;
    const inc = this.#live(op.rec, index);
    if (!inc) return;
    if (op.how === "exit" && inc.version === 3) return await one.exit(inc);
    await one.append(op.rec, completeLine(inc));
    const previous = one.fifos.has(op.rec) ? one.fifos.get(op.rec) : one.model.json.get(op.rec);
    const fields = previous ? JSON.parse(previous) : {};
    await one.writeJson(op.rec, this.#jsonText({ ...fields, ended: new Date().toISOString() }));
    inc.ended = true;
    inc.json = one.model.json.get(op.rec) ?? null;
  }

  /** A step of the second machine, under the same recording names. */
  async #other(
    op: Extract<Op, { kind: "other" }>,
    random: ReturnType<typeof mulberry32>,
  ): Promise<void> {
    const two = this.#two!;
    switch (op.action) {
      case "start":
        return await two.daemon.start();
      case "stop":
        return await two.daemon.stop();
      case "create": {
        const previous = two.model.current.get(op.rec);
        if (previous && !previous.ended) return this.#note(`  (skipped: two's ${op.rec} exists)`);
        if (previous?.ended && !(await two.finishedGone(op.rec, two.daemon.running ? 8_000 : 0))) {
          return this.#note(`  (skipped: two's finished ${op.rec} is still in active/)`);
        }
        await two.create(op.rec, 3, op.lines, random);
        return;
      }
      case "append": {
        const inc = this.#live(op.rec, -1, two);
        if (inc) {
          await two.append(op.rec, appendBytes(inc, random, { ...op, partial: false, big: false }));
        }
        return;
      }
      case "end": {
        const inc = this.#live(op.rec, -1, two);
        if (inc) await two.exit(inc);
        return;
      }
    }
  }

  /** Heals every fault, completes every partial line and stops the daemons. */
  async heal(): Promise<void> {
    await this.#one.heal();
    await this.#two?.heal();
    this.#note("-- heal: daemons stopped, remote ok, partial lines completed, .json files back");
    await this.#remote.heal();
  }

  /**
   * `daemon.ts run --once` on every machine until each exits 0 in one round
   * (at most 3 rounds); false when it never did.
   */
  async drain(): Promise<boolean> {
    const note = (line: string) => this.#note(line);
    for (let attempt = 1; attempt <= 3; attempt++) {
      let all = true;
      for (const machine of [this.#one, ...(this.#two ? [this.#two] : [])]) {
        if (!(await machine.drainOnce(note, attempt))) all = false;
      }
      if (all) return true;
    }
    return false;
  }

  /** Kills any daemon still running and removes the homes unless `keep`. */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    await this.#one.close(options);
    await this.#two?.close(options);
    if (!options.keep && this.#remote) {
      await Deno.remove(join(this.#remote.path, ".."), { recursive: true }).catch(() => {});
    }
    if (this.#faketime) await sweepFaketimeShm(this.#wallBegan);
  }
}
