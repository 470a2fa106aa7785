/**
 * The model-based fault test (tests/torture/): random sequences of appends,
 * partial lines, replaced / rewritten / recreated files, finished and reused
 * recordings, daemon restarts, SIGKILLs, failpoints and remote faults, each
 * checked against a model of what was written (DESIGN.md invariants 1, 2, 11).
 *
 * TORTURE_RUNS (default 200) sequences from TORTURE_START (default 1), two at
 * a time. A failing seed is replayed with `deno task torture --seed N`.
 */
import { assertTools, ignoreWithout } from "./support/env.ts";
import { formatFailure, runSeeds } from "./torture/sequence.ts";

const TOOLS = ["git", "zstd"];
const runs = Number(Deno.env.get("TORTURE_RUNS") ?? 200);
const start = Number(Deno.env.get("TORTURE_START") ?? 1);

Deno.test({
  name: `torture: ${runs} random fault sequences keep every byte, once, under its own id`,
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    const results = await runSeeds({ start, runs, concurrency: 2 });
    const failed = results.filter((result) => !result.ok);
    for (const result of failed) console.error(`\n${formatFailure(result)}\n`);
    if (failed.length) {
      throw new Error(
        `${failed.length} of ${runs} torture sequences failed (seeds ${
          failed.map((result) => result.seed).join(", ")
        }); replay one with: deno task torture --seed N`,
      );
    }
  },
});
