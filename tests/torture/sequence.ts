/**
 * Runs one seed end to end: generate the operations, apply them to a real
 * daemon, heal every fault, drain with `run --once`, then ask the oracle.
 *
 * @module
 */
import { readBranch } from "./branch_reader.ts";
import { checkOracle } from "./oracle.ts";
import { describeOp, generateSequence } from "./ops.ts";
import { BRANCH } from "./remote.ts";
import { tail } from "./supervisor.ts";
import { World } from "./world.ts";

/** Options for {@linkcode runSequence}. */
export interface SequenceOptions {
  /** Sees every operation as it runs (for `--seed` replays). */
  print?: (line: string) => void;
  /** Keep the test home of a failed sequence (its path is in the result). */
  keepFailed?: boolean;
}

/** The outcome of one seed. */
export interface SequenceResult {
  /** The seed. */
  seed: number;
  /** True when every check passed. */
  ok: boolean;
  /** What failed. */
  failures: string[];
  /** The operation log. */
  log: string[];
  /** The daemon's last stderr. */
  stderr: string;
  /** The serving daemon's last stderr (before the drain). */
  daemonStderr: string;
  /** Wall time in milliseconds. */
  ms: number;
  /** The kept test home of a failed run. */
  keptHome?: string;
  /** What reached the branch: chunk ids, chunks, manifests. */
  branch: { ids: number; chunks: number; manifests: number };
}

/** Runs the sequence of `seed`; never throws for a daemon failure (see `ok`). */
export async function runSequence(
  seed: number,
  options: SequenceOptions = {},
): Promise<SequenceResult> {
  const began = performance.now();
  const sequence = generateSequence(seed);
  const world = new World(sequence, { print: options.print });
  const failures: string[] = [];
  let ok = false;
  const summary = { ids: 0, chunks: 0, manifests: 0 };
  try {
    await world.setup();
    for (const [index, op] of sequence.ops.entries()) {
      await world.step(op, index, describeOp(op));
    }
    await world.heal();
    if (!(await world.drain())) {
      failures.push(`run --once never exited 0 after healing:\n${tail(world.lastStderr)}`);
    }
    const branch = await readBranch(world.remote.path, BRANCH);
    summary.ids = branch.chunks.size;
    summary.manifests = branch.manifests.size;
    for (const [id, chunks] of branch.chunks) {
      summary.chunks += chunks.length;
      options.print?.(`-- branch: ${id}: ${chunks.length} chunk(s), ${chunks.at(-1)?.end} bytes`);
    }
    failures.push(
      ...world.problems,
      ...(await checkOracle({ machines: world.machines, branch })),
    );
    ok = failures.length === 0;
  } catch (error) {
    failures.push(`harness error: ${error instanceof Error ? error.stack : String(error)}`);
  } finally {
    await world.close({ keep: !ok && options.keepFailed });
  }
  return {
    seed,
    ok,
    failures,
    log: world.log,
    stderr: world.lastStderr,
    daemonStderr: world.daemonStderr,
    ms: performance.now() - began,
    keptHome: !ok && options.keepFailed ? world.home?.root : undefined,
    branch: summary,
  };
}

function tailLines(text: string, count = 25): string[] {
  return text.split("\n").filter(Boolean).slice(-count).map((line) => `  ${line}`);
}

/** The report of a failed seed: what failed, the operations, how to replay. */
export function formatFailure(result: SequenceResult): string {
  return [
    `seed ${result.seed} failed:`,
    ...result.failures.map((failure) => `  - ${failure.replaceAll("\n", "\n    ")}`),
    "operations:",
    ...result.log.map((line) => `  ${line}`),
    "last daemon's stderr:",
    ...tailLines(result.daemonStderr),
    "run --once's stderr:",
    ...tailLines(result.stderr),
    ...(result.keptHome ? [`test home kept at ${result.keptHome}`] : []),
    `replay with: deno task torture --seed ${result.seed}`,
  ].join("\n");
}

/** Runs seeds `start` .. `start + runs - 1`, `concurrency` at a time; results in seed order. */
export async function runSeeds(
  options: {
    start: number;
    runs: number;
    concurrency: number;
    onResult?: (result: SequenceResult) => void;
  },
): Promise<SequenceResult[]> {
  const results: SequenceResult[] = [];
  let next = options.start;
  const end = options.start + options.runs;
  const worker = async () => {
    while (next < end) {
      const result = await runSequence(next++);
      results.push(result);
      options.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return results.sort((a, b) => a.seed - b.seed);
}

/** Totals over many results, to see what the sequences exercised. */
export function statistics(results: SequenceResult[]): string {
  const kinds = new Map<string, number>();
  let skipped = 0;
  let failpointHits = 0;
  for (const result of results) {
    for (const line of result.log) {
      const kind = /^\s*\d+ms\s+\d+ (\S+)/.exec(line)?.[1];
      if (kind) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (line.includes("(skipped")) skipped++;
      if (line.includes("hit failpoint")) failpointHits++;
    }
  }
  const sum = (key: keyof SequenceResult["branch"]) =>
    results.reduce((total, result) => total + result.branch[key], 0);
  const ops = [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${kind} ${n}`);
  return `ops: ${ops.join(", ")}; skipped ${skipped}; failpoints hit ${failpointHits}\n` +
    `branch: ${sum("ids")} chunk ids, ${sum("chunks")} chunks, ${sum("manifests")} manifests`;
}
