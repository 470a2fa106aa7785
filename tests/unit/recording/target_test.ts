/**
 * Where a recording goes, in process (lib/recording/target.ts): `--repo`,
 * REPO_URL, config.json, git origin (GitHub SSH becomes HTTPS), the default.
 * The real bootstrap process (sourcing, tmux, asciinema) is
 * tests/e2e/bootstrap_test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "../../../lib/sys/mod.ts";
import { resolveTarget } from "../../../lib/recording/target.ts";
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
