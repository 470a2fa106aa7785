/**
 * Issue 15: bootstrap.ts says, next to "backed up to", whether the chunks are
 * encrypted and whether the GitHub repository is public (here from the
 * daemon's last answer in health.json), warns when a public repository would
 * get plaintext, and `--allow-public` marks the recording's `.json`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout } from "../support/env.ts";
import { finished, idFrom, startBootstrap, withBootstrapHome } from "../support/bootstrap_run.ts";
import { writeConfig } from "../support/daemon.ts";
import { repoSlug } from "../../lib/git/mod.ts";
import { readRecordingConfig } from "../../lib/recording/mod.ts";
import { newIdentity } from "../../lib/crypto/mod.ts";

Deno.test({
  name:
    "bootstrap prints whether chunks are encrypted and the GitHub repository's visibility; a public one without encryption is warned about",
  ignore: ignoreWithout(["asciinema", "tmux"]),
  async fn() {
    await withBootstrapHome(async ({ t, tmux }) => {
      const url = "https://github.com/alice/open.git";
      const branch = "asciinema-recordings";
      await writeConfig(t.paths.home, { repo_url: url });
      // The daemon asked GitHub before: health.json holds its answer.
      await Deno.writeTextFile(
        t.paths.health,
        JSON.stringify({ remotes: { [repoSlug({ url, branch })]: { visibility: "public" } } }),
      );
      const args = ["--command", "echo recorded", "--wait", "0"];
      const plain = await finished(
        tmux,
        await startBootstrap(t, tmux, { cwd: t.root, name: "plain", args }),
      );
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stderr, /backed up to https:\/\/github\.com\/alice\/open\.git/);
      assert.match(
        plain.stderr,
        /^ {2}chunks not encrypted; PUBLIC GitHub repository alice\/open$/m,
      );
      assert.match(
        plain.stderr,
        /WARNING: alice\/open is a public GitHub repository: the daemon will not push/,
      );

      const { recipient } = await newIdentity();
      await writeConfig(t.paths.home, { repo_url: url, encryption: { recipients: [recipient] } });
      const sealed = await finished(
        tmux,
        await startBootstrap(t, tmux, {
          cwd: t.root,
          name: "sealed",
          args: [...args, "--allow-public"],
        }),
      );
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.match(
        sealed.stderr,
        /^ {2}chunks encrypted \(age, 1 recipient\); PUBLIC GitHub repository alice\/open$/m,
      );
      assert.doesNotMatch(sealed.stderr, /WARNING: alice\/open/);
      const config = await readRecordingConfig(
        join(t.paths.active, `${idFrom(sealed.stderr)}.json`),
      );
      assert.ok(config.ok && config.config.allow_public === true);
    });
  },
});
