/**
 * Where secrets and plaintext may go, decided by pure rules (issue 23):
 * the token's scope, the API host of a remote, host spellings, credentials
 * in URLs, names git would read as options.
 */
import assert from "node:assert/strict";
import {
  anonymousNote,
  createAuthResolver,
  fetchVisibility,
  gitAuthFor,
  githubRepoOf,
  normalizeHost,
  parseRemoteUrl,
  RemoteUrlError,
  tokenAllowedFor,
  tokenHostEntry,
  withoutCredentials,
} from "../../../lib/git/mod.ts";
import { EnvStore } from "../../../lib/credentials/mod.ts";
import { branchNameProblem, parseSettings, SettingsError } from "../../../lib/sys/mod.ts";
import { parseRecordingConfig } from "../../../lib/recording/mod.ts";

const TOKEN = "ghp_UnitScopeToken0123456789abcdefABCDEF";

Deno.test("the token goes to github.com, github_api's host and listed hosts only", () => {
  const scope = {
    githubApi: "https://ghe.example.com/api/v3",
    tokenHosts: ["gitea.example.org", "lab.example.net:8443"],
  };
  const allowed = [
    "https://github.com/o/r.git",
    "git@github.com:o/r.git",
    "https://GitHub.COM./o/r.git",
    "https://ghe.example.com/o/r.git",
    "https://GHE.example.com./o/r.git",
    "https://gitea.example.org/o/r.git",
    "https://gitea.example.org:444/o/r.git",
    "https://lab.example.net:8443/o/r.git",
  ];
  const refused = [
    "https://gitlab.com/o/r.git",
    "https://github.com.evil.example/o/r.git",
    "https://evilgithub.com/o/r.git",
    "https://lab.example.net/o/r.git",
    "https://api.ghe.example.com/o/r.git",
    "http://127.0.0.1:9/r.git",
    "git@ghe.example.com:o/r.git",
    "/srv/backup.git",
  ];
  for (const url of allowed) assert.ok(tokenAllowedFor(parseRemoteUrl(url), scope), url);
  for (const url of refused) assert.ok(!tokenAllowedFor(parseRemoteUrl(url), scope), url);
  assert.ok(!tokenAllowedFor(parseRemoteUrl("https://ghe.example.com/o/r.git")), "no scope");
  assert.ok(tokenAllowedFor(parseRemoteUrl("http://127.0.0.1:9/r.git"), {
    tokenHosts: ["127.0.0.1"],
  }));
});

Deno.test("a host entry names host and port; the note names the key to set", () => {
  assert.equal(
    tokenHostEntry(parseRemoteUrl("https://gitea.example.org/o/r.git")),
    "gitea.example.org",
  );
  assert.equal(tokenHostEntry(parseRemoteUrl("http://127.0.0.1:4567/r.git")), "127.0.0.1:4567");
  assert.equal(tokenHostEntry(parseRemoteUrl("https://github.com/o/r.git")), undefined);
  assert.equal(tokenHostEntry(parseRemoteUrl("/srv/x.git")), undefined);
  const note = anonymousNote(parseRemoteUrl("https://gitea.example.org/o/r.git")).anonymous!;
  assert.match(note, /github_token_hosts/);
  assert.match(note, /"gitea\.example\.org"/);
});

Deno.test("resolvers ask other hosts anonymously and never read the store for them", async () => {
  let reads = 0;
  const store = new EnvStore({
    source: { get: (key) => (reads++, key === "ASCIINEMA_GITHUB_PAT" ? TOKEN : undefined) },
    account: "tester",
  });
  const other = await gitAuthFor("https://gitlab.com/o/r.git", { store });
  assert.deepEqual(other.auth, {});
  assert.equal(reads, 0);
  const resolver = createAuthResolver({ store });
  const resolved = await resolver.authFor("https://gitlab.com/o/r.git");
  assert.deepEqual(resolved.auth, {});
  assert.match(resolved.anonymous!, /github_token_hosts/);
  assert.equal(await resolver.tokenFor("https://gitlab.com/o/r.git"), undefined);
  assert.equal(resolver.cache.reads, 0);
  const github = await resolver.authFor("https://github.com/o/r.git");
  assert.equal(github.auth?.config?.[0][0], "http.https://github.com/.extraHeader");
});

Deno.test("github.com is always asked of api.github.com; github_api only for its own host", () => {
  const githubApi = "https://evil.example/api/v3";
  assert.equal(
    githubRepoOf("https://github.com/o/r.git", { githubApi })?.api,
    "https://api.github.com",
  );
  assert.equal(
    githubRepoOf("git@github.com.:o/r.git", { githubApi })?.api,
    "https://api.github.com",
  );
  assert.equal(githubRepoOf("https://evil.example/o/r.git", { githubApi })?.api, githubApi);
  assert.equal(githubRepoOf("https://other.example/o/r.git", { githubApi }), undefined);
});

Deno.test("the visibility question follows a redirect only to the same origin", async () => {
  const seen: { url: string; auth: string | null }[] = [];
  const fake = (location: string) => (input: URL | RequestInfo, init?: RequestInit) => {
    const url = String(input);
    seen.push({ url, auth: new Headers(init?.headers).get("authorization") });
    if (url.endsWith("/repos/o/r")) {
      return Promise.resolve(new Response(null, { status: 301, headers: { location } }));
    }
    return Promise.resolve(Response.json({ private: true }));
  };
  const repo = { api: "https://api.github.com", owner: "o", repo: "r" };
  seen.length = 0;
  const moved = await fetchVisibility(repo, {
    token: TOKEN,
    fetch: fake("https://api.github.com/repositories/42") as typeof fetch,
  });
  assert.equal(moved.visibility, "private");
  assert.deepEqual(seen.map((s) => s.url), [
    "https://api.github.com/repos/o/r",
    "https://api.github.com/repositories/42",
  ]);
  seen.length = 0;
  const away = await fetchVisibility(repo, {
    token: TOKEN,
    fetch: fake("https://collector.example/steal") as typeof fetch,
  });
  assert.equal(away.visibility, "unknown");
  assert.match(away.error!, /redirect/);
  assert.deepEqual(seen.map((s) => s.url), ["https://api.github.com/repos/o/r"]);
});

Deno.test("host spellings are normalised; a remote starting with - is refused", () => {
  assert.equal(normalizeHost("GitHub.COM."), "github.com");
  assert.equal(normalizeHost("[::1]"), "::1");
  for (
    const url of [
      "git@GITHUB.com.:o/r.git",
      "ssh://git@github.com./o/r.git",
      "https://github.com./o/r",
    ]
  ) {
    const parsed = parseRemoteUrl(url);
    assert.ok(parsed.github, url);
    assert.equal(parsed.url.startsWith("https://github.com/"), true, url);
  }
  for (const url of ["--upload-pack=touch /tmp/x;", "-oProxyCommand=x"]) {
    assert.throws(() => parseRemoteUrl(url), RemoteUrlError, url);
  }
});

Deno.test("credentials in a URL are written nowhere", () => {
  assert.equal(
    withoutCredentials(`https://user:${TOKEN}@gitea.example.org/o/r.git`),
    "https://gitea.example.org/o/r.git",
  );
  assert.equal(withoutCredentials("ssh://git:secret@host/r.git"), "ssh://git@host/r.git");
  assert.equal(withoutCredentials("git@host:o/r.git"), "git@host:o/r.git");
  assert.equal(withoutCredentials("/srv/r.git"), "/srv/r.git");
  assert.equal(parseRemoteUrl("ssh://git:secret@host/r.git").url, "ssh://git@host/r.git");
  assert.ok(parseRemoteUrl("ssh://git:secret@host/r.git").hadUserinfo);
});

Deno.test("one branch-name check: git's rules, never an option", () => {
  for (const good of ["asciinema-recordings", "team/rec", "a.b", "rec_2"]) {
    assert.equal(branchNameProblem(good), undefined, good);
  }
  for (
    const bad of [
      "",
      "-x",
      "a..b",
      "x.lock",
      "a/.b",
      "/a",
      "a/",
      "a.",
      "a b",
      "a~1",
      "@",
      "a@{b",
      "a\x1bb",
    ]
  ) {
    assert.ok(branchNameProblem(bad), JSON.stringify(bad));
  }
});

Deno.test("config.json and a recording's .json refuse option-like remotes and branches, naming the key", () => {
  assert.throws(
    () => parseSettings({ repo_url: "--upload-pack=x" }),
    (error: unknown) => error instanceof SettingsError && /repo_url/.test(error.message),
  );
  assert.throws(
    () => parseSettings({ branch: "-x" }),
    (error: unknown) => error instanceof SettingsError && /branch/.test(error.message),
  );
  assert.throws(() => parseSettings({ github_token_hosts: ["https://x"] }), SettingsError);
  assert.deepEqual(
    parseSettings({ github_token_hosts: ["gitea.example.org", "127.0.0.1:8080"] })
      .github_token_hosts,
    ["gitea.example.org", "127.0.0.1:8080"],
  );
  const bad = parseRecordingConfig({ repo_url: "--upload-pack=x", branch: "a..b" }, "r.json");
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.error : "", /repo_url/);
  assert.match(!bad.ok ? bad.error : "", /branch/);
  assert.equal(parseRecordingConfig({ repo_url: "", branch: "" }, "r.json").ok, true);
});
