/** Where git really connects: rewrites as git applies them, ssh aliases, and the guard's decision. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  applyUrlRewrites,
  decideVisibility,
  parseUrlRewrites,
  routeOf,
  type UrlRewrite,
} from "../../../lib/git/mod.ts";

const rules: UrlRewrite[] = [
  { base: "https://github.com/", prefix: "https://mirror.example/", push: false },
  { base: "https://github.com/team/", prefix: "https://mirror.example/t/", push: false },
  { base: "ssh://push.example/", prefix: "https://mirror.example/", push: true },
];

Deno.test("insteadOf: the longest prefix wins; a push tries pushInsteadOf first", () => {
  assert.equal(
    applyUrlRewrites("https://mirror.example/o/r.git", rules),
    "https://github.com/o/r.git",
  );
  assert.equal(
    applyUrlRewrites("https://mirror.example/t/r.git", rules),
    "https://github.com/team/r.git",
  );
  assert.equal(
    applyUrlRewrites("https://mirror.example/o/r.git", rules, { push: true }),
    "ssh://push.example/o/r.git",
  );
  assert.equal(applyUrlRewrites("/srv/r.git", rules), "/srv/r.git");
  assert.deepEqual(
    parseUrlRewrites("url.https://a/.insteadof\nhttps://b/\0url.x.pushInsteadOf\ny\0core.x\nz\0"),
    [
      { base: "https://a/", prefix: "https://b/", push: false },
      { base: "x", prefix: "y", push: true },
    ],
  );
});

Deno.test("routeOf: ssh aliases resolve, rewrites apply, and failures are unknown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "route-" });
  try {
    const globalConfig = join(dir, "gitconfig");
    await Deno.writeTextFile(globalConfig, "");
    const asked: string[] = [];
    const sshConfig = (host: string) => {
      asked.push(host);
      if (host === "broken") return Promise.reject(new Error("ssh -G broken failed"));
      const map: Record<string, string> = { "github-work": "github.com", "ghe": "ghe.example.com" };
      return Promise.resolve({ hostname: map[host] ?? host });
    };
    const options = { globalConfig, sshConfig, githubApi: "https://ghe.example.com/api/v3" };
    assert.deepEqual(await routeOf("git@github-work:o/r.git", options), {
      kind: "github",
      repo: { api: "https://api.github.com", owner: "o", repo: "r" },
      via: "git@github-work:o/r.git",
    });
    const ghe = await routeOf("git@ghe:team/rec.git", options);
    assert.equal(ghe.kind === "github" && ghe.repo.api, "https://ghe.example.com/api/v3");
    assert.equal((await routeOf("git@gitlab.com:o/r.git", options)).kind, "other");
    assert.equal((await routeOf("git@broken:o/r.git", options)).kind, "unknown");
    assert.equal((await routeOf("/srv/backup.git", options)).kind, "other");
    assert.deepEqual(asked, ["github-work", "ghe", "gitlab.com", "broken"]);

    // A rewrite in the daemon's git config is applied.
    await Deno.writeTextFile(
      globalConfig,
      '[url "https://github.com/"]\n\tinsteadOf = https://backup.example/\n',
    );
    const rewritten = await routeOf("https://backup.example/o/r.git", options);
    assert.equal(rewritten.kind, "github");
    // An unreadable config is unknown, not "not GitHub".
    await Deno.writeTextFile(globalConfig, "[broken\n");
    assert.equal((await routeOf("https://backup.example/o/r.git", options)).kind, "unknown");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the guard: a route still unknown is asked first; one that cannot be told holds plaintext", () => {
  const base = {
    repo: undefined,
    answer: undefined,
    now: 0,
    plaintext: true,
    allowPublic: false,
  };
  assert.deepEqual(decideVisibility({ ...base, routePending: true }), { action: "check" });
  const refused = decideVisibility({ ...base, routeUnknown: "ssh -G failed" });
  assert.equal(refused.action, "refuse");
  assert.match(refused.action === "refuse" ? refused.message : "", /cannot tell where/);
  assert.deepEqual(decideVisibility({ ...base, routeUnknown: "x", plaintext: false }), {
    action: "allow",
    why: "encrypted",
  });
  assert.deepEqual(decideVisibility({ ...base, routeUnknown: "x", allowPublic: true }), {
    action: "allow",
    why: "allow_public",
  });
  assert.deepEqual(decideVisibility(base), { action: "allow", why: "not-github" });
});
