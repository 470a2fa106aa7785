/**
 * Pushing with the daemon's own token: the token travels only in the git
 * child's environment; a hostile user git setup (credential helper with
 * another user's credentials, insteadOf to SSH, commit.gpgsign, hooks) does
 * not apply; no process's argv ever holds the token; auth failures are
 * classified and a rotated token is picked up by re-reading the store.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { git, gitEnv } from "../../../lib/git/mod.ts";
import {
  AuthSetupError,
  basicAuthHeader,
  classifyGitError,
  createAuthResolver,
  gitAuthFor,
  MissingTokenError,
  TokenCache,
} from "../../../lib/git/mod.ts";
import {
  type CredentialStore,
  CredentialUnavailableError,
  EnvStore,
  GITHUB_PAT,
} from "../../../lib/credentials/mod.ts";
import { RemoteUrlError } from "../../../lib/git/mod.ts";
import { PublishError, RepoClone } from "../../../lib/git/mod.ts";
import { chunkPathOnBranch } from "../../../lib/chunk/mod.ts";
import { redact } from "../../../lib/sys/mod.ts";
import { startGitHttpServer } from "../../support/git_http_server.ts";
import { scanTreeForSecrets, secretForms, startArgvSampler } from "../../support/argv_sampler.ts";
import { ignoreWithout } from "../../support/env.ts";
import { hostileHome } from "../../support/hostile_git.ts";

const TOKEN = "ghp_DaemonToken0123456789abcdefABCDEF01";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function envOf(vars: Record<string, string>) {
  return { get: (key: string) => vars[key] };
}

function tokenStore(vars: Record<string, string>): EnvStore {
  return new EnvStore({ source: envOf(vars), account: "tester" });
}

Deno.test("gitAuthFor: https gets one origin-scoped extraHeader through GIT_CONFIG_*; nothing else", async () => {
  const resolved = await gitAuthFor("git@github.com:o/r.git", {
    store: tokenStore({ ASCIINEMA_GITHUB_PAT: TOKEN }),
  });
  assert.equal(resolved.url, "https://github.com/o/r.git");
  assert.deepEqual(resolved.auth, {
    config: [[
      "http.https://github.com/.extraHeader",
      `Authorization: Basic ${btoa(`x-access-token:${TOKEN}`)}`,
    ]],
  });
  assert.equal(basicAuthHeader(TOKEN), resolved.auth.config![0][1]);
  // The header is in the environment of the child, never in argv or the URL.
  const env = gitEnv({ auth: resolved.auth, base: envOf({ PATH: "/usr/bin", HOME: "/h" }) });
  const index = Number(env.GIT_CONFIG_COUNT) - 1;
  assert.equal(env[`GIT_CONFIG_KEY_${index}`], "http.https://github.com/.extraHeader");
  assert.ok(!resolved.url.includes(TOKEN));
  // Redaction knows both forms.
  assert.ok(!redact(resolved.auth.config![0][1]).includes(btoa(`x-access-token:${TOKEN}`)));

  const loopback = await gitAuthFor("http://127.0.0.1:4567/rec.git", {
    token: TOKEN,
    scope: { tokenHosts: ["127.0.0.1"] },
  });
  assert.equal(loopback.auth.config![0][0], "http.http://127.0.0.1:4567/.extraHeader");

  const ssh = await gitAuthFor("git@ghe.example.com:o/r.git", {});
  assert.deepEqual([ssh.url, ssh.auth], ["git@ghe.example.com:o/r.git", {}]);
  const local = await gitAuthFor("/srv/backup.git", {});
  assert.deepEqual([local.url, local.auth], ["/srv/backup.git", {}]);
});

Deno.test("gitAuthFor: a missing token or a refused URL is a clear error naming the fix", async () => {
  await assert.rejects(
    () => gitAuthFor("https://github.com/o/r.git", { store: tokenStore({}) }),
    (error: unknown) =>
      error instanceof MissingTokenError && /ASCIINEMA_GITHUB_PAT/.test(error.message) &&
      /deno task daemon-setup/.test(error.message),
  );
  const keyring = {
    kind: "secret-service",
    get: () => Promise.resolve(undefined),
  } as unknown as CredentialStore;
  await assert.rejects(
    () => gitAuthFor("https://github.com/o/r.git", { store: keyring }),
    /no GitHub token for pushing to https:\/\/github.com\/o\/r.git: store one with `deno task daemon-setup`/,
  );
  await assert.rejects(
    () => gitAuthFor("http://example.com/r.git", { token: TOKEN }),
    RemoteUrlError,
  );
});

Deno.test("classifyGitError: auth, network, remote", () => {
  const auth = [
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
    "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/o/r.git/'",
    "fatal: unable to access 'https://github.com/o/r.git/': The requested URL returned error: 403",
    "error: RPC failed; HTTP 401 curl 22 The requested URL returned error: 401",
    "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
    "remote: Permission to o/r.git denied to other-user.",
    "remote: invalid credentials",
  ];
  for (const stderr of auth) assert.equal(classifyGitError(stderr), "auth", stderr);
  const network = [
    "fatal: unable to access 'https://github.com/o/r.git/': Could not resolve host: github.com",
    "fatal: unable to access 'http://127.0.0.1:1/r.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Connection refused",
    "ssh: connect to host github.com port 22: Connection timed out",
    "fatal: unable to access 'https://x/': Operation timed out after 30000 milliseconds",
  ];
  for (const stderr of network) assert.equal(classifyGitError(stderr), "network", stderr);
  assert.equal(classifyGitError("", { timedOut: true }), "network");
  assert.equal(
    classifyGitError(
      "fatal: '/mnt/usb/rec.git' does not appear to be a git repository\nfatal: Could not read from remote repository.",
    ),
    "network",
  );
  assert.equal(
    classifyGitError("ERROR: Repository not found.\nfatal: Could not read from remote repository."),
    "remote",
  );
  assert.equal(
    classifyGitError(" ! [remote rejected] main -> main (pre-receive hook declined)"),
    "remote",
  );
  assert.equal(classifyGitError("fatal: repository 'https://x/r.git/' not found"), "remote");
});

Deno.test("TokenCache: read at start, again after an auth failure, at most every interval while failing", async () => {
  let now = 0;
  let stored: string | undefined = "one";
  let reads = 0;
  const cache = new TokenCache(() => {
    reads++;
    return Promise.resolve(stored);
  }, { rereadIntervalMs: 300_000, clock: { now: () => now, wall: () => new Date() } });
  assert.equal(await cache.get(), "one");
  assert.equal(await cache.get(), "one");
  now += 3_600_000;
  assert.equal(await cache.get(), "one", "no re-read while pushes work");
  assert.equal(reads, 1);
  stored = "two";
  cache.reportAuthFailure();
  assert.equal(await cache.get(), "two", "an auth failure long after the last read re-reads");
  assert.equal(reads, 2);
  stored = "three";
  cache.reportAuthFailure();
  now += 60_000;
  assert.equal(await cache.get(), "two", "not again within the interval");
  now += 240_000;
  assert.equal(await cache.get(), "three");
  assert.equal(reads, 3);
  cache.reportSuccess();
  now += 600_000;
  assert.equal(await cache.get(), "three");
  assert.equal(reads, 3);
  // Nothing stored: every get reads (the publisher's backoff spaces them).
  stored = undefined;
  cache.invalidate();
  assert.equal(await cache.get(), undefined);
  assert.equal(await cache.get(), undefined);
  assert.equal(reads, 5);
  stored = "four";
  assert.equal(await cache.get(), "four");
});

Deno.test("createAuthResolver: setup problems become the caller's error; locked keyrings say so", async () => {
  const locked = {
    kind: "secret-service",
    get: () =>
      Promise.reject(
        new CredentialUnavailableError("secret-service", GITHUB_PAT, "the keyring is locked"),
      ),
  } as unknown as CredentialStore;
  const resolver = createAuthResolver({
    store: locked,
    wrapError: (error) => new PublishError("config", error.message),
  });
  await assert.rejects(
    () => resolver.authFor("https://github.com/o/r.git"),
    (error: unknown) =>
      error instanceof PublishError && error.kind === "config" &&
      /cannot read the GitHub token .*the keyring is locked/.test(error.message),
  );
  // Local and SSH remotes never touch the store.
  assert.deepEqual(await resolver.authFor("/srv/x.git"), { url: "/srv/x.git", auth: {} });
  assert.equal(resolver.cache.reads, 1);
  const bare = createAuthResolver({ store: tokenStore({}) });
  await assert.rejects(
    () => bare.authFor("https://github.com/o/r.git"),
    (error: unknown) =>
      error instanceof AuthSetupError && !error.unavailable &&
      /ASCIINEMA_GITHUB_PAT/.test(error.message),
  );
  await assert.rejects(() => bare.authFor("http://example.com/r.git"), AuthSetupError);
});

Deno.test({
  name: "argv sampler sees a secret in a command line (so its silence means something)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const marker = "ghp_SamplerSelfTest0123456789abcdefABCD";
    const sampler = startArgvSampler({
      needles: secretForms(marker),
      watch: [/(^|\/)sleep 0\.5$/],
    });
    const child = new Deno.Command("sh", { args: ["-c", "sleep 0.5", `x${marker}`] }).spawn();
    await child.status.catch(() => {});
    const report = await sampler.stop();
    assert.equal(report.hits.length, 1);
    assert.ok(!report.hits[0].includes(marker));
    assert.ok(report.watched.length >= 1);
  },
});

/** Git exactly as the person's shell would run it in `home`. */
function userGit(home: string, args: string[], options: { cwd?: string; stdin?: string } = {}) {
  const child = new Deno.Command("git", {
    args,
    cwd: options.cwd ?? home,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      GIT_TERMINAL_PROMPT: "0",
    },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    writer.write(new TextEncoder().encode(options.stdin)).then(() => writer.close());
  }
  return child.output();
}

Deno.test({
  name:
    "a hostile user git setup (credential helper, insteadOf, gpgsign, hooks) does not touch the daemon's pushes; argv never holds the token",
  ignore: ignoreWithout(["git"]) || Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "git-auth-test-" });
    const server = await startGitHttpServer({ token: TOKEN });
    const savedHome = Deno.env.get("HOME");
    const savedXdg = Deno.env.get("XDG_CONFIG_HOME");
    try {
      await server.createRepo("rec");
      const url = server.repoUrl("rec");
      const { home, traps } = await hostileHome(root, server.url);

      // 1. The traps are real: plain git in this HOME is hijacked or broken.
      const lsRemote = await userGit(home, ["ls-remote", url]);
      assert.equal(lsRemote.success, false);
      assert.match(text(lsRemote.stderr), /127\.0\.0\.1.*port 1|Connection refused/i);
      const fill = await userGit(home, ["credential", "fill"], {
        stdin: `protocol=http\nhost=127.0.0.1:${server.port}\n\n`,
      });
      assert.match(text(fill.stdout), /username=other-user\npassword=other-users-password/);
      await Deno.stat(join(traps, "credential-helper"));
      const work = join(home, "work");
      await Deno.mkdir(work);
      assert.ok((await userGit(home, ["init", "-q", "-b", "main"], { cwd: work })).success);
      await Deno.writeTextFile(join(work, "a.txt"), "a\n");
      assert.ok((await userGit(home, ["add", "a.txt"], { cwd: work })).success);
      const commit = await userGit(home, ["commit", "-q", "-m", "x"], { cwd: work });
      assert.equal(commit.success, false, "the user's pre-commit hook must break a plain commit");
      await Deno.stat(join(traps, "pre-commit"));
      const signed = await userGit(home, [
        "-c",
        "core.hooksPath=/dev/null",
        "commit",
        "-q",
        "-m",
        "x",
      ], {
        cwd: work,
      });
      assert.equal(signed.success, false, "the user's gpg must break a plain commit");
      await Deno.stat(join(traps, "gpg"));
      const sideRepo = join(root, "side.git");
      assert.ok((await userGit(home, ["init", "-q", "--bare", sideRepo])).success);
      assert.ok(
        (await userGit(home, [
          "-c",
          "core.hooksPath=/dev/null",
          "-c",
          "commit.gpgsign=false",
          "commit",
          "-q",
          "-m",
          "x",
        ], { cwd: work })).success,
      );
      const plainPush = await userGit(home, ["push", "-q", sideRepo, "main"], { cwd: work });
      assert.equal(plainPush.success, false, "the user's pre-push hook must block a plain push");
      await Deno.stat(join(traps, "pre-push"));
      for await (const entry of Deno.readDir(traps)) await Deno.remove(join(traps, entry.name));

      // 2. The daemon's git, in the same HOME, with its own token.
      Deno.env.set("HOME", home);
      Deno.env.set("XDG_CONFIG_HOME", join(home, ".config"));
      const store = tokenStore({ ASCIINEMA_GITHUB_PAT: TOKEN });
      const sampler = startArgvSampler({
        needles: secretForms(TOKEN),
        watch: [/remote-http/],
      });
      let report;
      const daemonRepo = join(root, "daemon-work");
      await Deno.mkdir(daemonRepo);
      const resolved = await gitAuthFor(url, { store, scope: { tokenHosts: ["127.0.0.1"] } });
      try {
        assert.ok((await git(["init", "-q", "-b", "main"], { cwd: daemonRepo })).success);
        for (let i = 0; i < 4; i++) {
          await Deno.writeTextFile(join(daemonRepo, `f${i}.txt`), `content ${i}\n`);
          assert.ok((await git(["add", "."], { cwd: daemonRepo })).success);
          const made = await git(["commit", "-q", "-m", `daemon ${i}`], { cwd: daemonRepo });
          assert.ok(made.success, made.stderr);
          const pushed = await git(["push", "-q", resolved.url, "HEAD:refs/heads/main"], {
            cwd: daemonRepo,
            auth: resolved.auth,
            timeoutMs: 30_000,
          });
          assert.ok(pushed.success, pushed.stderr);
        }

        // The publisher, with the resolver the daemon uses.
        const resolver = createAuthResolver({
          store,
          scope: { tokenHosts: ["127.0.0.1"] },
          wrapError: (error) => new PublishError("config", error.message),
        });
        const spool = join(root, "000000_0-6.cast.zst");
        await Deno.writeFile(spool, new TextEncoder().encode("chunk!"));
        const clone = new RepoClone({ url, branch: "asciinema-recordings" }, {
          gitDir: join(root, "repos", "rec.git"),
          globalConfig: join(root, "daemon-gitconfig"),
          authFor: resolver.authFor,
        });
        await clone.commit([{
          id: "t1",
          seq: 0,
          start: 0,
          end: 6,
          sha256: "0".repeat(64),
          file: spool,
        }]);
        assert.ok(await clone.push());
      } finally {
        report = await sampler.stop();
        if (savedHome === undefined) Deno.env.delete("HOME");
        else Deno.env.set("HOME", savedHome);
        if (savedXdg === undefined) Deno.env.delete("XDG_CONFIG_HOME");
        else Deno.env.set("XDG_CONFIG_HOME", savedXdg);
      }
      assert.deepEqual(report.hits, [], "the token appeared in a process's argv");
      assert.ok(
        report.watched.length >= 1,
        `sampler saw no git-remote-http (${report.sweeps} sweeps)`,
      );
      assert.ok(report.watched.some((line) => line.includes(`127.0.0.1:${server.port}`)));

      // 3. Nothing of the user's setup ran, and the server only saw our token.
      assert.deepEqual(await Array.fromAsync(Deno.readDir(traps)), []);
      assert.equal(server.stats.rejected, 0);
      assert.ok(server.stats.accepted > 0);
      const bare = server.repoPath("rec");
      const head = await git(["cat-file", "commit", "refs/heads/main"], { gitDir: bare });
      assert.ok(head.success);
      assert.doesNotMatch(head.stdout, /gpgsig/);
      assert.match(head.stdout, /committer asciinema-chunker <asciinema-chunker@localhost>/);
      const chunk = await git([
        "cat-file",
        "-p",
        `refs/heads/asciinema-recordings:${chunkPathOnBranch("t1", { seq: 0, start: 0, end: 6 })}`,
      ], { gitDir: bare });
      assert.equal(chunk.stdout, "chunk!");
      // The token is in no file: not the daemon's clone config, not the work repo.
      assert.deepEqual(await scanTreeForSecrets(root, secretForms(TOKEN)), []);
    } finally {
      await server.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "a rejected token is an auth error; after the store changes the resolver re-reads and pushes",
  ignore: ignoreWithout(["git"]),
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "git-auth-rotate-" });
    const server = await startGitHttpServer({ token: "ghp_ServerSideToken0123456789abcdefAB" });
    try {
      await server.createRepo("rec");
      const url = server.repoUrl("rec");
      const vars: Record<string, string> = { ASCIINEMA_GITHUB_PAT: TOKEN };
      let now = 0;
      const resolver = createAuthResolver({
        store: tokenStore(vars),
        rereadIntervalMs: 60_000,
        clock: { now: () => now, wall: () => new Date() },
        scope: { tokenHosts: ["127.0.0.1"] },
        wrapError: (error) => new PublishError("config", error.message),
      });
      const clone = new RepoClone({ url, branch: "asciinema-recordings" }, {
        gitDir: join(root, "clone.git"),
        globalConfig: join(root, "gitconfig"),
        authFor: resolver.authFor,
      });
      const spool = join(root, "chunk");
      await Deno.writeTextFile(spool, "bytes");
      await clone.commit([{
        id: "r",
        seq: 0,
        start: 0,
        end: 5,
        sha256: "1".repeat(64),
        file: spool,
      }]);
      const failure = await clone.push().then(() => undefined, (error) => error);
      assert.ok(failure instanceof PublishError, String(failure));
      assert.equal(failure.kind, "auth");
      assert.equal(classifyGitError(failure.message), "auth");
      assert.ok(!failure.message.includes(TOKEN));
      assert.ok(server.stats.rejected > 0);
      resolver.observe({ type: "push-failed", kind: "auth" });

      // The person stores the right token; within the interval nothing is re-read.
      vars.ASCIINEMA_GITHUB_PAT = "ghp_ServerSideToken0123456789abcdefAB";
      now += 30_000;
      await assert.rejects(() => clone.push(), PublishError);
      resolver.observe({ type: "push-failed", kind: "auth" });
      assert.equal(resolver.cache.reads, 1);
      now += 30_000;
      assert.ok(await clone.push());
      assert.equal(resolver.cache.reads, 2);
      resolver.observe({ type: "push-ok" });

      // A server that is gone is a network error, not auth.
      await server.stop();
      await Deno.writeTextFile(spool, "more!");
      await clone.commit([{
        id: "r",
        seq: 1,
        start: 5,
        end: 10,
        sha256: "2".repeat(64),
        file: spool,
      }]);
      const offline = await clone.push().then(() => undefined, (error) => error);
      assert.ok(offline instanceof PublishError);
      assert.equal(offline.kind, "network");
      assert.equal(classifyGitError(offline.message), "network");
    } finally {
      await server.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
