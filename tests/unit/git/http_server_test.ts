/**
 * The loopback smart-HTTP git server: the right token pushes and clones,
 * a wrong or missing token is refused and counted, and the token can be
 * rotated while it runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startGitHttpServer } from "../../support/git_http_server.ts";
import { ignoreWithout } from "../../support/env.ts";
import { tokenAuth } from "../../../lib/git/mod.ts";

const TOKEN = "ghp_TestToken0123456789abcdefABCDEF0000";

/** Plain git (not lib/git/hermetic.ts) with the token as a GIT_CONFIG_COUNT entry only. */
function plainGit(
  args: string[],
  options: { cwd: string; origin?: string; token?: string },
): Promise<Deno.CommandOutput> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: options.cwd,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@localhost",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@localhost",
  };
  if (options.origin && options.token) {
    const [[key, value]] = tokenAuth(options.origin, options.token).config!;
    Object.assign(env, {
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: key,
      GIT_CONFIG_VALUE_0: value,
    });
  }
  return new Deno.Command("git", {
    args,
    cwd: options.cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test({
  name: "git http server: the token pushes and clones; a wrong or no token is refused",
  ignore: ignoreWithout(["git"]),
  async fn() {
    const server = await startGitHttpServer({ token: TOKEN });
    const work = await Deno.makeTempDir({ prefix: "git-http-test-" });
    try {
      await server.createRepo("rec");
      const url = server.repoUrl("rec");
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/rec\.git$/);
      const origin = `${server.url}/`;
      const src = join(work, "src");
      await Deno.mkdir(src);
      assert.ok((await plainGit(["init", "-q", "-b", "main"], { cwd: src })).success);
      // A bigger blob so the pack goes through the streamed body path.
      const big = new Uint8Array(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 65536) {
        crypto.getRandomValues(big.subarray(i, Math.min(big.length, i + 65536)));
      }
      await Deno.writeFile(join(src, "big.bin"), big);
      assert.ok((await plainGit(["add", "."], { cwd: src })).success);
      assert.ok((await plainGit(["commit", "-q", "-m", "one"], { cwd: src })).success);

      const wrong = await plainGit(["push", "-q", url, "main"], {
        cwd: src,
        origin,
        token: "ghp_wrongwrongwrongwrongwrong000000000",
      });
      assert.equal(wrong.success, false);
      assert.match(text(wrong.stderr), /could not read Username|Authentication failed|401/i);
      assert.ok(server.stats.rejected >= 1);

      const none = await plainGit(["push", "-q", url, "main"], { cwd: src });
      assert.equal(none.success, false);
      assert.ok(server.stats.unauthenticated >= 1);

      const ok = await plainGit(["push", "-q", url, "main"], { cwd: src, origin, token: TOKEN });
      assert.ok(ok.success, text(ok.stderr));
      assert.ok(server.stats.receivePacks >= 1);

      const clone = await plainGit(["clone", "-q", "-b", "main", url, join(work, "clone")], {
        cwd: work,
        origin,
        token: TOKEN,
      });
      assert.ok(clone.success, text(clone.stderr));
      assert.deepEqual(await Deno.readFile(join(work, "clone", "big.bin")), big);

      // Rotation: the old token stops working, the new one works.
      const next = "ghp_RotatedToken0123456789abcdefABCDEF";
      server.setToken(next);
      const rejectedBefore = server.stats.rejected;
      const stale = await plainGit(["ls-remote", url], { cwd: src, origin, token: TOKEN });
      assert.equal(stale.success, false);
      assert.ok(server.stats.rejected > rejectedBefore);
      const fresh = await plainGit(["ls-remote", url], { cwd: src, origin, token: next });
      assert.ok(fresh.success, text(fresh.stderr));
      assert.match(text(fresh.stdout), /refs\/heads\/main/);
    } finally {
      await server.stop();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "git http server: 403 mode answers Forbidden to a wrong token",
  ignore: ignoreWithout(["git"]),
  async fn() {
    const server = await startGitHttpServer({ token: TOKEN, forbiddenOnWrongToken: true });
    try {
      await server.createRepo("r");
      const response = await fetch(`${server.repoUrl("r")}/info/refs?service=git-upload-pack`, {
        headers: { Authorization: `Basic ${btoa("x:nope")}` },
      });
      await response.body?.cancel();
      assert.equal(response.status, 403);
      const good = await fetch(`${server.repoUrl("r")}/info/refs?service=git-upload-pack`, {
        headers: { Authorization: `Basic ${btoa(`anyone:${TOKEN}`)}` },
      });
      assert.equal(good.status, 200);
      assert.match(await good.text(), /# service=git-upload-pack/);
    } finally {
      await server.stop();
    }
  },
});
