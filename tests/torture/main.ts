/**
 * `deno task torture`: the model-based fault test from the command line.
 *
 *     deno task torture                  200 seeds from 1, two at a time
 *     deno task torture --seed 17        replay one seed, printing every operation
 *     deno task torture --runs 1000 --start 5000 --jobs 2
 *
 * Exits 1 when any seed failed.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { formatFailure, runSeeds, runSequence, statistics } from "./sequence.ts";
import { tail } from "./supervisor.ts";
import { runOnTmpfs } from "../suite_tmpfs.ts";

const int = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${value}`);
  return n;
};

/** Parses `args` and runs; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = new Command("torture")
    .description("model-based fault test of the daemon (see tests/torture/)")
    .option("--seed <n>", "replay one seed verbosely", int)
    .option("--runs <n>", "number of seeds", int, 200)
    .option("--start <n>", "first seed", int, 1)
    .option("--jobs <n>", "sequences running at once", int, 2)
    .option("--keep", "keep the test home of a failed --seed replay")
    .parse(args, { from: "user" })
    .opts();
  if (options.seed !== undefined) {
    const result = await runSequence(options.seed, {
      print: (line) => console.log(line),
      keepFailed: options.keep,
    });
    if (result.ok) {
      console.log(`seed ${result.seed} passed (${Math.round(result.ms)} ms)`);
      return 0;
    }
    console.log(`\ndaemon stderr (last lines):\n${tail(result.stderr, 40)}\n`);
    console.log(formatFailure(result));
    return 1;
  }
  const began = performance.now();
  const results = await runSeeds({
    start: options.start,
    runs: options.runs,
    concurrency: options.jobs,
    onResult: (result) =>
      console.log(
        `seed ${result.seed} ${result.ok ? "ok" : "FAILED"} (${Math.round(result.ms)} ms)`,
      ),
  });
  const failed = results.filter((result) => !result.ok);
  for (const result of failed) console.log(`\n${formatFailure(result)}`);
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  console.log(`\n${statistics(results)}`);
  console.log(
    `\n${results.length - failed.length}/${results.length} seeds passed in ${seconds} s` +
      (failed.length ? `; failed: ${failed.map((result) => result.seed).join(" ")}` : ""),
  );
  return failed.length ? 1 : 0;
}

if (import.meta.main) {
  // Many seeds run on a private tmpfs (tests/suite_tmpfs.ts); a replay stays on disk, where
  // --keep leaves its home to look at.
  const replay = Deno.args.some((arg) => /^--(seed|keep)\b/.test(arg));
  const self = [Deno.execPath(), "run", "--allow-all", new URL(import.meta.url).pathname];
  Deno.exit((replay ? null : await runOnTmpfs([...self, ...Deno.args])) ?? await main(Deno.args));
}
