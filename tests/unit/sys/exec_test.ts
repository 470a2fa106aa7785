/**
 * Every external call ends (issue 24, row 4): a timeout ends the whole
 * process group, the pipes of something left behind are not waited on, and
 * the stall limit grows with progress.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "../../../lib/sys/mod.ts";

/** Fails (instead of hanging the suite) when `call` never settles; no duration is asserted. */
async function settles<T>(call: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: never returned`)), 60_000)
  );
  try {
    return await Promise.race([call, never]);
  } finally {
    clearTimeout(timer);
  }
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function pidFrom(path: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (/^\d+\s*$/.test(text)) return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no pid in ${path}`);
}

Deno.test("a timeout ends the child and what it started (an ssh under git holding the pipes)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exec-test-" });
  try {
    const pidFile = join(dir, "grandchild.pid");
    // Like git whose ssh hangs on a black-holed connection: the grandchild keeps the pipes.
    const result = await settles(
      run("sh", {
        args: ["-c", `sleep 600 & echo $! > '${pidFile}'; wait`],
        timeoutMs: 300,
      }),
      "run with a grandchild holding the pipes",
    );
    assert.equal(result.timedOut, true);
    assert.equal(result.success, false);
    const grandchild = await pidFrom(pidFile);
    for (let i = 0; i < 100 && alive(grandchild); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(alive(grandchild), false, "the grandchild outlived the timeout");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after the child exits, pipes held by something it left behind are let go", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exec-test-" });
  let escaped = 0;
  try {
    const pidFile = join(dir, "escaped.pid");
    const result = await settles(
      run("sh", {
        args: ["-c", `setsid sleep 600 & echo $! > '${pidFile}'; echo hi`],
        timeoutMs: 60_000,
      }),
      "run with an escaped process holding stdout",
    );
    escaped = await pidFrom(pidFile);
    assert.equal(result.success, true);
    assert.equal(result.stdout, "hi\n");
  } finally {
    if (escaped) {
      try {
        Deno.kill(escaped, "SIGKILL");
      } catch {
        // gone
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the stall limit grows with progress: output keeps it alive, silence ends it", async () => {
  const progressing = await run("sh", {
    args: ["-c", "for i in 1 2 3 4 5 6 7 8; do echo $i >&2; sleep 0.3; done"],
    stallMs: 1500,
    timeoutMs: 60_000,
  });
  assert.equal(progressing.timedOut, false, progressing.stderr);
  assert.equal(progressing.success, true);
  assert.match(progressing.stderr, /8\n$/);
  const silent = await settles(
    run("sh", { args: ["-c", "echo start >&2; sleep 30"], stallMs: 300, timeoutMs: 60_000 }),
    "a silent command under a stall limit",
  );
  assert.equal(silent.timedOut, true);
  assert.match(silent.stderr, /start/);
});

Deno.test("an abort ends the process group too", async () => {
  const controller = new AbortController();
  const call = run("sh", { args: ["-c", "sleep 600 & wait"], signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  const result = await settles(call, "an aborted run");
  assert.equal(result.aborted, true);
  assert.equal(result.success, false);
});
