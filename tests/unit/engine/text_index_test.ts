/**
 * The daemon's text index of finished recordings (lib/engine/text_index/text_index.ts):
 * a to-do left by a previous run is picked up, built from `done/` and
 * pushed; one whose file is gone is noted and retried, never thrown.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TextIndexer } from "../../../lib/engine/text_index/text_index.ts";
import { Remotes } from "../../../lib/engine/publish/remotes.ts";
import { systemClock } from "../../../lib/sys/clock.ts";
import { fingerprintAt } from "../../../lib/engine/cut/identity.ts";
import { git } from "../../../lib/git/hermetic.ts";
import { ensureHome, parseSettings, writeJsonAtomic } from "../../../lib/sys/mod.ts";
import { makeTestHome, type TestHome } from "../../support/env.ts";
import { bareRemote, V3_HEADER } from "../../support/recording.ts";

async function rig(t: TestHome) {
  await ensureHome(t.paths);
  await Deno.writeTextFile(t.paths.gitConfig, "");
  const abort = new AbortController();
  // No generation has work: the remotes' queues run only the index's jobs.
  const remotes = new Remotes({
    paths: t.paths,
    settings: parseSettings({ retry_max_seconds: 1, verify_interval_seconds: 3600 }),
    clock: systemClock,
    signal: abort.signal,
    host: {
      sources: () => [],
      prepare: () => Promise.resolve(),
      manifestExtra: () => ({}),
      recut: () => Promise.resolve(),
      update: () => Promise.resolve(),
      published: () => {},
      changed: () => {},
      notBefore: () => 0,
      absorb: () => Promise.resolve(),
      live: () => new Map(),
    },
  });
  const indexer = new TextIndexer({
    paths: t.paths,
    settings: parseSettings({ retry_max_seconds: 1 }),
    clock: systemClock,
    signal: abort.signal,
    remotes,
  });
  return {
    indexer,
    async close() {
      indexer.stop();
      abort.abort();
      await remotes.stop();
    },
  };
}

async function indexOnRemote(remote: string, id: string): Promise<boolean> {
  const result = await git(
    ["cat-file", "-e", `refs/heads/asciinema-recordings:recordings/${id}/text.zst`],
    { gitDir: remote },
  );
  return result.success;
}

Deno.test("a to-do left by the previous run is built from done/ and pushed, then removed", async () => {
  const t = await makeTestHome();
  const { indexer, close } = await rig(t);
  try {
    const remote = bareRemote(t, "remote.git");
    const cast = join(t.paths.done, "r.cast");
    const text = V3_HEADER + '[0.5, "o", "left over from before the restart\\r\\n"]\n';
    await Deno.writeTextFile(cast, text);
    using file = await Deno.open(cast, { read: true });
    await Deno.mkdir(t.paths.textIndex, { recursive: true });
    const todo = join(t.paths.textIndex, "r.json");
    await writeJsonAtomic(todo, {
      id: "r",
      cast,
      bytes: text.length,
      fingerprint: await fingerprintAt(file, text.length),
      remote: { url: remote, branch: "asciinema-recordings" },
      encrypted: false,
      failures: 0,
    });
    await indexer.resume();
    await indexer.settle();
    assert.ok(await indexOnRemote(remote, "r"), "the index was pushed");
    await assert.rejects(Deno.stat(todo), Deno.errors.NotFound);
  } finally {
    await close();
    await t.cleanup();
  }
});

Deno.test("a to-do whose file is gone (or changed) is noted for a retry; nothing is thrown or pushed", async () => {
  const t = await makeTestHome();
  const { indexer, close } = await rig(t);
  try {
    const remote = bareRemote(t, "remote.git");
    await Deno.mkdir(t.paths.textIndex, { recursive: true });
    const todo = join(t.paths.textIndex, "gone.json");
    await writeJsonAtomic(todo, {
      id: "gone",
      cast: join(t.paths.done, "gone.cast"),
      bytes: 100,
      fingerprint: null,
      remote: { url: remote, branch: "asciinema-recordings" },
      failures: 0,
    });
    await indexer.resume();
    await indexer.settle();
    const noted = JSON.parse(await Deno.readTextFile(todo));
    assert.equal(noted.failures, 1);
    assert.match(noted.last_error, /gone\.cast/);
    assert.equal(await indexOnRemote(remote, "gone"), false);
  } finally {
    await close();
    await t.cleanup();
  }
});
