/**
 * The `no-duration-assert` lint rule (tests/lint/duration_asserts.ts) finds
 * planted duration assertions, the ones this suite used to have among them,
 * and leaves alone comparisons of data that merely look like times.
 */
import assert from "node:assert/strict";
import plugin, { isTestFile } from "./duration_asserts.ts";

function findings(source: string, fileName = "tests/e2e/x_test.ts"): string[] {
  return Deno.lint.runPlugin(plugin, fileName, source).map((d) => d.message);
}

Deno.test("planted: a clock difference inside an assertion is found", () => {
  const planted = [
    "assert.ok(performance.now() - started >= 4500);",
    "assert(Date.now() - t0 < 100);",
    "assertLess(performance.now() - began, 2000);",
    "expect(Date.now() - start).toBeLessThan(10);",
    "const now = performance.now(); const s = now; assert.ok(now - s < 5);",
  ];
  for (const source of planted) {
    assert.equal(findings(source).length, 1, source);
    assert.match(findings(source)[0], /asserts a duration \(a difference with a clock reading\)/);
  }
});

Deno.test("planted: a measured time held in a name, compared in an assertion, is found", () => {
  // The forms tests/e2e/remote_test.ts and bootstrap_test.ts had before issue 26.
  const remote = `
    const started = performance.now();
    await daemon.wait();
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2000, "took too long to stop");`;
  assert.deepEqual(findings(remote), [
    "a test asserts a duration (elapsed, a measured time, compared)",
  ]);
  const bootstrap = `
    results.push({ ...result, endedAt: Date.now() });
    const elapsed = Date.now() - result.endedAt;
    assert.ok(elapsed < 6_000, "final chunk took too long");`;
  assert.equal(findings(bootstrap).length, 1);
  // Through a second name, and under a name that does not say it is a time.
  const twice = `
    const t0 = performance.now();
    const spent = performance.now() - t0;
    let gap = 0;
    gap = Math.max(gap, spent);
    assert.ok(gap < 400);`;
  assert.deepEqual(findings(twice), ["a test asserts a duration (gap, a measured time, compared)"]);
  // A name that says it is one.
  assert.equal(findings("assert.ok(tookMs <= 3000);").length, 1);
  assert.equal(findings("assert.equal(waited > 1, true);").length, 1);
});

Deno.test("not a duration assertion: data that looks like time, clocks outside assertions, non-tests", () => {
  const fine = [
    // A recording's length is data.
    "assert.ok(index.segments[i].start < index.duration);",
    // A fixture's timestamp, built outside the assertion.
    "const since = new Date(Date.now() - 60_000).toISOString(); assert.equal(f(since), 'a');",
    // An age the code under test computed from a fixture, compared as data.
    "assert.ok(rec.oldest_pending_age_seconds >= 40);",
    // Waiting for an event, bounded: not an assertion.
    "const deadline = Date.now() + 5000; while (Date.now() < deadline) await tick();",
    // A difference of clock readings that nobody asserts.
    "const elapsed = performance.now() - started; console.log(elapsed);",
    // Equality of a duration-named value is not a bound on time.
    "assert.equal(duration, 5);",
  ];
  for (const source of fine) assert.deepEqual(findings(source), [], source);
  assert.deepEqual(findings("assert.ok(performance.now() - s < 5);", "lib/engine/x.ts"), []);
  assert.equal(isTestFile("/work/tests/unit/a.ts"), true);
  assert.equal(isTestFile("lib/sys/a_test.ts"), true);
  assert.equal(isTestFile("lib/sys/a.ts"), false);
});
