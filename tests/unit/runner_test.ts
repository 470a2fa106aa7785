import assert from "node:assert/strict";
import {
  checkRoots,
  collectFiles,
  longestFirst,
  parseRunnerArgs,
  parseSummary,
} from "../runner.ts";

Deno.test("the suite runner: paths, --jobs and deno test's own flags (with their values) apart", () => {
  assert.deepEqual(parseRunnerArgs([], 3), { paths: ["tests"], flags: [], jobs: 3 });
  assert.deepEqual(
    parseRunnerArgs(["tests/unit/", "--filter", "row 1", "--jobs", "1", "--fail-fast"], 3),
    { paths: ["tests/unit/"], flags: ["--filter", "row 1", "--fail-fast"], jobs: 1 },
  );
  assert.deepEqual(parseRunnerArgs(["--jobs=4", "--filter=x", "a_test.ts"], 3), {
    paths: ["a_test.ts"],
    flags: ["--filter=x"],
    jobs: 4,
  });
  assert.throws(() => parseRunnerArgs(["--jobs", "0"], 3), /--jobs/);
  assert.throws(() => parseRunnerArgs(["--jobs"], 3), /--jobs/);
});

Deno.test("the suite runner starts end-to-end files first, then the bigger ones", () => {
  const order = longestFirst([
    { path: "tests/unit/a_test.ts", e2e: false, bytes: 900 },
    { path: "tests/e2e/b_test.ts", e2e: true, bytes: 100 },
    { path: "tests/unit/c_test.ts", e2e: false, bytes: 9000 },
    { path: "tests/e2e/d_test.ts", e2e: true, bytes: 5000 },
  ]).map((file) => file.path);
  assert.deepEqual(order, [
    "tests/e2e/d_test.ts",
    "tests/e2e/b_test.ts",
    "tests/unit/c_test.ts",
    "tests/unit/a_test.ts",
  ]);
});

Deno.test("the suite runner reads each file's summary line; none is null (the file did not run)", () => {
  assert.deepEqual(
    parseSummary("running 2 tests\n...\nok | 3 passed | 0 failed | 1 ignored (2s)\n"),
    {
      passed: 3,
      failed: 0,
      ignored: 1,
    },
  );
  assert.deepEqual(parseSummary("FAILED | 1 passed | 2 failed (9s)\n"), {
    passed: 1,
    failed: 2,
    ignored: 0,
  });
  assert.equal(parseSummary("error: Module not found\n"), null);
});

Deno.test("the suite runner names a path that is not there instead of failing with a stack", async () => {
  await assert.rejects(
    () => collectFiles(["tests/unit/no_such_folder/"]),
    /^Error: no such file or folder: tests\/unit\/no_such_folder\/ \(paths are relative to /,
  );
  const found = await collectFiles(["tests/unit/runner_test.ts"]);
  assert.deepEqual(found.map((file) => file.path), ["tests/unit/runner_test.ts"]);
});

Deno.test("the suite runner checks the roots of `deno task check` for the whole suite, else the files", async () => {
  const files = [{ path: "tests/unit/a_test.ts", e2e: false, bytes: 1 }];
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const roots = await checkRoots(["tests"], files);
  assert.ok(roots.includes("tests/") && roots.includes("lib/"), roots.join(" "));
  assert.ok(config.tasks.check.endsWith(`deno check ${roots.join(" ")}`));
  assert.deepEqual(await checkRoots(["tests/unit/"], files), ["tests/unit/a_test.ts"]);
});
