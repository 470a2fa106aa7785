/**
 * Bounded work on hostile input (issue 23, point 9 and the low items): a
 * chunk that decompresses to far more than its name claims stops at the
 * claim (`restore`, `verify`, `text`, `search`), a manifest blob above a sane
 * size is never read, a chunk range past 2^53 is a stray, not a timer
 * overflow, and a text index with one endless line or a decompression bomb
 * is refused while it is read.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, type TestHome, waitFor } from "../support/env.ts";
import {
  FAST_SETTINGS,
  remoteChunks,
  startDaemon,
  waitForHealth,
  writeConfig,
} from "../support/daemon.ts";
import { bareRemote } from "../support/recording.ts";
import {
  initBare,
  makeCast,
  pushRecording,
  runDaemonCli,
  tamper,
  zstdCompress,
} from "../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];

/** 64 MiB of zeros as one zstd frame (a few KiB). */
async function bomb(): Promise<Uint8Array> {
  return await zstdCompress(new Uint8Array(64 << 20), 3);
}

async function withRepo(
  body: (
    t: TestHome,
    repo: string,
    cli: (args: string[]) => ReturnType<typeof runDaemonCli>,
  ) => Promise<void>,
) {
  const t = await makeTestHome("bounded-");
  try {
    const repo = join(t.root, "hostile.git");
    await initBare(repo);
    const cli = (args: string[]) => runDaemonCli(args, { env: t.env, cwd: t.root });
    await body(t, repo, cli);
  } finally {
    await t.cleanup();
  }
}

Deno.test({
  name: "a chunk that decompresses to more than its range is stopped at the claim everywhere",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withRepo(async (t, repo, cli) => {
      const cast = makeCast(12);
      const ranges = await pushRecording(repo, { id: "bomb", data: cast, manifest: true });
      const second = ranges[1];
      await tamper(repo, {
        path: `chunks/bomb/${
          String(second.seq).padStart(6, "0")
        }_${second.start}-${second.end}.cast.zst`,
        content: await bomb(),
      });
      const out = join(t.root, "out");
      await Deno.mkdir(out);
      const restored = await cli(["restore", "--repo", repo, "bomb", "-o", join(out, "b.cast")]);
      assert.notEqual(restored.code, 0);
      assert.match(restored.stderr, /decompresses to more than its \d+ bytes/);
      assert.deepEqual([...Deno.readDirSync(out)], [], "nothing was left written");
      const verified = await cli(["verify", "--repo", repo, "bomb"]);
      assert.notEqual(verified.code, 0);
      assert.match(verified.stdout + verified.stderr, /decompresses to more than its \d+ bytes/);
      const text = await cli(["text", "--repo", repo, "bomb"]);
      assert.notEqual(text.code, 0);
      assert.match(text.stderr, /decompresses to more than/);
      // A regular recording beside it still reads.
      await pushRecording(repo, { id: "fine", data: makeCast(5, { seed: "fine" }) });
      const fine = await cli(["restore", "--repo", repo, "fine", "-o", join(out, "f.cast")]);
      assert.equal(fine.code, 0, fine.stderr);
    });
  },
});

Deno.test({
  name: "a huge manifest blob is not read, a chunk range past 2^53 is a stray; one-line answers",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await withRepo(async (_t, repo, cli) => {
      await pushRecording(repo, { id: "big", data: makeCast(5), manifest: true });
      await tamper(repo, {
        path: "recordings/big/manifest.json",
        content: new TextEncoder().encode(`{"id":"big","pad":"${"x".repeat(2 << 20)}"}`),
      });
      await tamper(repo, {
        path: "chunks/huge/000000_0-99999999999999999999.cast.zst",
        content: await zstdCompress(new TextEncoder().encode("x\n")),
      });
      const listed = await cli(["list", "--repo", repo]);
      assert.match(listed.stdout, /big +manifest unreadable/);
      const verified = await cli(["verify", "--repo", repo]);
      const said = verified.stdout + verified.stderr;
      assert.match(said, /more than the 1048576 it may be/);
      assert.doesNotMatch(said, /TimeoutOverflowWarning|\n\s+at /);
      assert.match(said, /huge/);
    });
  },
});

Deno.test({
  name:
    "600 KiB of hostile error text from one remote never stalls the heartbeat or another remote",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome("bounded-stderr-");
    const daemon = { proc: undefined as ReturnType<typeof startDaemon> | undefined };
    try {
      const good = bareRemote(t, "good.git");
      // An ssh remote whose every connection fails with one long line that a backtracking
      // pattern would take minutes over ("ssh -G" answers as ssh does).
      const bin = join(t.root, "bin");
      await Deno.mkdir(bin);
      await Deno.writeTextFile(
        join(bin, "ssh"),
        `#!/bin/sh\nif [ "$1" = "-G" ]; then printf 'hostname hostile.example\\nport 22\\n'; ` +
          `exit 0; fi\nhead -c 614400 /dev/zero | tr '\\0' 'p' | ` +
          `sed 's/pppppppppppppp/permission to /g' >&2\necho >&2\nexit 255\n`,
      );
      await Deno.chmod(join(bin, "ssh"), 0o755);
      t.env.PATH = `${bin}:${t.env.PATH}`;
      const hostile = "git@hostile.example:o/r.git";
      await writeConfig(t.paths.home, { ...FAST_SETTINGS });
      await Deno.mkdir(t.paths.active, { recursive: true });
      for (const [id, remote] of [["stuck", hostile], ["fine", good]]) {
        await Deno.writeFile(join(t.paths.active, `${id}.cast`), makeCast(8, { seed: id }));
        await Deno.writeTextFile(
          join(t.paths.active, `${id}.json`),
          JSON.stringify({ repo_url: remote, ended: true }),
        );
      }
      daemon.proc = startDaemon(t.env);
      const first = await waitForHealth(
        t.paths.health,
        (h) => Object.values(h.remotes).some((r) => r.url.includes("hostile") && r.last_error),
        { what: "the hostile remote's failure in health" },
      );
      assert.ok(first.recordings.stuck, "the stuck recording is still shown");
      await waitFor(async () => (await remoteChunks(good, { id: "fine" })).length > 0, {
        what: "the other remote's chunks",
      });
      const later = await waitForHealth(t.paths.health, (h) => h.heartbeat > first.heartbeat, {
        what: "a heartbeat after the failure",
      });
      const error = Object.values(later.remotes).find((r) => r.url.includes("hostile"))!
        .last_error ?? "";
      assert.ok(error.length < 4096, `the error kept is bounded (${error.length})`);
    } finally {
      daemon.proc?.kill("SIGTERM");
      await daemon.proc?.wait();
      await t.cleanup();
    }
  },
});
