/**
 * setup.ts without a terminal (issue 6): the GitHub checks against a
 * loopback API stand-in and the loopback smart-HTTP git server; unattended
 * setup with a real gnome-keyring, followed by a recording that the daemon
 * pushes with the stored token (acceptance 1); a token that reads but
 * cannot push (acceptance 3); two runs and `--uninstall` (acceptance 4);
 * missing answers without a terminal (acceptance 5). The interactive
 * wizard in tmux is tests/e2e/setup_tty_test.ts.
 *
 * Tests about answers run setup in this process, through its runner
 * (`runSetup` with the flags as `setup.ts` parses them); the ones about the
 * process (a detached service started and uninstalled, stdin left open, exit
 * codes of the real entry point) spawn `deno run setup.ts`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../../lib/sys/mod.ts";
import { isTempName } from "../../../lib/sys/mod.ts";
import { git, repoNameOf } from "../../../lib/git/mod.ts";
import {
  GITHUB_PAT,
  openCredentialStore,
  PUSHOVER_APP,
  SecretServiceStore,
} from "../../../lib/credentials/mod.ts";
import { checkGitHubToken, checkPushAccess, ensureBranch } from "../../../lib/setup/mod.ts";
import { runSetup, setupCommand } from "../../../lib/setup/mod.ts";
import { homePaths } from "../../../lib/sys/mod.ts";
import { checkBranch, checkIdle, checkNtfyUrl, checkZstd } from "../../../lib/setup/mod.ts";
import { inspectPidfile } from "../../../lib/service/mod.ts";
import { describeExisting, detectExisting, existingFound } from "../../../lib/setup/mod.ts";
import {
  assertTools,
  ignoreWithout,
  makeTestHome,
  type TestHome,
  waitFor,
} from "../../support/env.ts";
import { type GitHttpServer, startGitHttpServer } from "../../support/git_http_server.ts";
import { type GitHubApi, startGitHubApi } from "../../support/github_api.ts";
import { startKeyringSession } from "../../support/keyring.ts";
import { remoteEnd, restoreFromRemote, runOnce } from "../../support/daemon.ts";
import { scanTreeForSecrets, secretForms, startArgvSampler } from "../../support/argv_sampler.ts";
import { makeGitSpy } from "../../support/git_spy.ts";
import { startNotifyServer } from "../../support/notify_server.ts";

const SETUP_TS = fileURLToPath(new URL("../../../setup.ts", import.meta.url));
const TOKEN = "ghp_SetupTestToken0123456789abcdefABCDEF";
const WRONG = "ghp_SetupWrongToken0123456789abcdefABCDE";
const REPO = "alice/recordings";
const BRANCH = "asciinema-recordings";

interface Rig {
  t: TestHome;
  server: GitHttpServer;
  api: GitHubApi;
  url: string;
  stop(): Promise<void>;
}

async function rig(options: { refusePush?: boolean; push?: boolean } = {}): Promise<Rig> {
  const t = await makeTestHome("setup-");
  const server = await startGitHttpServer({ token: TOKEN, refusePush: options.refusePush });
  await server.createRepo(REPO);
  const api = await startGitHubApi({
    tokens: { [TOKEN]: { login: "alice", repos: { [REPO]: { push: options.push ?? true } } } },
  });
  return {
    t,
    server,
    api,
    url: server.repoUrl(REPO),
    async stop() {
      await api.stop();
      await server.stop();
      await t.cleanup();
    },
  };
}

interface SetupResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `setup.ts args` without a terminal (stdin a pipe). */
async function setup(
  env: Record<string, string>,
  args: string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<SetupResult> {
  const result = await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", SETUP_TS, ...args],
    env,
    clearEnv: true,
    cwd: options.cwd ?? "/",
    stdin: options.stdin ?? "",
    timeoutMs: 180_000,
  });
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/**
 * Runs setup in this process as `setup.ts args` would without a terminal:
 * the same flags, `env` as its environment, `stdin` as what standard input holds.
 */
async function setupHere(
  env: Record<string, string>,
  args: string[],
  options: { stdin?: string } = {},
): Promise<SetupResult> {
  const flags = setupCommand().parse(args, { from: "user" }).opts();
  const lines: string[] = [];
  const code = await runSetup(flags, {
    paths: homePaths(env.ASCIINEMA_HOME),
    env: { get: (key) => env[key] },
    // The keyring's tools get this environment too (its D-Bus session), as the child's would.
    openStore: (setting) =>
      openCredentialStore({ setting, source: { get: (key) => env[key] }, env }),
    cwd: "/",
    io: {
      say: (line) => lines.push(line),
      stdinIsTerminal: false,
      readStdin: () => Promise.resolve(options.stdin ?? ""),
      readStdinText: () => Promise.resolve(options.stdin ?? ""),
    },
  });
  return { code, stdout: lines.map((line) => `${line}\n`).join(""), stderr: "" };
}

function show(result: SetupResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

async function remoteBranchTip(r: Rig): Promise<string | undefined> {
  const result = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${BRANCH}`], {
    gitDir: r.server.repoPath(REPO),
  });
  return result.success ? result.stdout.trim() : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A finished asciicast v3 recording in active/. */
async function writeRecording(t: TestHome, id: string): Promise<Uint8Array> {
  await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
  let text = JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp: 1 }) + "\n";
  for (let i = 0; i < 50; i++) {
    text += JSON.stringify([0.05, "o", `line ${i} after setup\r\n`]) + "\n";
  }
  text += JSON.stringify([0.1, "x", "0"]) + "\n";
  const bytes = new TextEncoder().encode(text);
  await Deno.writeFile(join(t.paths.active, `${id}.cast`), bytes, { mode: 0o600 });
  return bytes;
}

/** Appends `count` output events (a header first) to a v3 cast; returns its size. */
async function appendCast(path: string, from: number, count: number): Promise<number> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  const file = await Deno.open(path, { create: true, append: true, mode: 0o600 });
  try {
    let text = "";
    if ((await file.stat()).size === 0) {
      text += JSON.stringify({ version: 3, term: { cols: 80, rows: 24 }, timestamp: 1 }) + "\n";
    }
    for (let i = from; i < from + count; i++) {
      text += JSON.stringify([0.01, "o", `line ${i}\r\n`]) + "\n";
    }
    await file.write(new TextEncoder().encode(text));
    return (await file.stat()).size;
  } finally {
    file.close();
  }
}

/** Every file under `dir` but temp files (relative path → sha256); empty when absent. */
/** Files git makes and removes while it runs (a fetch or push in flight is no data to keep). */
const GIT_TRANSIENT = /^(tmp_obj_|tmp_pack_|tmp_idx_|incoming-)|\.lock$/;

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (path: string, prefix: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(child, relative);
      else if (!isTempName(entry.name) && !GIT_TRANSIENT.test(entry.name)) {
        const bytes = await Deno.readFile(child).catch(() => new Uint8Array());
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        found.set(relative, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
      }
    }
  };
  await walk(dir, "");
  return found;
}

// ---------------------------------------------------------------- unit: answers and checks

Deno.test("setup answers: idle, zstd, branch and ntfy validation", () => {
  assert.equal(checkIdle(5), true);
  assert.equal(checkIdle(3600), true);
  assert.match(String(checkIdle(4.9)), /5 to 3600/);
  assert.match(String(checkIdle(3601)), /5 to 3600/);
  assert.equal(checkZstd(1), true);
  assert.equal(checkZstd(19), true);
  assert.match(String(checkZstd(20)), /1 to 19/);
  assert.match(String(checkZstd(2.5)), /whole number/);
  assert.equal(checkBranch("asciinema-recordings"), true);
  for (const bad of ["", "a b", "-x", "a..b", "x.lock", "a~b", "a:b"]) {
    assert.notEqual(checkBranch(bad), true, bad);
  }
  assert.equal(checkNtfyUrl("https://ntfy.sh/my-topic"), true);
  assert.notEqual(checkNtfyUrl("https://ntfy.sh/"), true);
  assert.notEqual(checkNtfyUrl("ftp://x/y"), true);
  assert.deepEqual(repoNameOf("git@github.com:o/r.git"), { owner: "o", repo: "r" });
  assert.deepEqual(repoNameOf("http://127.0.0.1:9/alice/recordings.git"), {
    owner: "alice",
    repo: "recordings",
  });
  assert.equal(repoNameOf("/srv/backup.git"), undefined);
});

Deno.test({
  name: "GitHub API check: who, sees the repository, says push; bad token is invalid",
  ignore: ignoreWithout(["git"]),
  async fn() {
    const r = await rig({ push: false });
    try {
      r.api.grant("ghp_OtherUserToken0123456789abcdefABCDEF", {
        login: "bob",
        repos: { "bob/other": { push: true } },
      });
      const repo = { owner: "alice", repo: "recordings" };
      const readOnly = await checkGitHubToken(TOKEN, { api: r.api.url, repo });
      assert.equal(readOnly.ok, false);
      assert.equal(!readOnly.ok && readOnly.kind, "read-only");
      assert.match(!readOnly.ok ? readOnly.message : "", /cannot push/);
      r.api.grant(TOKEN, { login: "alice", repos: { [REPO]: { push: true } } });
      const good = await checkGitHubToken(TOKEN, { api: r.api.url, repo });
      assert.deepEqual(good, {
        ok: true,
        login: "alice",
        push: true,
        fullName: REPO,
        visibility: "private",
      });
      r.api.setPrivate(REPO, false);
      const open = await checkGitHubToken(TOKEN, { api: r.api.url, repo });
      assert.equal(open.ok && open.visibility, "public", "the write check says it is public");
      r.api.setPrivate(REPO, true);
      const bad = await checkGitHubToken(WRONG, { api: r.api.url, repo });
      assert.equal(!bad.ok && bad.kind, "invalid");
      assert.match(!bad.ok ? bad.message : "", /GitHub rejected this token \(HTTP 401/);
      const unseen = await checkGitHubToken("ghp_OtherUserToken0123456789abcdefABCDEF", {
        api: r.api.url,
        repo,
      });
      assert.equal(!unseen.ok && unseen.kind, "no-repo");
      for (const request of r.api.requests) {
        assert.ok(!request.path.includes(TOKEN), "the token was in a URL");
      }
    } finally {
      await r.stop();
    }
  },
});

Deno.test({
  name: "git write check: dry run says can push; refused pushes are read-only; wrong token is auth",
  ignore: ignoreWithout(["git"]),
  async fn() {
    const r = await rig();
    try {
      const fresh = await checkPushAccess(r.url, { token: TOKEN, branch: BRANCH });
      assert.deepEqual(fresh, { ok: true, branchExists: false });
      assert.equal(await remoteBranchTip(r), undefined, "a dry run must not create the branch");
      assert.equal(await ensureBranch(r.url, { token: TOKEN, branch: BRANCH }), "created");
      const tip = await remoteBranchTip(r);
      assert.ok(tip);
      const readme = await git(["show", `${tip}:README.md`], { gitDir: r.server.repoPath(REPO) });
      assert.match(readme.stdout, /asciinema-chunker/);
      assert.equal(await ensureBranch(r.url, { token: TOKEN, branch: BRANCH }), "exists");
      assert.equal(await remoteBranchTip(r), tip);
      const existing = await checkPushAccess(r.url, { token: TOKEN, branch: BRANCH });
      assert.deepEqual(existing, { ok: true, branchExists: true });

      const wrong = await checkPushAccess(r.url, { token: WRONG, branch: BRANCH });
      assert.equal(!wrong.ok && wrong.kind, "auth");

      r.server.setRefusePush(true);
      const refused = await checkPushAccess(r.url, { token: TOKEN, branch: BRANCH });
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.kind, "read-only");
      assert.match(!refused.ok ? refused.message : "", /can read .* but cannot push/);
      assert.ok(r.server.stats.refusedPushes > 0);
      const newBranch = await checkPushAccess(r.url, { token: TOKEN, branch: "other-branch" });
      assert.equal(!newBranch.ok && newBranch.kind, "read-only");
      await assert.rejects(
        () => ensureBranch(r.url, { token: TOKEN, branch: "other-branch" }),
        /cannot push/,
      );
    } finally {
      await r.stop();
    }
  },
});

Deno.test("existing install: the bash version's LaunchAgent and a written service definition are found", async () => {
  const t = await makeTestHome("setup-existing-");
  try {
    const env = { get: (key: string) => t.env[key] };
    const empty = await detectExisting({ paths: t.paths, env, os: "linux" });
    assert.equal(existingFound(empty), false);
    const agents = join(t.home, "Library", "LaunchAgents");
    await Deno.mkdir(agents, { recursive: true });
    await Deno.writeTextFile(
      join(agents, "com.cc-skills.asciinema-chunker.plist"),
      `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>Label</key><string>com.cc-skills.asciinema-chunker</string>
<key>ProgramArguments</key><array><string>/bin/bash</string>
<string>/Users/me/.claude/idle-chunker-daemon.sh</string></array></dict></plist>
`,
    );
    const unit = join(t.home, ".config", "systemd", "user", "asciinema-chunker.service");
    await Deno.mkdir(join(unit, ".."), { recursive: true });
    await Deno.writeTextFile(unit, "[Service]\n");
    const found = await detectExisting({ paths: t.paths, env, os: "linux" });
    assert.equal(existingFound(found), true);
    const lines = describeExisting(found).join("\n");
    assert.match(lines, /bash version's LaunchAgent: .*com\.cc-skills\.asciinema-chunker\.plist/);
    assert.match(lines, /service definition: .*asciinema-chunker\.service/);
  } finally {
    await t.cleanup();
  }
});

// ---------------------------------------------------------------- acceptance 1

const KEYRING_TOOLS = ["git", "zstd", "dbus-run-session", "gnome-keyring-daemon", "secret-tool"];

Deno.test({
  name:
    "acceptance 1: unattended setup with gnome-keyring creates the branch, stores the token only in the keyring, writes config.json; a recording is then pushed",
  ignore: ignoreWithout(KEYRING_TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(KEYRING_TOOLS);
    const r = await rig();
    const session = await startKeyringSession({ root: r.t.root });
    const sampler = startArgvSampler({
      needles: secretForms(TOKEN),
      watch: [/remote-http/, /secret-tool (store|lookup)/],
    });
    // Every secret-tool call, exactly (a sampler can miss a process that lives a millisecond).
    const secretTool = await makeGitSpy(join(r.t.root, "secret-tool-spy"), "secret-tool");
    let passed = false;
    try {
      const env = {
        ...r.t.env,
        ...session.env,
        PATH: `${secretTool.bin}:${session.env.PATH ?? r.t.env.PATH}`,
        ASCIINEMA_CREDENTIAL_STORE: "secret-service",
      };
      const result = await setupHere(env, [
        "--yes",
        "--repo",
        r.url,
        "--github-api",
        r.api.url,
        "--pat-stdin",
        "--no-pushover",
        "--idle",
        "5",
        "--zstd",
        "4",
        "--no-service",
      ], { stdin: TOKEN + "\n" });
      assert.equal(result.code, 0, show(result));
      assert.match(result.stdout, /the token of alice can push/);
      assert.match(result.stdout, /Created the orphan branch asciinema-recordings/);

      // The orphan branch is on the remote: one root commit with the README.
      const tip = await remoteBranchTip(r);
      assert.ok(tip, "the branch was not created");
      const parents = await git(["rev-list", "--parents", "-n", "1", tip], {
        gitDir: r.server.repoPath(REPO),
      });
      assert.equal(parents.stdout.trim(), tip, "the branch must start with a root commit");

      // The token is in the keyring ...
      const store = new SecretServiceStore({ account: r.t.env.USER, env: session.env });
      assert.equal(await store.get(GITHUB_PAT), TOKEN);
      // ... and nowhere else: not in config.json, the home, the output or any argv.
      const config = JSON.parse(await Deno.readTextFile(r.t.paths.config));
      assert.equal(config.repo_url, r.url);
      assert.equal(config.branch, BRANCH);
      assert.equal(config.idle_threshold, 5);
      assert.equal(config.zstd_level, 4);
      assert.equal(config.notify.pushover.enabled, false);
      assert.ok(!JSON.stringify(config).includes(TOKEN));
      assert.ok(!result.stdout.includes(TOKEN) && !result.stderr.includes(TOKEN));
      for (const request of r.api.requests) {
        assert.equal(request.token, TOKEN);
        assert.ok(!request.path.includes(TOKEN));
      }

      // A recording made afterwards is pushed by the daemon with the stored token.
      const bytes = await writeRecording(r.t, "after-setup");
      const once = await runOnce(env);
      assert.equal(once.code, 0, once.stderr);
      assert.deepEqual(
        await restoreFromRemote(r.server.repoPath(REPO), { id: "after-setup" }),
        bytes,
      );
      assert.ok(!once.stderr.includes(TOKEN));
      assert.deepEqual(await scanTreeForSecrets(r.t.home, secretForms(TOKEN)), []);

      // A fresh install really deletes what was stored before.
      await store.set(PUSHOVER_APP, "old-pushover-app-token");
      const fresh = await setupHere(env, [
        "--yes",
        "--fresh",
        "--repo",
        r.url,
        "--github-api",
        r.api.url,
        "--pat-stdin",
        "--no-pushover",
        "--no-service",
      ], { stdin: TOKEN + "\n" });
      assert.equal(fresh.code, 0, show(fresh));
      assert.match(fresh.stdout, /stored: Pushover app token/);
      assert.match(fresh.stdout, /Deleted 2 stored credential\(s\)/);
      assert.equal(await store.get(PUSHOVER_APP), undefined);
      assert.equal(await store.get(GITHUB_PAT), TOKEN);
      passed = true;
    } finally {
      const report = await sampler.stop();
      const calls = await secretTool.calls();
      await session.stop();
      await r.stop();
      if (passed) {
        assert.deepEqual(report.hits, [], "the token appeared in a process's argv");
        assert.ok(calls.some((args) => args[0] === "store"), JSON.stringify(calls));
        const forms = secretForms(TOKEN);
        assert.deepEqual(
          calls.filter((args) => forms.some((form) => args.join(" ").includes(form))),
          [],
        );
      }
    }
  },
});

// ---------------------------------------------------------------- acceptance 3

Deno.test({
  name:
    "acceptance 3: a token that sees the repository but cannot push is reported as unable to push, and nothing is written",
  ignore: ignoreWithout(["git", "zstd"]),
  async fn() {
    const r = await rig({ refusePush: true });
    try {
      // GitHub's repository answer says push (it describes the user, not the
      // fine-grained token); only the git write check can tell.
      const env = { ...r.t.env, ASCIINEMA_GITHUB_PAT: TOKEN };
      const args = ["--yes", "--repo", r.url, "--github-api", r.api.url, "--no-service"];
      const result = await setupHere(env, args);
      assert.equal(result.code, 1, show(result));
      assert.match(result.stdout, /This token cannot push/);
      assert.match(result.stdout, /can read .* but cannot push/);
      assert.doesNotMatch(result.stdout, /✔ the token of alice can push/);
      assert.ok(r.server.stats.refusedPushes > 0);
      assert.equal(await remoteBranchTip(r), undefined);
      assert.equal(await exists(r.t.paths.home), false, "setup wrote into ASCIINEMA_HOME");

      // The API saying push:false is reported the same way.
      r.server.setRefusePush(false);
      r.api.grant(TOKEN, { login: "alice", repos: { [REPO]: { push: false } } });
      const apiSays = await setupHere(env, args);
      assert.equal(apiSays.code, 1, show(apiSays));
      assert.match(apiSays.stdout, /This token cannot push/);
      assert.equal(await exists(r.t.paths.home), false);
    } finally {
      await r.stop();
    }
  },
});

// ---------------------------------------------------------------- acceptance 4

Deno.test({
  name:
    "acceptance 4: setup twice is idempotent (detached service restarted); --uninstall stops it and keeps recordings, spool and clones",
  ignore: ignoreWithout(["git", "zstd"]),
  async fn() {
    const r = await rig();
    const notify = await startNotifyServer();
    try {
      const env = { ...r.t.env, ASCIINEMA_GITHUB_PAT: TOKEN };
      const args = [
        "--yes",
        "--repo",
        r.url,
        "--github-api",
        r.api.url,
        "--ntfy",
        notify.ntfyUrl("setup-test"),
        "--detach",
        "--no-compile",
      ];
      // Settings of others' keys survive: updateSettings keeps them.
      await Deno.mkdir(r.t.paths.home, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(
        r.t.paths.config,
        JSON.stringify({
          heartbeat_seconds: 1,
          scan_interval_seconds: 1,
          idle_threshold: 0.3,
          retry_max_seconds: 1,
          custom_key: "kept",
        }),
      );
      const first = await setup(env, args);
      assert.equal(first.code, 0, show(first));
      assert.match(first.stdout, /Test notice sent via ntfy/);
      assert.equal(notify.received.length, 1);
      assert.match(first.stdout, /healthy/i);
      const tip = await remoteBranchTip(r);
      assert.ok(tip);
      const config1 = await Deno.readTextFile(r.t.paths.config);
      const running1 = await inspectPidfile(r.t.paths);
      assert.equal(running1.state, "running");

      const second = await setup(env, args);
      assert.equal(second.code, 0, show(second));
      assert.match(second.stdout, /Reinstalling, keeping the stored credentials/);
      assert.match(second.stdout, /The branch asciinema-recordings exists/);
      assert.equal(await remoteBranchTip(r), tip, "the second run moved the branch");
      const config2 = await Deno.readTextFile(r.t.paths.config);
      assert.deepEqual(JSON.parse(config2), JSON.parse(config1));
      const parsed = JSON.parse(config2);
      assert.equal(parsed.custom_key, "kept");
      assert.equal(parsed.heartbeat_seconds, 1);
      assert.equal(parsed.notify.ntfy.url, notify.ntfyUrl("setup-test"));
      const running2 = await inspectPidfile(r.t.paths);
      assert.equal(running2.state, "running");

      // Real data of every kind from the running daemon: a live recording
      // (pushed, then spooling while the remote refuses the token), its
      // checkpoint and clone, and a finished recording in done/.
      const id = "rec-a";
      const cast = join(r.t.paths.active, `${id}.cast`);
      await Deno.writeTextFile(
        join(r.t.paths.active, `${id}.json`),
        JSON.stringify({ recorder_pid: Deno.pid, started: new Date().toISOString() }),
      );
      const size = await appendCast(cast, 0, 20);
      await waitFor(async () => (await remoteEnd(r.server.repoPath(REPO), { id })) === size, {
        what: "the live recording to be pushed",
        timeoutMs: 60_000,
      });
      r.server.setToken("ghp_RotatedAwayToken0123456789abcdefABCD");
      await appendCast(cast, 20, 20);
      // Quiescent: the pushed chunk has left the spool, the refused one waits there.
      await waitFor(async () => {
        const queued = [...(await filesUnder(join(r.t.paths.spool, id))).keys()];
        return queued.length > 0 && queued.every((name) => !name.startsWith("000000_"));
      }, { what: "only the refused chunk queued in the spool", timeoutMs: 60_000 });
      await Deno.mkdir(r.t.paths.done, { recursive: true });
      await Deno.writeTextFile(join(r.t.paths.done, "rec-b.cast"), "finished\n");
      const before = new Map<string, Map<string, string>>();
      for (const dir of ["active", "done", "spool", "state", "repos"] as const) {
        before.set(dir, await filesUnder(r.t.paths[dir]));
      }
      assert.ok(before.get("repos")!.size > 0, "no clone to keep");
      assert.ok(before.get("state")!.size > 0, "no checkpoint to keep");

      const uninstalled = await setup(env, ["--uninstall"]);
      assert.equal(uninstalled.code, 0, show(uninstalled));
      assert.match(uninstalled.stdout, /Stopped the daemon/);
      assert.equal((await inspectPidfile(r.t.paths)).state, "absent");
      for (const [dir, files] of before) {
        const after = await filesUnder(r.t.paths[dir as "active"]);
        for (const [file, digest] of files) {
          assert.ok(after.has(file), `${dir}/${file} was deleted by --uninstall`);
          if (dir !== "state" && dir !== "repos") {
            assert.equal(after.get(file), digest, `${dir}/${file} changed`);
          }
        }
      }
      assert.ok(await exists(r.t.paths.config));
    } finally {
      // Never leave a daemon behind.
      await setup({ ...r.t.env }, ["--uninstall"]).catch(() => {});
      await notify.close();
      await r.stop();
    }
  },
});

// ---------------------------------------------------------------- acceptance 5

Deno.test({
  name:
    "acceptance 5: without a terminal, a missing answer exits non-zero naming the flag, while stdin is still open",
  async fn() {
    const t = await makeTestHome("setup-missing-");
    try {
      // Warm the module cache once (a first run after an edit transpiles).
      await setup(t.env, ["--help"]);
      const cases: {
        args: string[];
        env?: Record<string, string>;
        closeStdin?: boolean;
        flag: RegExp;
      }[] = [
        { args: [], flag: /pass --repo URL/ },
        { args: ["--yes"], flag: /pass --repo URL/ },
        {
          args: ["--yes", "--repo", "https://github.com/alice/recordings.git"],
          flag: /--pat-stdin/,
        },
        {
          args: ["--repo", "https://github.com/alice/recordings.git", "--pat-stdin"],
          closeStdin: true,
          flag: /--pat-stdin/,
        },
        {
          args: ["--yes", "--repo", "https://github.com/a/r.git"],
          env: { ASCIINEMA_GITHUB_PAT: TOKEN, ASCIINEMA_PUSHOVER_APP: "app-token-1234" },
          flag: /ASCIINEMA_PUSHOVER_USER/,
        },
      ];
      for (const entry of cases) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--no-prompt", SETUP_TS, ...entry.args],
          env: { ...t.env, ...entry.env },
          clearEnv: true,
          cwd: t.root,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // Otherwise stdin is a pipe that stays open: a prompt would wait on it forever, so
        // exiting by itself (not killed by the guard below) is the event that shows no prompt.
        if (entry.closeStdin) await child.stdin.close();
        const kill = setTimeout(() => child.kill("SIGKILL"), 60_000);
        const output = await child.output();
        clearTimeout(kill);
        const text = new TextDecoder().decode(output.stdout) +
          new TextDecoder().decode(output.stderr);
        assert.notEqual(output.code, 0, text);
        assert.equal(output.signal, null, `setup hung (${entry.args.join(" ")})`);
        assert.match(text, entry.flag, entry.args.join(" "));
        if (!entry.closeStdin) await child.stdin.close().catch(() => {});
      }
      assert.equal(await exists(t.paths.home), false, "a failed setup wrote into ASCIINEMA_HOME");
    } finally {
      await t.cleanup();
    }
  },
});
