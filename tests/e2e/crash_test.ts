/**
 * Crash safety (DESIGN.md invariants 1 and 2): the daemon is SIGKILLed at
 * random moments while three recordings grow; afterwards every recording
 * restores byte-identical and its chunks tile the file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestHome } from "../support/env.ts";
import {
  assertTiling,
  remoteChunks,
  restoreFromRemote,
  runOnce,
  startDaemon,
  writeConfig,
} from "../support/daemon.ts";

/** Deterministic pseudo-random numbers (so a failure can be replayed). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

Deno.test("SIGKILL at 24 random moments while 3 recordings grow loses and duplicates nothing", async () => {
  const t = await makeTestHome();
  const seed = Number(Deno.env.get("CRASH_SEED") ?? Date.now() % 100000);
  const random = rng(seed);
  await writeConfig(t.paths.home, {
    idle_threshold: 0.1,
    max_chunk_bytes: 2048,
    scan_interval_seconds: 1,
    heartbeat_seconds: 1,
    retry_max_seconds: 1,
  });
  await Deno.mkdir(t.paths.active, { recursive: true });
  const ids = ["alpha", "beta gamma", "-dash"];
  let writing = true;
  const encoder = new TextEncoder();
  const writers = ids.map(async (id, index) => {
    const file = await Deno.open(join(t.paths.active, `${id}.cast`), {
      create: true,
      append: true,
    });
    await file.write(encoder.encode(`{"version": 2, "width": 80, "height": ${20 + index}}\n`));
    let n = 0;
    while (writing) {
      const burst = 1 + Math.floor(random() * 30);
      let text = "";
      for (let k = 0; k < burst; k++, n++) {
        text += JSON.stringify([n / 10, "o", `${id} ${n} ${"#".repeat(n % 97)}\r\n`]) + "\n";
      }
      await file.write(encoder.encode(text));
      await new Promise((resolve) => setTimeout(resolve, random() * 120));
    }
    file.close();
  });
  try {
    for (let kill = 0; kill < 24; kill++) {
      const daemon = startDaemon(t.env);
      await new Promise((resolve) => setTimeout(resolve, 150 + random() * 700));
      daemon.kill("SIGKILL");
      await daemon.wait();
    }
  } finally {
    writing = false;
    await Promise.all(writers);
  }
  const result = await runOnce(t.env);
  assert.equal(result.code, 0, `run --once failed (seed ${seed}):\n${result.stderr}`);
  for (const id of ids) {
    const original = await Deno.readFile(join(t.paths.active, `${id}.cast`));
    const chunks = await remoteChunks(t.paths.backupGit, { id });
    assert.ok(chunks.length > 3, `${id}: only ${chunks.length} chunks`);
    assert.equal(assertTiling(chunks), original.length, `${id} (seed ${seed})`);
    assert.deepEqual(
      await restoreFromRemote(t.paths.backupGit, { id }),
      original,
      `${id} differs (seed ${seed})`,
    );
    // No chunk was committed twice.
    const log = new Deno.Command("git", {
      args: ["log", "--format=%s", "asciinema-recordings", "--", `chunks/${id}/`],
      env: { GIT_DIR: t.paths.backupGit },
      stdout: "piped",
    }).outputSync();
    const subjects = new TextDecoder().decode(log.stdout).split("\n").filter(Boolean);
    assert.equal(
      subjects.length,
      chunks.length,
      `${id}: ${subjects.length} commits for ${chunks.length} chunks`,
    );
  }
  // The spool is empty: everything pushed, nothing left over.
  for (const id of ids) {
    const left = await Array.fromAsync(Deno.readDir(join(t.paths.spool, id))).catch(() => []);
    assert.deepEqual(left.map((entry) => entry.name), []);
  }
  await t.cleanup();
});
