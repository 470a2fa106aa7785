/**
 * No value becomes a git option (issue 23, point 6): a `repo_url` or branch
 * that starts with `-` — in config.json, in a recording's `.json`, or given
 * as `--repo` — is refused with a message naming the key, and the program it
 * smuggles (`--upload-pack=CMD`) never runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { exists } from "../../lib/sys/mod.ts";
import { ignoreWithout, makeTestHome } from "../support/env.ts";
import { runOnce, waitForHealth, writeConfig } from "../support/daemon.ts";
import { makeCast, runDaemonCli } from "../support/fake_branch.ts";
import { bareRemote } from "../support/recording.ts";

const TOOLS = ["git", "zstd"];

Deno.test({
  name:
    "repo_url and branch starting with - are refused everywhere; the smuggled program never runs",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const t = await makeTestHome("option-injection-");
    try {
      const marker = join(t.root, "pwned");
      const evil = `--upload-pack=touch ${marker};git-upload-pack`;

      // 1. config.json: the daemon refuses to start on it, naming the key.
      await writeConfig(t.paths.home, { repo_url: evil, idle_threshold: 0.1 });
      const refused = await runOnce(t.env);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /repo_url/);
      await writeConfig(t.paths.home, { branch: "--output=/tmp/x", idle_threshold: 0.1 });
      const badBranch = await runOnce(t.env);
      assert.notEqual(badBranch.code, 0);
      assert.match(badBranch.stderr, /branch/);

      // 2. A recording's .json: that recording is held, naming the key.
      const remote = bareRemote(t, "good");
      await writeConfig(t.paths.home, { repo_url: remote, idle_threshold: 0.1 });
      await Deno.mkdir(t.paths.active, { recursive: true });
      await Deno.writeFile(join(t.paths.active, "evil.cast"), makeCast(5));
      await Deno.writeTextFile(
        join(t.paths.active, "evil.json"),
        JSON.stringify({ repo_url: evil, ended: true }),
      );
      await runOnce(t.env);
      const health = await waitForHealth(
        t.paths.health,
        (h) => h.recordings.evil?.state === "held",
        { what: "evil held" },
      );
      const held = health.recordings.evil;
      assert.match(JSON.stringify(held), /repo_url/);

      // 3. --repo on the command line.
      const listed = await runDaemonCli(["list", `--repo=${evil}`], { env: t.env, cwd: t.root });
      assert.notEqual(listed.code, 0);
      assert.match(listed.stderr, /cannot start with "-"/);

      assert.equal(await exists(marker), false, "git never ran the smuggled program");
    } finally {
      await t.cleanup();
    }
  },
});
