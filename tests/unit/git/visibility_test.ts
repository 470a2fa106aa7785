/** The public-repository guard: the pure decision and the GitHub API call. */
import assert from "node:assert/strict";
import {
  decideVisibility,
  fetchVisibility,
  githubRepoOf,
  REFUSED_RECHECK_MS,
  UNKNOWN_RECHECK_MS,
  VISIBILITY_RECHECK_MS,
  type VisibilityAnswer,
  visibilityDue,
} from "../../../lib/git/mod.ts";
import { startGitHubApi } from "../../support/github_api.ts";

Deno.test("GitHub remotes: github.com in every form, an Enterprise host only when github_api names it; local ones never", () => {
  const api = "https://ghe.example/api/v3";
  assert.deepEqual(githubRepoOf("https://github.com/alice/rec.git"), {
    api: "https://api.github.com",
    owner: "alice",
    repo: "rec",
  });
  assert.deepEqual(githubRepoOf("git@github.com:alice/rec.git")?.repo, "rec");
  assert.deepEqual(githubRepoOf("https://ghe.example/team/rec.git", { githubApi: api }), {
    api,
    owner: "team",
    repo: "rec",
  });
  assert.equal(githubRepoOf("https://ghe.example/team/rec.git"), undefined);
  assert.equal(githubRepoOf("https://gitlab.com/team/rec.git", { githubApi: api }), undefined);
  for (const url of ["/srv/backup.git", "file:///srv/backup.git", "git@gitlab.com:a/b.git"]) {
    assert.equal(githubRepoOf(url, { githubApi: api }), undefined, url);
  }
  // Tests: a loopback git server is GitHub's when github_api is on the same host.
  assert.equal(
    githubRepoOf("http://127.0.0.1:4001/rec.git", { githubApi: "http://127.0.0.1:4002" }),
    undefined, // one path segment: no owner
  );
  assert.deepEqual(
    githubRepoOf("http://127.0.0.1:4001/alice/rec.git", { githubApi: "http://127.0.0.1:4002" }),
    { api: "http://127.0.0.1:4002", owner: "alice", repo: "rec" },
  );
});

Deno.test("the decision: not GitHub, allow_public and encrypted chunks go unasked; plaintext needs a fresh answer", () => {
  const repo = { api: "https://api.github.com", owner: "a", repo: "r" };
  const at = 1_000_000;
  const answer = (visibility: VisibilityAnswer["visibility"], extra = {}): VisibilityAnswer => ({
    visibility,
    at,
    ...extra,
  });
  const base = { repo, answer: null, now: at, plaintext: true, allowPublic: false };
  assert.deepEqual(decideVisibility({ ...base, repo: undefined }), {
    action: "allow",
    why: "not-github",
  });
  assert.deepEqual(decideVisibility({ ...base, allowPublic: true }), {
    action: "allow",
    why: "allow_public",
  });
  assert.deepEqual(decideVisibility({ ...base, plaintext: false }), {
    action: "allow",
    why: "encrypted",
  });
  assert.deepEqual(decideVisibility(base), { action: "check" });
  assert.deepEqual(decideVisibility({ ...base, answer: answer("private") }), {
    action: "allow",
    why: "private",
  });
  const refused = decideVisibility({ ...base, answer: answer("public") });
  assert.equal(refused.action, "refuse");
  assert.match(
    refused.action === "refuse" ? refused.message : "",
    /a\/r is a public GitHub repository.*encryption\.recipients.*"allow_public": true/,
  );
  const unknown = decideVisibility({ ...base, answer: answer("unknown", { error: "HTTP 500" }) });
  assert.equal(unknown.action === "refuse" && unknown.visibility, "unknown");
  // Answers age: private after 24 h, public (holding data back) after 1 h, failures after 1 min.
  assert.equal(visibilityDue(answer("private"), at + VISIBILITY_RECHECK_MS - 1), false);
  assert.equal(visibilityDue(answer("private"), at + VISIBILITY_RECHECK_MS), true);
  assert.equal(visibilityDue(answer("public"), at + REFUSED_RECHECK_MS), true);
  assert.equal(visibilityDue(answer("unknown"), at + UNKNOWN_RECHECK_MS), true);
  assert.equal(visibilityDue(answer("private", { stale: true }), at), true, "after a rejection");
  assert.deepEqual(
    decideVisibility({ ...base, answer: answer("private"), now: at + VISIBILITY_RECHECK_MS }),
    { action: "check" },
  );
});

Deno.test("the GitHub API call: private, public, anonymous 404, a token that cannot see it, no answer", async () => {
  const api = await startGitHubApi({
    tokens: {
      tok: {
        login: "alice",
        repos: { "alice/secret": { push: true }, "alice/open": { push: true, private: false } },
      },
    },
  });
  try {
    const repo = (name: string) => ({ api: api.url, owner: "alice", repo: name });
    assert.deepEqual(await fetchVisibility(repo("secret"), { token: "tok" }), {
      visibility: "private",
    });
    assert.deepEqual(await fetchVisibility(repo("open"), { token: "tok" }), {
      visibility: "public",
    });
    assert.deepEqual(await fetchVisibility(repo("open")), { visibility: "public" });
    assert.deepEqual(await fetchVisibility(repo("secret")), { visibility: "private" });
    const hidden = await fetchVisibility(repo("other"), { token: "tok" });
    assert.equal(hidden.visibility, "unknown");
    assert.match(hidden.error ?? "", /HTTP 404.*cannot see alice\/other/);
    const rejected = await fetchVisibility(repo("secret"), { token: "wrong" });
    assert.match(rejected.error ?? "", /HTTP 401.*token was rejected/);
    assert.ok(api.requests.every((r) => r.token === undefined || !r.path.includes(r.token)));
  } finally {
    await api.stop();
  }
  const gone = await fetchVisibility({ api: "http://127.0.0.1:1", owner: "a", repo: "b" });
  assert.equal(gone.visibility, "unknown");
});
