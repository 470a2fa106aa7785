/**
 * The model-based fault test (tests/torture/): random sequences of appends,
 * partial lines, replaced / rewritten / recreated files, finished and reused
 * recordings, daemon restarts, SIGKILLs, failpoints, remote faults (gone,
 * refusing, slow, hanging), a remote set back to an older commit, `state/`
 * and `repos/` lost (with the remote down), a `.json` turned into a FIFO, a
 * second machine recording under the same names to the same remote, and
 * (with libfaketime) wall-clock steps, each checked against a model of what
 * each machine wrote (DESIGN.md invariants 1, 2, 11, 15, 16).
 *
 * TORTURE_RUNS (default 4: a handful in `deno task test`) sequences from
 * TORTURE_START (default 1), two at a time. CI runs 200 more after the suite
 * (`deno task torture --runs 200` in .ci/run). A failing seed is replayed
 * with `deno task torture --seed N`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assertTools, ignoreWithout, makeTestHome, requireAll, waitFor } from "../support/env.ts";
import type { BranchChunk, BranchContents } from "../torture/branch_reader.ts";
import { appendBytes, contentOf, Model } from "../torture/model.ts";
import { checkOracle } from "../torture/oracle.ts";
import { generateSequence } from "../torture/ops.ts";
import { mulberry32 } from "../torture/prng.ts";
import { formatFailure, runSeeds } from "../torture/sequence.ts";
import { findFaketime, Supervisor } from "../torture/supervisor.ts";

const TOOLS = ["git", "zstd"];
const runs = Number(Deno.env.get("TORTURE_RUNS") ?? 4);
const start = Number(Deno.env.get("TORTURE_START") ?? 1);

Deno.test({
  name: `torture: ${runs} random fault sequences keep every byte, once, under its own id`,
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    // Without libfaketime the wall-clock steps are skipped (and say so in the op log); CI has it.
    if (requireAll() && !findFaketime()) {
      throw new Error("this test needs libfaketime for its clock steps (apt-get install faketime)");
    }
    const results = await runSeeds({ start, runs, concurrency: 2 });
    const failed = results.filter((result) => !result.ok);
    if (failed.length) {
      throw new Error(
        [
          ...failed.map(formatFailure),
          `${failed.length} of ${runs} torture sequences failed (seeds ${
            failed.map((result) => result.seed).join(", ")
          }); replay one with: deno task torture --seed N`,
        ].join("\n\n"),
      );
    }
  },
});

// --- The oracle itself: it must pass an honest branch and name each kind of damage.

/** Splits `bytes` into chunks at line ends (about `size` bytes each), numbered from 0. */
function chunksOf(bytes: Uint8Array, id: string, size = 200): BranchChunk[] {
  const chunks: BranchChunk[] = [];
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(10, Math.min(bytes.length - 1, start + size));
    const end = nl < 0 ? bytes.length : nl + 1;
    const seq = chunks.length;
    const name = `${String(seq).padStart(6, "0")}_${start}-${end}.cast.zst`;
    chunks.push({ path: `chunks/${id}/${name}`, seq, start, end, raw: bytes.slice(start, end) });
    start = end;
  }
  return chunks;
}

function recordName(chunk: BranchChunk): string {
  return `${String(chunk.seq).padStart(6, "0")}_${chunk.start}-${chunk.end}`;
}

function recordOf(chunk: BranchChunk): string {
  const sha = createHash("sha256").update(chunk.raw!).digest("hex");
  return `Cast-Sha256: ${sha}\nCast-Committed: 1700000000\n`;
}

async function oracleCase(
  damage: (branch: BranchContents, model: Model) => void,
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "torture-oracle-" });
  try {
    const model = new Model("oracle");
    const random = mulberry32(7);
    const shape = { lines: 30, partial: false, big: false };
    const a0 = model.begin("a", { version: 2, origin: "create" });
    appendBytes(a0, random, shape);
    const a1 = model.begin("a", { version: 3, origin: "replace" });
    appendBytes(a1, random, shape);
    const b0 = model.begin("b", { version: 3, origin: "create" });
    appendBytes(b0, random, shape);
    b0.ended = true;
    await Deno.mkdir(join(dir, "active"));
    await Deno.mkdir(join(dir, "done"));
    await Deno.writeFile(join(dir, "active", "a.cast"), contentOf(a1));
    await Deno.writeFile(join(dir, "done", "b.cast"), contentOf(b0));
    const branch: BranchContents = {
      chunks: new Map([
        ["a", chunksOf(contentOf(a0).subarray(0, contentOf(a0).lastIndexOf(10, 400) + 1), "a")],
        ["a~2", chunksOf(contentOf(a1), "a~2")],
        ["b", chunksOf(contentOf(b0), "b")],
      ]),
      manifests: new Map([["b", "{}"]]),
      records: new Map(),
      strays: [],
    };
    for (const [id, chunks] of branch.chunks) {
      branch.records.set(id, new Map(chunks.map((chunk) => [recordName(chunk), recordOf(chunk)])));
    }
    damage(branch, model);
    return await checkOracle({
      model,
      branch,
      active: join(dir, "active"),
      done: join(dir, "done"),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("torture oracle: an honest branch passes", async () => {
  assert.deepEqual(await oracleCase(() => {}), []);
});

Deno.test("torture oracle: names mixing, duplication, gaps, loss and a missing done/ file", async () => {
  const expectations: [string, (branch: BranchContents, model: Model) => void, RegExp][] = [
    ["mixing", (branch, model) => {
      const [a0, a1] = model.incarnations.map(contentOf);
      const mixed = new Uint8Array([...a0.subarray(0, 300), ...a1.subarray(300)]);
      branch.chunks.set("a~2", chunksOf(mixed.subarray(0, mixed.lastIndexOf(10) + 1), "a~2"));
    }, /mixed under one id/],
    ["duplication", (branch) => {
      branch.chunks.set("a~3", branch.chunks.get("a~2")!);
    }, /under 2 chunk ids/],
    ["gap", (branch) => {
      branch.chunks.get("a~2")!.splice(1, 1);
    }, /starts at/],
    ["loss", (branch) => {
      branch.chunks.get("a~2")!.pop();
    }, /restores only/],
    ["no done/ file", (_branch, model) => {
      model.incarnations[2].json = "{}";
    }, /\.json of finished/],
    ["no manifest", (branch) => {
      branch.manifests.clear();
    }, /manifest\.json/],
    ["a manifest's sha256", (branch) => {
      const bytes = branch.chunks.get("b")!.at(-1)!.end;
      branch.manifests.set("b", JSON.stringify({ sha256: "0".repeat(64), total_bytes: bytes }));
    }, /sha256 that its chunks do not restore/],
    ["no record", (branch) => {
      branch.records.get("b")!.clear();
    }, /has no record/],
    ["a wrong record", (branch) => {
      const [name] = branch.records.get("b")!.keys();
      branch.records.get("b")!.set(name, `Cast-Sha256: ${"1".repeat(64)}\n`);
    }, /does not hold its sha256/],
    ["a record without its chunk", (branch) => {
      branch.records.get("b")!.set("000099_1-2", "Cast-Committed: 1\n");
    }, /record without its chunk/],
  ];
  for (const [what, damage, expected] of expectations) {
    const failures = await oracleCase(damage);
    assert.ok(
      failures.some((failure) => expected.test(failure)),
      `${what}: ${failures.join("; ")}`,
    );
  }
});

Deno.test("torture generator: a seed always gives the same operations", () => {
  for (const seed of [1, 2, 99, 12345]) {
    assert.deepEqual(generateSequence(seed), generateSequence(seed));
  }
  assert.notDeepEqual(generateSequence(1).ops, generateSequence(2).ops);
});

Deno.test("torture supervisor: a daemon killed at an armed failpoint is started again, a crash is a problem", async () => {
  const t = await makeTestHome("torture-supervisor-");
  const notes: string[] = [];
  const supervisor = new Supervisor({
    env: t.env,
    healthPath: t.paths.health,
    note: (line) => notes.push(line),
  });
  try {
    supervisor.arm("cut.after-compress:1");
    await supervisor.start();
    // First the armed daemon, then its restart (not armed) die the way a failpoint kills.
    for (const expected of [/hit failpoint cut\.after-compress:1; restarting/, /SIGKILL/]) {
      const { pid } = JSON.parse(await Deno.readTextFile(t.paths.health));
      Deno.kill(pid, "SIGKILL");
      await waitFor(async () => {
        await supervisor.supervise();
        return [...notes, ...supervisor.problems].some((line) => expected.test(line));
      }, { what: `the supervisor to notice (${expected})` });
      assert.ok(supervisor.running, "started again");
      await waitFor(async () => JSON.parse(await Deno.readTextFile(t.paths.health)).pid !== pid);
    }
    assert.match(notes.join("\n"), /hit failpoint cut\.after-compress:1; restarting/);
    assert.equal(supervisor.problems.length, 1);
    assert.match(supervisor.problems[0], /exited by itself with SIGKILL/);
  } finally {
    await supervisor.kill();
    await t.cleanup();
  }
});

Deno.test("torture generator: the first 200 seeds include every operation of the second review", () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 200; seed++) {
    for (const op of generateSequence(seed).ops) {
      seen.add(op.kind);
      if (op.kind === "remote") seen.add(`remote:${op.mode}`);
      if (op.kind === "other") seen.add(`other:${op.action}`);
      if (op.kind === "wipe" && op.remoteDown) seen.add("wipe:remote down");
    }
  }
  for (
    const kind of [
      "other:create",
      "other:append",
      "other:start",
      "wipe:remote down",
      "reset",
      "remote:hanging",
      "fifo",
    ]
  ) {
    assert.ok(seen.has(kind), `no ${kind} in 200 seeds`);
  }
});

Deno.test("torture oracle: each machine's generations are checked on their own; two machines in one folder is mixing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "torture-oracle-" });
  try {
    const random = mulberry32(9);
    const shape = { lines: 20, partial: false, big: false };
    const one = new Model("oracle one");
    const two = new Model("oracle two");
    const a1 = one.begin("a", { version: 2, origin: "create" });
    appendBytes(a1, random, shape);
    const a2 = two.begin("a", { version: 3, origin: "create" });
    appendBytes(a2, random, shape);
    const machines = ["one", "two"].map((name, i) => ({
      name,
      model: [one, two][i],
      active: join(dir, name, "active"),
      done: join(dir, name, "done"),
    }));
    for (const machine of machines) await Deno.mkdir(machine.active, { recursive: true });
    await Deno.writeFile(join(machines[0].active, "a.cast"), contentOf(a1));
    await Deno.writeFile(join(machines[1].active, "a.cast"), contentOf(a2));
    const honest: BranchContents = {
      chunks: new Map([["a", chunksOf(contentOf(a1), "a")], [
        "a~box",
        chunksOf(contentOf(a2), "a~box"),
      ]]),
      manifests: new Map(),
      records: new Map(),
      strays: [],
    };
    for (const [id, chunks] of honest.chunks) {
      honest.records.set(id, new Map(chunks.map((chunk) => [recordName(chunk), recordOf(chunk)])));
    }
    assert.deepEqual(await checkOracle({ machines, branch: honest }), []);
    // The second machine's bytes appended to the first one's folder.
    const first = chunksOf(contentOf(a1), "a");
    const mixed = [
      ...first,
      ...chunksOf(contentOf(a2), "a").map((chunk, i) => ({
        ...chunk,
        seq: first.length + i,
        start: chunk.start + contentOf(a1).length,
        end: chunk.end + contentOf(a1).length,
      })),
    ];
    const failures = await checkOracle({
      machines,
      branch: {
        chunks: new Map([["a", mixed]]),
        manifests: new Map(),
        records: new Map(),
        strays: [],
      },
    });
    assert.ok(
      failures.some((failure) => /not a prefix|more than/.test(failure)),
      failures.join("\n"),
    );
    assert.ok(failures.some((failure) => /machine two's .* not on the branch/.test(failure)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
