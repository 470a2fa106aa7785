/** What bootstrap prints next to "backed up to": encryption, and a GitHub repository's visibility. */
import assert from "node:assert/strict";
import { backupNote } from "../../../lib/recording/backup_note.ts";
import { repoSlug } from "../../../lib/git/mod.ts";
import { newIdentity } from "../../../lib/crypto/mod.ts";
import { ensureHome } from "../../../lib/sys/mod.ts";
import { makeTestHome } from "../../support/env.ts";
import { startGitHubApi } from "../../support/github_api.ts";

Deno.test("bootstrap's note: encryption, the daemon's answer or one anonymous API call, and the public warning", async () => {
  const t = await makeTestHome();
  const api = await startGitHubApi({
    tokens: {
      t0k: {
        login: "alice",
        repos: { "alice/open": { push: true, private: false }, "alice/secret": { push: true } },
      },
    },
  });
  try {
    await ensureHome(t.paths);
    const branch = "asciinema-recordings";
    const { recipient } = await newIdentity();
    const local = await backupNote({ paths: t.paths, config: {}, repoUrl: "/srv/b.git", branch });
    assert.deepEqual(local, { recipients: 0, text: "not encrypted", warning: null });
    const sealed = await backupNote({
      paths: t.paths,
      config: { encryption: { recipients: [recipient] } },
      branch,
    });
    assert.equal(sealed.text, "encrypted (age, 1 recipient)");

    const github = { github_api: api.url };
    const open = `http://127.0.0.1:1/alice/open.git`;
    const publicNote = await backupNote({ paths: t.paths, config: github, repoUrl: open, branch });
    assert.equal(publicNote.text, "not encrypted; PUBLIC GitHub repository alice/open");
    assert.match(publicNote.warning ?? "", /WARNING: alice\/open is a public GitHub repository/);
    assert.match(publicNote.warning ?? "", /--allow-public/);
    assert.equal(api.requests.at(-1)?.token, undefined, "anonymous: no token is read or sent");
    const allowed = await backupNote({
      paths: t.paths,
      config: github,
      repoUrl: open,
      branch,
      allowPublic: true,
    });
    assert.equal(allowed.warning, null);
    const encrypted = await backupNote({
      paths: t.paths,
      config: { ...github, encryption: { recipients: [recipient] } },
      repoUrl: open,
      branch,
    });
    assert.equal(
      encrypted.text,
      "encrypted (age, 1 recipient); PUBLIC GitHub repository alice/open",
    );
    assert.equal(encrypted.warning, null);
    const hidden = await backupNote({
      paths: t.paths,
      config: github,
      repoUrl: "http://127.0.0.1:1/alice/secret.git",
      branch,
    });
    assert.equal(
      hidden.text,
      "not encrypted; GitHub repository alice/secret, not publicly visible",
    );

    // The daemon's last answer (health.json) comes first: no request.
    const secret = "http://127.0.0.1:1/alice/secret.git";
    await Deno.writeTextFile(
      t.paths.health,
      JSON.stringify({
        remotes: { [repoSlug({ url: secret, branch })]: { visibility: "private" } },
      }),
    );
    const before = api.requests.length;
    const cached = await backupNote({ paths: t.paths, config: github, repoUrl: secret, branch });
    assert.equal(cached.text, "not encrypted; private GitHub repository alice/secret");
    assert.equal(api.requests.length, before);

    // An SSH alias of the GitHub host is what it resolves to; one ssh cannot resolve is said so.
    const sshConfig = (host: string) =>
      host === "ghe-work"
        ? Promise.resolve({ hostname: "127.0.0.1" })
        : Promise.reject(new Error("ssh -G failed"));
    const alias = await backupNote({
      paths: t.paths,
      config: github,
      repoUrl: "git@ghe-work:alice/open.git",
      branch,
      sshConfig,
    });
    assert.equal(alias.text, "not encrypted; PUBLIC GitHub repository alice/open");
    assert.match(alias.warning ?? "", /public GitHub repository/);
    const lost = await backupNote({
      paths: t.paths,
      config: github,
      repoUrl: "git@nowhere:alice/open.git",
      branch,
      sshConfig,
    });
    assert.match(lost.text, /could not be told .*holds its plaintext chunks/);

    // No answer in time: unknown, quickly.
    const slow = await backupNote({
      paths: t.paths,
      config: { github_api: "http://127.0.0.1:9" },
      repoUrl: open,
      branch,
      timeoutMs: 500,
    });
    assert.match(slow.text, /visibility not known yet/);
  } finally {
    await api.stop();
    await t.cleanup();
  }
});
