/**
 * End to end: the daemon backs up growing recordings to the embedded default
 * remote, and the chunks restore byte-identical.
 */
import { hostname } from "node:os";
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../support/env.ts";
import {
  assertTiling,
  remoteChunks,
  remoteEnd,
  restoreFromRemote,
  waitForHealth,
  withDaemon,
} from "../support/daemon.ts";

const FAST = { idle_threshold: 0.3, scan_interval_seconds: 1, heartbeat_seconds: 1 };

function v3Lines(count: number): string[] {
  const lines = [
    JSON.stringify({ version: 3, term: { cols: 80, rows: 24, type: "xterm" }, timestamp: 1 }),
  ];
  for (let i = 0; i < count; i++) {
    lines.push(JSON.stringify([0.05, "o", `line ${i} \u00e9\u2603 "quoted" \\ \r\n`]));
    if (i % 7 === 3) lines.push("# a comment line");
  }
  return lines;
}

Deno.test("asciicast v3 written progressively is pushed, finalized on exit and restores byte-identical", async () => {
  await withDaemon(FAST, async ({ t }) => {
    await waitForHealth(t.paths.health, (h) => h.status === "ok" && h.pid > 0);
    const cast = join(t.paths.active, "session-v3.cast");
    const lines = v3Lines(60);
    const file = await Deno.open(cast, { create: true, append: true, mode: 0o600 });
    const encoder = new TextEncoder();
    // Three bursts separated by idle gaps: each burst becomes a chunk.
    for (let burst = 0; burst < 3; burst++) {
      for (const line of lines.slice(burst * 20, (burst + 1) * 20)) {
        await file.write(encoder.encode(line + "\n"));
      }
      const size = (await file.stat()).size;
      await waitFor(
        async () => (await remoteEnd(t.paths.backupGit, { id: "session-v3" })) === size,
        {
          what: `burst ${burst} on the remote`,
        },
      );
    }
    for (const line of lines.slice(60)) await file.write(encoder.encode(line + "\n"));
    // The exit event ends the recording: final chunk, manifest, move to done/.
    await file.write(encoder.encode(JSON.stringify([0.5, "x", "0"]) + "\n"));
    file.close();
    const original = await Deno.readFile(cast);
    await waitFor(async () => {
      try {
        await Deno.stat(join(t.paths.done, "session-v3.cast"));
        return true;
      } catch {
        return false;
      }
    }, { what: "the recording to move to done/" });
    const chunks = await remoteChunks(t.paths.backupGit, { id: "session-v3" });
    assert.ok(chunks.length >= 3, `expected a chunk per burst, got ${chunks.length}`);
    assert.equal(assertTiling(chunks), original.length);
    assert.deepEqual(await restoreFromRemote(t.paths.backupGit, { id: "session-v3" }), original);
    const manifest = JSON.parse(
      new TextDecoder().decode(
        new Deno.Command("git", {
          args: ["show", "asciinema-recordings:recordings/session-v3/manifest.json"],
          env: { GIT_DIR: t.paths.backupGit },
          stdout: "piped",
        }).outputSync().stdout,
      ),
    );
    assert.equal(manifest.total_bytes, original.length);
    assert.equal(manifest.chunks, chunks.length);
    assert.match(manifest.sha256, /^[0-9a-f]{64}$/);
    // The machine that recorded it (the web viewer's "machine" column).
    assert.equal(manifest.host, hostname());
    // Commits carry the trailers.
    const log = new TextDecoder().decode(
      new Deno.Command("git", {
        args: ["log", "--format=%B", "asciinema-recordings"],
        env: { GIT_DIR: t.paths.backupGit },
        stdout: "piped",
      }).outputSync().stdout,
    );
    for (
      const trailer of ["Cast-Id: session-v3", "Cast-Seq: 0", "Cast-Range: 0-", "Cast-Sha256: "]
    ) {
      assert.ok(log.includes(trailer), `missing trailer ${trailer}`);
    }
    // Private by default.
    assert.equal((await Deno.stat(t.paths.home)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(t.paths.health)).mode! & 0o777, 0o600);
    // A new recording under a finished one's name never reuses its chunk paths.
    const again = lines.slice(0, 5).join("\n") + "\n";
    await Deno.writeTextFile(cast, again);
    const againSize = new TextEncoder().encode(again).length;
    await waitFor(
      async () => (await remoteEnd(t.paths.backupGit, { id: "session-v3~2" })) === againSize,
      { what: "the second recording under the same name" },
    );
    assert.deepEqual(await restoreFromRemote(t.paths.backupGit, { id: "session-v3" }), original);
  });
});

Deno.test("continuous output with no idle gap is still chunked, each chunk within max_chunk_bytes plus one line", async () => {
  const settings = { ...FAST, idle_threshold: 30, max_chunk_bytes: 4096, max_chunk_seconds: 1 };
  await withDaemon(settings, async ({ t }) => {
    await waitForHealth(t.paths.health, (h) => h.pid > 0 && h.status !== "starting");
    const cast = join(t.paths.active, "busy.cast");
    const file = await Deno.open(cast, { create: true, append: true, mode: 0o600 });
    const encoder = new TextEncoder();
    await file.write(encoder.encode('{"version": 2, "width": 80, "height": 24}\n'));
    let longest = 0;
    let i = 0;
    // Keep writing (never idle for 30 s) until chunks have reached the remote.
    await waitFor(async () => {
      for (let k = 0; k < 20; k++, i++) {
        const line = JSON.stringify([i / 100, "o", "x".repeat(20 + (i * 37) % 400)]) + "\n";
        longest = Math.max(longest, line.length);
        await file.write(encoder.encode(line));
      }
      return (await remoteChunks(t.paths.backupGit, { id: "busy" })).length >= 4;
    }, { timeoutMs: 60_000, what: "chunks while output never pauses", intervalMs: 20 });
    file.close();
    const chunks = await remoteChunks(t.paths.backupGit, { id: "busy" });
    assertTiling(chunks);
    for (const chunk of chunks) {
      assert.ok(
        chunk.end - chunk.start <= 4096 + longest,
        `chunk ${chunk.seq} holds ${chunk.end - chunk.start} bytes`,
      );
    }
    const prefix = (await Deno.readFile(cast)).subarray(0, chunks.at(-1)!.end);
    assert.deepEqual(await restoreFromRemote(t.paths.backupGit, { id: "busy" }), prefix);
  });
});

Deno.test("active/ deleted and recreated: the reconcile scan picks up new recordings", async () => {
  await withDaemon({ ...FAST, scan_interval_seconds: 0.5 }, async ({ t }) => {
    await waitForHealth(t.paths.health, (h) => h.status === "ok");
    await Deno.remove(t.paths.active, { recursive: true });
    await Deno.mkdir(t.paths.active);
    const cast = join(t.paths.active, "after.cast");
    await Deno.writeTextFile(cast, '{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "hi"]\n');
    const size = (await Deno.stat(cast)).size;
    await waitFor(async () => (await remoteEnd(t.paths.backupGit, { id: "after" })) === size, {
      what: "the recording in the recreated active/",
    });
  });
});
