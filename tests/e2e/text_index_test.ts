/**
 * The text index the daemon commits when a recording ends (issue 16) is
 * derived data: a remote that refuses it never holds back a recording's
 * chunks, its manifest or its finish, and the index follows once the remote
 * takes it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import { FAST_SETTINGS, remoteEnd, startDaemon, writeConfig } from "../support/daemon.ts";
import { startGitHttpServer } from "../support/git_http_server.ts";
import { appendBurst, V3_HEADER } from "../support/recording.ts";
import { exists } from "../../lib/sys/fs.ts";
import { git } from "../../lib/git/hermetic.ts";

const TOOLS = ["git", "zstd"];
const TOKEN = "ghp_TestToken0123456789abcdefABCDEFghij";

/** Refuses any push that brings a text index. */
const REFUSE_INDEXES = `#!/bin/sh
while read old new ref; do
  if [ "$old" = 0000000000000000000000000000000000000000 ]; then range=$new; else range=$old..$new; fi
  if git log --name-only --format= $range | grep -q 'text.zst'; then
    echo 'text indexes are not welcome here' >&2
    exit 1
  fi
done
exit 0
`;

/** The files directly under `recordings/<id>/` (not the chunks' records in its `chunks/`). */
async function files(gitDir: string, id: string): Promise<string[]> {
  const listed = await git(
    ["ls-tree", "refs/heads/asciinema-recordings", "--", `recordings/${id}/`],
    { gitDir },
  );
  return listed.stdout.split("\n").filter((line) => line.includes(" blob "))
    .map((line) => line.split("\t")[1].split("/").pop()!);
}

Deno.test({
  name:
    "a remote that refuses the text index: the recording still finishes, other recordings keep pushing, the index follows once it is accepted",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    const server = await startGitHttpServer({ token: TOKEN });
    const t = await makeTestHome();
    try {
      await server.createRepo("r");
      await server.setPreReceiveHook("r", REFUSE_INDEXES);
      const remote = server.repoPath("r");
      await writeConfig(t.paths.home, {
        ...FAST_SETTINGS,
        repo_url: server.repoUrl("r"),
        github_token_hosts: ["127.0.0.1"],
      });
      await Deno.mkdir(t.paths.active, { recursive: true });
      await Deno.writeTextFile(
        join(t.paths.active, "a.cast"),
        V3_HEADER + '[0.1, "o", "needle in a\\r\\n"]\n[0.1, "x", "0"]\n',
      );
      const daemon = startDaemon({ ...t.env, ASCIINEMA_GITHUB_PAT: TOKEN });
      try {
        await waitFor(() => exists(join(t.paths.done, "a.cast")), { what: "a finished" });
        assert.deepEqual(await files(remote, "a"), ["manifest.json"]);
        await waitFor(
          async () => {
            const todo = join(t.paths.textIndex, "a.json");
            return await exists(todo) && (await Deno.readTextFile(t.paths.logFile))
              .includes("Pushing the text index of a failed");
          },
          { what: "the refused index noted and kept to do" },
        );
        // Another recording's chunks are not held back behind the refused index.
        const size = await appendBurst(join(t.paths.active, "b.cast"), "bee", 5);
        await waitFor(async () => (await remoteEnd(remote, { id: "b" })) === size, {
          what: "b's chunks on the remote while a's index is refused",
        });
        assert.deepEqual(await files(remote, "a"), ["manifest.json"]);
        // The remote accepts it now: the retry brings the index.
        await server.setPreReceiveHook("r", null);
        await waitFor(async () => (await files(remote, "a")).includes("text.zst"), {
          what: "a's index once the remote accepts it",
          timeoutMs: 60_000,
        });
        await waitFor(async () => !(await exists(join(t.paths.textIndex, "a.json"))), {
          what: "the to-do removed",
        });
      } finally {
        daemon.kill("SIGTERM");
        await daemon.wait();
      }
    } finally {
      await server.stop();
      await t.cleanup();
    }
  },
});
