/**
 * Bad input (DESIGN.md invariant 7): each problem is logged once with a clear
 * message, shows in health.json, loses nothing, and leaves other recordings
 * alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestHome, waitFor } from "../support/env.ts";
import {
  readLogLines,
  remoteChunks,
  remoteEnd,
  restoreFromRemote,
  startDaemon,
  waitForHealth,
  writeConfig,
} from "../support/daemon.ts";

const HEADER = '{"version": 2, "width": 80, "height": 24}\n';

function events(tag: string, count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) text += JSON.stringify([i / 10, "o", `${tag} ${i}\r\n`]) + "\n";
  return text;
}

Deno.test("bad input is logged once, shown in health, loses nothing and leaves others alone", async () => {
  const t = await makeTestHome();
  await writeConfig(t.paths.home, {
    idle_threshold: 0.2,
    scan_interval_seconds: 0.5,
    heartbeat_seconds: 1,
    retry_max_seconds: 1,
  });
  await Deno.mkdir(t.paths.active, { recursive: true });
  const active = (name: string) => join(t.paths.active, name);
  const weird = ["with space 'q\"uote'", "-leading-dash", "\u00fcn\u00efc\u00f8d\u00e9\u2603 rec"];
  await Deno.writeTextFile(active("good.cast"), HEADER + events("good", 5));
  await Deno.writeTextFile(active("badjson.cast"), HEADER + events("badjson", 5));
  await Deno.writeTextFile(active("badjson.json"), "{not json");
  await Deno.writeTextFile(active("typed.cast"), HEADER + events("typed", 5));
  await Deno.writeTextFile(active("typed.json"), JSON.stringify({ repo_url: 5, branch: ["x"] }));
  await Deno.writeTextFile(active("notcast.cast"), "hello, I am not a recording\n");
  await Deno.writeTextFile(active("empty.cast"), "");
  const outside = join(t.root, "secret.cast");
  await Deno.writeTextFile(outside, HEADER + events("outside", 3));
  await Deno.symlink(outside, active("link.cast"));
  for (const name of weird) {
    await Deno.writeTextFile(active(`${name}.cast`), HEADER + events(name, 4));
  }
  await Deno.writeTextFile(active("trunc.cast"), HEADER + events("trunc-old", 30));
  await Deno.writeTextFile(active("repl.cast"), HEADER + events("repl-old", 10));

  const daemon = startDaemon(t.env);
  try {
    const remote = t.paths.backupGit;
    const onRemote = async (id: string, path: string) =>
      (await remoteEnd(remote, { id })) === (await Deno.stat(path)).size;
    for (const id of ["good", ...weird, "trunc", "repl"]) {
      await waitFor(() => onRemote(id, active(`${id}.cast`)), { what: `${id} on the remote` });
    }
    const health = await waitForHealth(
      t.paths.health,
      (h) =>
        h.recordings.badjson?.state === "held" && h.recordings.typed?.state === "held" &&
        h.recordings.notcast?.state === "error" && h.recordings.link?.state === "error" &&
        h.recordings.empty !== undefined,
      { what: "bad input in health.json" },
    );
    assert.equal(health.status, "degraded");
    assert.match(health.recordings.badjson.last_error!, /badjson\.json is invalid/);
    assert.match(health.recordings.typed.last_error!, /repo_url must be a string/);
    assert.match(health.recordings.notcast.last_error!, /not an asciicast file/);
    assert.match(health.recordings.link.last_error!, /symbolic link/);
    assert.match(health.recordings.empty.last_error!, /empty/);
    // Held recordings are cut (kept safe in the spool) but not pushed.
    assert.equal(health.recordings.badjson.spool_chunks, 1);
    assert.deepEqual(await remoteChunks(remote, { id: "badjson" }), []);
    // The symlink's target is never read.
    assert.deepEqual(await remoteChunks(remote, { id: "link" }), []);

    // Truncated and rewritten; replaced by a new file: new generations, old data stays.
    const truncOld = await Deno.readFile(active("trunc.cast"));
    const replOld = await Deno.readFile(active("repl.cast"));
    await Deno.writeTextFile(active("trunc.cast"), HEADER + events("trunc-new", 3));
    await Deno.writeTextFile(active("repl.cast.tmp"), HEADER + events("repl-new", 40));
    await Deno.rename(active("repl.cast.tmp"), active("repl.cast"));
    await waitFor(() => onRemote("trunc~2", active("trunc.cast")), { what: "trunc~2" });
    await waitFor(() => onRemote("repl~2", active("repl.cast")), { what: "repl~2" });
    assert.deepEqual(await restoreFromRemote(remote, { id: "trunc" }), truncOld);
    assert.deepEqual(await restoreFromRemote(remote, { id: "repl" }), replOld);
    assert.deepEqual(
      await restoreFromRemote(remote, { id: "trunc~2" }),
      await Deno.readFile(active("trunc.cast")),
    );

    // Several scans later, each problem is still logged exactly once.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const lines = await readLogLines(t.paths.home);
    const count = (pattern: RegExp) =>
      lines.filter((line) => pattern.test(String(line.message))).length;
    assert.equal(count(/badjson\.json is invalid/), 1);
    assert.equal(count(/typed\.json is invalid/), 1);
    assert.equal(count(/notcast\.cast is not backed up/), 1);
    assert.equal(count(/link\.cast is not backed up/), 1);
    assert.equal(count(/empty\.cast is empty/), 1);
    assert.equal(count(/trunc\.cast was replaced or truncated/), 1);

    // Fixing the config releases what was held: nothing was lost.
    await Deno.remove(active("badjson.json"));
    await waitFor(() => onRemote("badjson", active("badjson.cast")), { what: "badjson released" });
    assert.deepEqual(
      await restoreFromRemote(remote, { id: "badjson" }),
      await Deno.readFile(active("badjson.cast")),
    );
    for (const name of [...weird, "good"]) {
      assert.deepEqual(
        await restoreFromRemote(remote, { id: name }),
        await Deno.readFile(active(`${name}.cast`)),
      );
    }
  } finally {
    daemon.kill("SIGTERM");
    await daemon.wait();
    await t.cleanup();
  }
});
