/**
 * `deno task test`: the suite as a few `deno test` processes at once, one
 * test file each, the longest first. Every file still runs alone in its own
 * process (no test shares environment variables, a working folder or signal
 * handlers with another file's), so files that wait on daemons, git and
 * browsers overlap instead of queueing on a 2-core machine. Types are
 * checked once, beside the first files (about 8 s on a cold check cache,
 * as after any change; for the whole suite the roots of `deno task check`,
 * so right after that task it is a cache hit): its errors are printed at
 * the end, and fail the run.
 *
 * ```sh
 * deno task test                                   # everything under tests/
 * deno task test tests/unit/engine/ --filter row   # some files, deno test's own flags
 * deno task test --jobs 1                          # one file at a time
 * ```
 *
 * As root on Linux the runner first runs itself again on a private tmpfs
 * (`suite_tmpfs.ts`; `TEST_TMPFS=0` stays on disk).
 *
 * Each file's output is printed whole when it ends (never interleaved); the
 * last lines sum up, name the files that failed and the command that runs
 * them again. Exits 1 when any file failed.
 *
 * @module
 */
import { join, relative } from "node:path";
import { runOnTmpfs } from "./suite_tmpfs.ts";

/** What the command line asked for. */
export interface RunnerArgs {
  /** Files and folders to run (default `tests/`). */
  paths: string[];
  /** Flags passed on to every `deno test`. */
  flags: string[];
  /** Files run at once. */
  jobs: number;
}

/** Reads `[--jobs N] [paths...] [deno test flags...]` (a flag's value follows it). */
export function parseRunnerArgs(args: readonly string[], defaultJobs: number): RunnerArgs {
  const out: RunnerArgs = { paths: [], flags: [], jobs: defaultJobs };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--jobs" || arg.startsWith("--jobs=")) {
      const value = arg === "--jobs" ? args[++i] : arg.slice("--jobs=".length);
      const jobs = Number(value);
      if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs wants a whole number ≥ 1`);
      out.jobs = jobs;
    } else if (arg.startsWith("-")) {
      out.flags.push(arg);
      // `--filter x`: the value goes with its flag.
      const next = args[i + 1];
      if (!arg.includes("=") && next !== undefined && !next.startsWith("-") && VALUED.has(arg)) {
        out.flags.push(next);
        i++;
      }
    } else {
      out.paths.push(arg);
    }
  }
  if (out.paths.length === 0) out.paths.push("tests");
  return out;
}

/** `deno test` flags that take their value as the next argument. */
const VALUED = new Set(["--filter", "--seed", "--reporter", "--junit-path", "--shuffle"]);

/** One test file and what is known of its length before it runs. */
export interface TestFile {
  path: string;
  /** True under `e2e/` (real daemons and processes: the long ones). */
  e2e: boolean;
  /** Bytes of source (more tests, longer). */
  bytes: number;
}

/** The order files start in: end-to-end files first, then the bigger ones first. */
export function longestFirst(files: readonly TestFile[]): TestFile[] {
  return [...files].sort((a, b) =>
    a.e2e !== b.e2e ? (a.e2e ? -1 : 1) : b.bytes - a.bytes || (a.path < b.path ? -1 : 1)
  );
}

/** What one file's `deno test` said in its summary line. */
export interface FileCounts {
  passed: number;
  failed: number;
  ignored: number;
}

/** Reads `ok | 3 passed | 0 failed | 1 ignored (2s)` (colours already stripped). */
export function parseSummary(output: string): FileCounts | null {
  const lines = output.split("\n").filter((line) => /^(ok|FAILED) \| \d+ passed/.test(line));
  const last = lines.at(-1);
  if (!last) return null;
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(last)?.[1] ?? 0);
  return { passed: count("passed"), failed: count("failed"), ignored: count("ignored") };
}

/** Removes terminal colour sequences (for parsing only; output is printed as it came). */
function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The test files under `paths` (files named as they are; folders searched), sorted. */
export async function collectFiles(paths: readonly string[]): Promise<TestFile[]> {
  const files: TestFile[] = [];
  for (const path of paths) {
    try {
      await collect(path, files);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(`no such file or folder: ${path} (paths are relative to ${Deno.cwd()})`);
    }
  }
  return files;
}

async function collect(path: string, into: TestFile[]): Promise<void> {
  const info = await Deno.stat(path);
  if (info.isFile) {
    into.push({ path, e2e: path.includes("/e2e/"), bytes: info.size });
    return;
  }
  const names = (await Array.fromAsync(Deno.readDir(path))).map((entry) => entry.name).sort();
  for (const name of names) {
    const child = join(path, name);
    const stat = await Deno.stat(child);
    if (stat.isDirectory) await collect(child, into);
    else if (/_test\.(ts|tsx|js|mjs)$/.test(name) || /^test\.(ts|js)$/.test(name)) {
      into.push({ path: child, e2e: child.includes("/e2e/"), bytes: stat.size });
    }
  }
}

interface Finished {
  file: TestFile;
  code: number;
  counts: FileCounts | null;
  ms: number;
}

async function runFile(file: TestFile, flags: readonly string[]): Promise<Finished> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--no-check", "--allow-all", "--trace-leaks=false", ...flags, file.path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  // One write, so files never interleave.
  await Deno.stdout.write(new TextEncoder().encode(text.endsWith("\n") ? text : `${text}\n`));
  return {
    file,
    code: out.code,
    counts: parseSummary(plain(text)),
    ms: performance.now() - started,
  };
}

/**
 * What to type-check: for the whole suite, the roots of `deno task check`
 * (deno.json), so a check that task just ran is a cache hit (as in CI);
 * otherwise the files that run.
 */
export async function checkRoots(
  paths: readonly string[],
  files: readonly TestFile[],
): Promise<string[]> {
  if (paths.length === 1 && paths[0].replace(/\/+$/, "") === "tests") {
    try {
      const config = JSON.parse(await Deno.readTextFile("deno.json"));
      const roots = /\bdeno check ([^&|;]+)$/.exec(config?.tasks?.check ?? "")?.[1];
      if (roots) return roots.trim().split(/\s+/);
    } catch {
      // no deno.json here: the files themselves
    }
  }
  return files.map((file) => file.path);
}

async function main(args: string[]): Promise<number> {
  let parsed: RunnerArgs;
  let files: TestFile[];
  try {
    parsed = parseRunnerArgs(args, Number(Deno.env.get("TEST_JOBS")) || 5);
    files = await collectFiles(parsed.paths);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (files.length === 0) {
    console.error(`no test files under ${parsed.paths.join(", ")}`);
    return 1;
  }
  const started = performance.now();
  const check = new Deno.Command(Deno.execPath(), {
    args: ["check", ...(await checkRoots(parsed.paths, files))],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const queue = longestFirst(files);
  const done: Finished[] = [];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      done.push(await runFile(file, parsed.flags));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parsed.jobs, files.length) }, worker));
  const checked = await check;
  if (checked.code !== 0) {
    const decoder = new TextDecoder();
    console.log(`${decoder.decode(checked.stdout)}${decoder.decode(checked.stderr)}`);
  }
  const failed = done.filter((one) => one.code !== 0);
  const sum = (key: keyof FileCounts) => done.reduce((n, one) => n + (one.counts?.[key] ?? 0), 0);
  const seconds = Math.round((performance.now() - started) / 1000);
  console.log(
    `\n${failed.length ? "FAILED" : "ok"} | ${sum("passed")} passed | ${sum("failed")} failed | ${
      sum("ignored")
    } ignored | ${done.length} files, ${parsed.jobs} at once (${seconds}s)`,
  );
  if (failed.length) {
    const names = failed.map((one) => relative(Deno.cwd(), one.file.path));
    console.log(`failed: ${names.join(" ")}\nrun them again: deno task test ${names.join(" ")}`);
  }
  if (checked.code !== 0) console.log("FAILED: the type check (deno check) found errors, above");
  return failed.length || checked.code !== 0 ? 1 : 0;
}

if (import.meta.main) {
  const self = [Deno.execPath(), "run", "--allow-all", new URL(import.meta.url).pathname];
  Deno.exit(await runOnTmpfs([...self, ...Deno.args]) ?? await main(Deno.args));
}
