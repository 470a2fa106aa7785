/**
 * bootstrap.ts's logic in process: where a recording goes (`--repo`,
 * REPO_URL, config.json, git origin) and the daemon preflight. The real
 * bootstrap process (sourcing, tmux, asciinema) is tests/e2e/bootstrap_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "../../../lib/sys/mod.ts";
import type { Health } from "../../../lib/status/mod.ts";
import { checkDaemon, resolveTarget } from "../../../bootstrap.ts";
import { ignoreWithout, makeTestHome } from "../../support/env.ts";

Deno.test({
  name: "repo and branch: --repo, REPO_URL, config.json, git origin (GitHub SSH -> HTTPS), default",
  ignore: ignoreWithout(["git"]),
  async fn() {
    const t = await makeTestHome();
    try {
      const work = join(t.root, "work");
      await Deno.mkdir(work);
      await Deno.mkdir(t.paths.home, { recursive: true });
      const env = (vars: Record<string, string>) => ({ get: (key: string) => vars[key] });
      const configPath = t.paths.config;
      const resolveWith = (
        options: { repo?: string; branch?: string },
        vars: Record<string, string> = {},
      ) => resolveTarget(options, { cwd: work, configPath, env: env(vars) });

      // Nothing anywhere (not a git repository): the daemon's default.
      let { target } = await resolveWith({});
      assert.equal(target.repoUrl, undefined);
      assert.equal(target.repoSource, "default");
      assert.equal(target.branch, "asciinema-recordings");

      // origin, GitHub SSH form -> HTTPS.
      const git = (args: string[]) =>
        run("git", { args, cwd: work, env: t.env, clearEnv: true, timeoutMs: 20_000 });
      assert.ok((await git(["init", "-q"])).success);
      assert.ok((await git(["remote", "add", "origin", "git@github.com:acme/proj.git"])).success);
      ({ target } = await resolveWith({}));
      assert.deepEqual(
        [target.repoUrl, target.repoSource],
        ["https://github.com/acme/proj.git", "origin"],
      );

      // config.json beats origin; REPO_URL beats config.json; --repo beats all.
      await Deno.writeTextFile(
        configPath,
        JSON.stringify({ repo_url: "https://example.com/cfg.git", branch: "cfg-branch" }),
      );
      ({ target } = await resolveWith({}));
      assert.deepEqual(
        [target.repoUrl, target.repoSource, target.branch, target.branchSource],
        ["https://example.com/cfg.git", "config.json", "cfg-branch", "config.json"],
      );
      ({ target } = await resolveWith({}, {
        REPO_URL: "https://example.com/env.git",
        BRANCH: "env-branch",
      }));
      assert.deepEqual(
        [target.repoUrl, target.repoSource, target.branch, target.branchSource],
        ["https://example.com/env.git", "REPO_URL", "env-branch", "BRANCH"],
      );
      const explicit = await resolveWith(
        { repo: "https://user:ghp_secret123@github.com/o/r.git", branch: "flag-branch" },
        { REPO_URL: "https://example.com/env.git", BRANCH: "env-branch" },
      );
      assert.deepEqual(
        [explicit.target.repoUrl, explicit.target.repoSource, explicit.target.branch],
        ["https://github.com/o/r.git", "--repo", "flag-branch"],
      );
      assert.match(explicit.warnings.join("\n"), /credentials; they were removed/);
      assert.doesNotMatch(explicit.warnings.join("\n"), /ghp_secret123/);

      // Relative local paths are made absolute (the daemon runs elsewhere).
      ({ target } = await resolveWith({ repo: "../backup.git" }));
      assert.equal(target.repoUrl, join(t.root, "backup.git"));

      await assert.rejects(() => resolveWith({ branch: "bad branch" }), /not a valid git branch/);
      await assert.rejects(
        () => resolveWith({ repo: "http://example.com/r.git" }),
        /--repo: .*plain http/,
      );
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test("preflight: no health.json, stopped, dead pid, stale heartbeat, healthy", async () => {
  const t = await makeTestHome();
  try {
    await Deno.mkdir(t.paths.home, { recursive: true });
    const now = Date.parse("2026-01-01T00:01:00Z");
    const health = (patch: Partial<Health>): Health => ({
      status: "ok",
      message: "ok",
      last_update: "2026-01-01T00:00:59Z",
      last_push: null,
      chunks_pushed: 0,
      pid: 1234,
      idle_threshold: 30,
      zstd_level: 3,
      heartbeat: "2026-01-01T00:00:59Z",
      heartbeat_interval_seconds: 15,
      started_at: "2026-01-01T00:00:00Z",
      recordings: {},
      remotes: {},
      last_error: null,
      ...patch,
    });
    const check = async (patch: Partial<Health> | null, alive = true) => {
      if (patch) await Deno.writeTextFile(t.paths.health, JSON.stringify(health(patch)));
      return await checkDaemon(t.paths.health, { now, isAlive: () => Promise.resolve(alive) });
    };
    let result = await check(null);
    assert.ok(!result.running);
    assert.match(result.problem!, /never run/);
    result = await check({ status: "stopped" });
    assert.ok(!result.running);
    assert.match(result.problem!, /stopped/);
    result = await check({}, false);
    assert.ok(!result.running);
    assert.match(result.problem!, /pid 1234\) is gone/);
    // 45 s = 3 x 15 s: stale.
    result = await check({ heartbeat: "2026-01-01T00:00:15Z" });
    assert.ok(!result.running);
    assert.match(result.problem!, /heartbeat for 45 s/);
    result = await check({ heartbeat: "2026-01-01T00:00:20Z" });
    assert.ok(result.running);
    assert.equal(result.problem, null);
    result = await check({ status: "degraded", message: "push failing" });
    assert.ok(result.running);
    assert.match(result.problem!, /degraded: push failing/);
  } finally {
    await t.cleanup();
  }
});
