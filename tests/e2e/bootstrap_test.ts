/**
 * bootstrap.ts: safe when sourced by mistake (bash, zsh), recording ids,
 * the per-recording config, the asciinema command line, where a recording
 * goes, the daemon preflight, and real recordings with asciinema in tmux
 * (daemon stopped; daemon running, end to end; Ctrl-C and SIGTERM).
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildRecArgs, captureInputFlag, parseAsciinemaVersion } from "../../lib/recording/mod.ts";
import { findOnPath, run } from "../../lib/sys/mod.ts";
import type { Health } from "../../lib/status/mod.ts";
import {
  createRecordingConfig,
  markRecordingEnded,
  readRecordingConfig,
  writeRecordingConfig,
} from "../../lib/recording/mod.ts";
import {
  allocateRecordingId,
  FALLBACK_WORKSPACE,
  formatIdTimestamp,
  isRecordingId,
  makeRecordingId,
  type RandomSource,
  sanitizeWorkspace,
} from "../../lib/recording/mod.ts";
import { checkDaemon, resolveTarget } from "../../bootstrap.ts";
import {
  BOOTSTRAP,
  fakeSsh,
  finished,
  idFrom,
  startBootstrap,
  tmuxFor,
  withRecordingDaemon,
} from "../support/bootstrap_run.ts";
import { assertTools, ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import { DAEMON_TS, remoteEnd, restoreFromRemote } from "../support/daemon.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ERROR_LINE = "ERROR: run ./bootstrap.ts directly; do not source it";

// ------------------------------------------------------------------ sourcing

async function sourceIn(shell: string, script: string) {
  return await run(shell, {
    args: ["-c", script],
    cwd: ROOT,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: "/nonexistent", LANG: "C" },
    clearEnv: true,
    timeoutMs: 20_000,
  });
}

for (const shell of ["bash", "zsh"]) {
  Deno.test({
    name:
      `${shell}: sourcing bootstrap.ts prints the error and returns; the shell, options and traps survive`,
    ignore: ignoreWithout([shell]),
    async fn() {
      await assertTools([shell]);
      const plain = await sourceIn(shell, 'trap "echo T" EXIT; source ./bootstrap.ts; echo ALIVE');
      assert.equal(plain.stdout, "ALIVE\nT\n");
      assert.equal(plain.stderr, `${ERROR_LINE}\n`);
      assert.equal(plain.code, 0);

      for (const options of ["set -e", "set -u", "set -eu", "set -o pipefail"]) {
        const result = await sourceIn(
          shell,
          `${options}; trap "echo T" EXIT; . ./bootstrap.ts; echo ALIVE`,
        );
        assert.equal(result.stdout, "ALIVE\nT\n", `${shell} with ${options}: ${result.stderr}`);
        assert.equal(result.stderr, `${ERROR_LINE}\n`);
      }

      // Options, traps and variables are exactly as before.
      const snapshot = shell === "zsh"
        ? 'print -r -- "$(setopt)|$(trap)|$-|$PWD"'
        : 'printf "%s|%s|%s|%s\\n" "$(set +o)" "$(trap)" "$-" "$PWD"';
      const same = await sourceIn(
        shell,
        `set -u; trap "echo T" EXIT INT; a=$(${snapshot}); source ./bootstrap.ts; rc=$?; ` +
          `b=$(${snapshot}); [ "$a" = "$b" ] && echo SAME rc=$rc`,
      );
      assert.equal(same.stdout, "SAME rc=1\nT\n", same.stderr);
    },
  });
}

Deno.test("bootstrap.ts is executable and starts with a deno shebang", async () => {
  const info = await Deno.stat(BOOTSTRAP);
  assert.ok((info.mode ?? 0) & 0o111, "executable bit");
  const text = await Deno.readTextFile(BOOTSTRAP);
  const [first, second] = text.split("\n");
  assert.match(first, /^#!\/usr\/bin\/env -S deno run /);
  assert.ok(second.startsWith("//"), "line 2 is a TypeScript comment and a shell command");
  // macOS has /usr/bin/true but no /bin/true: the guard names a program both systems have,
  // and does not depend on it (a missing one is silenced and cannot trip `set -e`).
  const guard = second.split(" ")[0].slice(1);
  assert.equal(guard, "/usr/bin/true", second);
  assert.ok(second.startsWith("//usr/bin/true 2>/dev/null || :;"), second);
});

for (const shell of ["bash", "zsh"]) {
  Deno.test({
    name: `${shell}: sourcing works where the guard's program is missing (macOS has no /bin/true)`,
    ignore: ignoreWithout([shell]),
    async fn() {
      await assertTools([shell]);
      const dir = await Deno.makeTempDir({ prefix: "guard-" });
      try {
        // The guard's absolute path and PATH both point at a folder without `true`.
        const empty = join(dir, "empty");
        await Deno.mkdir(empty);
        const text = await Deno.readTextFile(BOOTSTRAP);
        const copy = join(dir, "bootstrap.ts");
        const lines = text.split("\n");
        lines[1] = lines[1].replace(/^\/\/[^\s;]+/, `/${empty}/true`);
        await Deno.writeTextFile(copy, lines.join("\n"));
        assert.ok((await Deno.readTextFile(copy)).split("\n")[1].startsWith(`/${empty}/true`));
        const program = findOnPath(shell)!;
        for (const options of ["", "set -e;", "set -eu;"]) {
          const result = await run(program, {
            args: ["-c", `${options} trap "echo T" EXIT; . ./bootstrap.ts; echo ALIVE`],
            cwd: dir,
            env: { PATH: empty, HOME: "/nonexistent", LANG: "C" },
            clearEnv: true,
            timeoutMs: 20_000,
          });
          assert.equal(result.stdout, "ALIVE\nT\n", `${shell} ${options}: ${result.stderr}`);
          assert.equal(result.stderr, `${ERROR_LINE}\n`, `${shell} ${options}`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

// ------------------------------------------------------------------- ids

/** Random bytes from a fixed script (each call takes the next list, cycling). */
function scriptedRandom(...calls: number[][]): RandomSource {
  let index = 0;
  return (bytes) => {
    const values = calls[index++ % calls.length];
    bytes.fill(0);
    bytes.set(values.slice(0, bytes.length));
  };
}

Deno.test("recording ids: format, fixed clock, and two starts in the same second differ", async () => {
  const now = new Date(2026, 0, 2, 3, 4, 5);
  assert.equal(formatIdTimestamp(now), "2026-01-02_03-04-05");
  const a = makeRecordingId("proj", { now });
  const b = makeRecordingId("proj", { now });
  assert.match(a, /^proj_2026-01-02_03-04-05_[a-z0-9]{4}$/);
  assert.ok(isRecordingId(a));
  // Random suffixes make a clash unlikely; claiming makes it impossible.
  const taken = new Set<string>();
  const claim = (id: string) => {
    if (taken.has(id)) return Promise.reject(new Deno.errors.AlreadyExists(id));
    taken.add(id);
    return Promise.resolve();
  };
  // The first two attempts draw the same suffix ("aaaa"); the second start must move on.
  const random = scriptedRandom([0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]);
  const first = await allocateRecordingId("proj", { now, random, claim });
  const second = await allocateRecordingId("proj", { now, random, claim });
  assert.equal(first, "proj_2026-01-02_03-04-05_aaaa");
  assert.equal(second, "proj_2026-01-02_03-04-05_bcde");
  assert.ok(isRecordingId(b));
  // Bytes >= 252 are rejected (no bias), never mapped.
  assert.equal(
    makeRecordingId("p", { now, random: scriptedRandom([255, 252, 35, 36, 0, 71]) }),
    "p_2026-01-02_03-04-05_9aa9",
  );
});

Deno.test("workspace names with quotes, backslashes, spaces, slashes, control characters and unicode give safe ids", () => {
  const cases: [string, string][] = [
    [`it's "quoted"`, "it-s-quoted"],
    ["back\\slash and/slash", "back-slash-and-slash"],
    ["  spaces  ", "spaces"],
    ["--rm -rf", "rm-rf"],
    ["..hidden", "hidden"],
    ["a..b", "a.b"],
    ["tab\there\nnew\x00nul\x1b[31m", "tab-here-new-nul-31m"],
    ["café ☃ naïve", "café-naïve"],
    ["cafe\u0301", "café"],
    ["日本語のプロジェクト", "日本語のプロジェクト"],
    ["bidi\u202eevil", "bidi-evil"],
    ["~gen~2", "gen-2"],
    ["", FALLBACK_WORKSPACE],
    ["'\"\\/", FALLBACK_WORKSPACE],
  ];
  for (const [input, expected] of cases) {
    const safe = sanitizeWorkspace(input);
    assert.equal(safe, expected, JSON.stringify(input));
    const id = makeRecordingId(input, { now: new Date(2026, 0, 1) });
    assert.ok(isRecordingId(id), id);
    assert.doesNotMatch(id, /[\s"'\\/~\p{Cc}\p{Cf}]/u);
    assert.ok(!id.startsWith("-") && !id.startsWith("."));
  }
  const long = sanitizeWorkspace("ü".repeat(200));
  assert.ok(new TextEncoder().encode(long).length <= 100);
});

// -------------------------------------------------------- recording config

Deno.test("recording config: JSON.stringify round trip for odd workspace names, unknown fields kept, ended set atomically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recording-config-" });
  try {
    const path = join(dir, "x.json");
    const workspace = `we"ird \\ name\t☃ café 'q' $(rm -rf) \u0000`;
    await createRecordingConfig(path, {
      repo_url: "https://github.com/o/r.git",
      branch: "asciinema-recordings",
      local_repo: "/tmp/r",
      workspace,
      started: "2026-01-01T00:00:00.000Z",
      recorder_pid: 4242,
      asciinema_version: "2.2.0",
      title: 'a "title" \\ with\nnewline',
      bash_extra: { nested: [1, 2] },
    });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const parsed = JSON.parse(await Deno.readTextFile(path));
    assert.equal(parsed.workspace, workspace);
    await assert.rejects(
      () => createRecordingConfig(path, { workspace: "other" }),
      Deno.errors.AlreadyExists,
    );
    assert.equal(
      (await readRecordingConfig(path) as { ok: true; config: { workspace: string } })
        .config.workspace,
      workspace,
    );

    const ended = await markRecordingEnded(path, { now: new Date("2026-01-01T01:00:00.000Z") });
    assert.ok(ended.ok);
    const after = JSON.parse(await Deno.readTextFile(path));
    assert.equal(after.ended, "2026-01-01T01:00:00.000Z");
    assert.deepEqual(after.bash_extra, { nested: [1, 2] });
    assert.equal(after.recorder_pid, 4242);
    assert.equal(after.title, 'a "title" \\ with\nnewline');
    // No temp files left behind.
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["x.json"]);

    // A missing file is never created by markRecordingEnded.
    const gone = await markRecordingEnded(join(dir, "gone.json"));
    assert.ok(!gone.ok && gone.missing);
    await assert.rejects(() => Deno.stat(join(dir, "gone.json")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recording config: malformed or wrongly typed JSON gives a clear error and is not overwritten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recording-config-" });
  try {
    const cases: [string, RegExp][] = [
      ["{not json", /not valid JSON/],
      ["[1,2]", /must be a JSON object, got an array/],
      ['"text"', /must be a JSON object/],
      ['{"recorder_pid": "123"}', /recorder_pid must be a positive whole number.*got "123"/],
      ['{"recorder_pid": 1.5}', /recorder_pid must be/],
      ['{"branch": 7}', /branch must be a string, got 7/],
      ['{"ended": 5}', /ended must be an ISO time string/],
    ];
    for (const [text, pattern] of cases) {
      const path = join(dir, "bad.json");
      await Deno.writeTextFile(path, text);
      const result = await readRecordingConfig(path);
      assert.ok(!result.ok, text);
      assert.match(result.error, pattern);
      assert.ok(result.error.startsWith(path), "names the file");
      assert.equal(result.missing, false);
      const marked = await markRecordingEnded(path);
      assert.ok(!marked.ok);
      assert.equal(await Deno.readTextFile(path), text, "left untouched");
    }
    // bash-era files (strings only, nulls) read fine.
    const path = join(dir, "bash.json");
    await writeRecordingConfig(path, {
      repo_url: "git@github.com:o/r.git",
      branch: "asciinema-recordings",
      local_repo: "/Users/me/asciinema_recordings/r",
      workspace: "w",
      started: "2025-01-01T00:00:00Z",
      title: null,
      ended: true,
    });
    assert.ok((await readRecordingConfig(path)).ok);
    const missing = await readRecordingConfig(join(dir, "none.json"));
    assert.ok(!missing.ok && missing.missing);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------- asciinema

Deno.test("asciinema versions and rec arguments for 2.x and 3.x", () => {
  const v2 = parseAsciinemaVersion("asciinema 2.2.0\n")!;
  const v3 = parseAsciinemaVersion("asciinema 3.1.0")!;
  const rc = parseAsciinemaVersion("asciinema 3.0.0-rc.3")!;
  assert.deepEqual([v2.major, v2.minor, v2.patch, v2.text], [2, 2, 0, "2.2.0"]);
  assert.deepEqual([v3.major, v3.text], [3, "3.1.0"]);
  assert.deepEqual([rc.major, rc.prerelease, rc.text], [3, "rc.3", "3.0.0-rc.3"]);
  assert.equal(parseAsciinemaVersion("nope"), undefined);
  assert.equal(captureInputFlag(v2), "--stdin");
  assert.equal(captureInputFlag(v3), "--capture-input");
  assert.equal(captureInputFlag(rc), "-I");

  const options = {
    file: "/h/active/x.cast",
    title: "-t looks like an option",
    command: "echo hi",
    idleTimeLimit: 2.5,
    captureInput: true,
    overwrite: true,
  };
  assert.deepEqual(buildRecArgs(v2, options), [
    "rec",
    "--stdin",
    "--title=-t looks like an option",
    "--command=echo hi",
    "--idle-time-limit=2.5",
    "--overwrite",
    "/h/active/x.cast",
  ]);
  assert.deepEqual(buildRecArgs(v3, options), [
    "rec",
    "--capture-input",
    "--title=-t looks like an option",
    "--command=echo hi",
    "--idle-time-limit=2.5",
    "--overwrite",
    "/h/active/x.cast",
  ]);
  assert.deepEqual(buildRecArgs(v3, { file: "/x.cast" }), ["rec", "/x.cast"]);
  assert.throws(() => buildRecArgs(v2, { file: "/x.cast", idleTimeLimit: -1 }), /positive/);
  assert.throws(() => buildRecArgs(v2, { file: "-x.cast" }), /option/);
});

// ------------------------------------------------------ where it goes

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

// -------------------------------------------------------------- preflight

Deno.test("preflight: no health.json, stopped, dead pid, stale heartbeat, healthy", async () => {
  const t = await makeTestHome();
  try {
    await Deno.mkdir(t.paths.home, { recursive: true });
    const now = Date.parse("2026-01-01T00:01:00Z");
    const health = (patch: Partial<Health>): Health => ({
      status: "ok",
      message: "ok",
      last_update: "2026-01-01T00:00:59Z",
      last_push: null,
      chunks_pushed: 0,
      pid: 1234,
      idle_threshold: 30,
      zstd_level: 3,
      heartbeat: "2026-01-01T00:00:59Z",
      heartbeat_interval_seconds: 15,
      started_at: "2026-01-01T00:00:00Z",
      recordings: {},
      remotes: {},
      last_error: null,
      ...patch,
    });
    const check = async (patch: Partial<Health> | null, alive = true) => {
      if (patch) await Deno.writeTextFile(t.paths.health, JSON.stringify(health(patch)));
      return await checkDaemon(t.paths.health, { now, isAlive: () => Promise.resolve(alive) });
    };
    let result = await check(null);
    assert.ok(!result.running);
    assert.match(result.problem!, /never run/);
    result = await check({ status: "stopped" });
    assert.ok(!result.running);
    assert.match(result.problem!, /stopped/);
    result = await check({}, false);
    assert.ok(!result.running);
    assert.match(result.problem!, /pid 1234\) is gone/);
    // 45 s = 3 x 15 s: stale.
    result = await check({ heartbeat: "2026-01-01T00:00:15Z" });
    assert.ok(!result.running);
    assert.match(result.problem!, /heartbeat for 45 s/);
    result = await check({ heartbeat: "2026-01-01T00:00:20Z" });
    assert.ok(result.running);
    assert.equal(result.problem, null);
    result = await check({ status: "degraded", message: "push failing" });
    assert.ok(result.running);
    assert.match(result.problem!, /degraded: push failing/);
  } finally {
    await t.cleanup();
  }
});

// ----------------------------------------------------- real recordings

const REAL = ["asciinema", "tmux", "git", "zstd"];

Deno.test({
  name:
    "daemon stopped: bootstrap warns (naming deno task daemon-start) and still records; odd workspace names give valid JSON",
  ignore: ignoreWithout(["asciinema", "tmux"]),
  async fn() {
    await assertTools(["asciinema", "tmux"]);
    const t = await makeTestHome();
    const sshLog = await fakeSsh(t);
    const tmux = await tmuxFor(t);
    try {
      const dirName = `it's "a" \\ dir ☃ café`;
      const cwd = join(t.root, dirName);
      await Deno.mkdir(cwd);
      const started = await startBootstrap(t, tmux, {
        cwd,
        name: "stopped",
        args: ["--command", "echo hi from bootstrap", "--title", 'the "title"', "--wait", "0"],
      });
      const result = await finished(tmux, started);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /WARNING: the backup daemon is NOT running/);
      assert.match(result.stderr, /deno task daemon-start/);
      assert.match(result.stderr, /Backed up: NO/);
      const id = idFrom(result.stderr);
      assert.ok(isRecordingId(id), id);
      assert.ok(id.startsWith("it-s-a-dir-café_"), id);
      assert.match(
        result.stderr,
        new RegExp(`Restore: +deno run -A \\S+/daemon\\.ts restore '${id}'$`, "m"),
      );

      const cast = await Deno.readTextFile(join(t.paths.active, `${id}.cast`));
      assert.match(cast, /^\{"version": 2/);
      assert.match(cast, /hi from bootstrap/);
      assert.equal((await Deno.stat(join(t.paths.active, `${id}.cast`))).mode! & 0o777, 0o600);
      const config = await readRecordingConfig(join(t.paths.active, `${id}.json`));
      assert.ok(config.ok, config.ok ? "" : config.error);
      assert.equal(config.config.workspace, dirName);
      assert.equal(config.config.title, 'the "title"');
      assert.equal(config.config.branch, "asciinema-recordings");
      assert.equal(config.config.repo_url, undefined, "no origin: the daemon's default");
      assert.match(config.config.asciinema_version ?? "", /^\d+\.\d+\.\d+/);
      assert.ok(typeof config.config.ended === "string" && Date.parse(config.config.ended));
      assert.ok(Number.isInteger(config.config.recorder_pid));
      assert.ok(Date.parse(config.config.started!) <= Date.parse(config.config.ended as string));
      // Only GitHub's masters were asked to exit, nothing deleted.
      const ssh = await Deno.readTextFile(sshLog);
      assert.match(ssh, /^-O exit git@github\.com$/m);
    } finally {
      await tmux.tmux(["kill-server"]);
      await t.cleanup();
    }
  },
});

Deno.test({
  name: "Ctrl-C and SIGTERM during a recording still write `ended`",
  ignore: ignoreWithout(["asciinema", "tmux"]),
  async fn() {
    await assertTools(["asciinema", "tmux"]);
    const t = await makeTestHome();
    await fakeSsh(t);
    const tmux = await tmuxFor(t);
    try {
      const cwd = join(t.root, "sig");
      await Deno.mkdir(cwd);
      const args = ["--command", "sh -c 'echo started; sleep 60'", "--wait", "0"];
      const ctrlC = await startBootstrap(t, tmux, { cwd, args, name: "ctrlc" });
      const term = await startBootstrap(t, tmux, { cwd, args, name: "term" });
      // Wait until both recordings are running (the recorded command printed).
      const castsWith = async (text: string) => {
        let count = 0;
        const entries = await Array.fromAsync(Deno.readDir(t.paths.active)).catch(() => []);
        for (const entry of entries) {
          if (!entry.name.endsWith(".cast")) continue;
          const body = await Deno.readTextFile(join(t.paths.active, entry.name));
          if (body.includes(text)) count++;
        }
        return count;
      };
      await waitFor(async () => (await castsWith("started")) === 2, {
        what: "both recordings running",
        timeoutMs: 60_000,
      });
      // Ctrl-C typed into the terminal reaches the recorded program, which ends the recording.
      assert.ok((await tmux.tmux(["send-keys", "-t", ctrlC.session, "C-c"])).success);
      // SIGTERM to bootstrap itself.
      const pid = Number((await Deno.readTextFile(term.pidPath)).trim());
      Deno.kill(pid, "SIGTERM");

      const a = await finished(tmux, ctrlC);
      const b = await finished(tmux, term);
      assert.match(b.stderr, /Stopped by SIGTERM/);
      assert.equal(b.code, 143);
      for (const result of [a, b]) {
        const id = idFrom(result.stderr);
        const config = await readRecordingConfig(join(t.paths.active, `${id}.json`));
        assert.ok(config.ok, config.ok ? "" : config.error);
        assert.ok(typeof config.config.ended === "string", `${id} has ended`);
        assert.match(result.stderr, /Backed up: NO/);
      }
    } finally {
      await tmux.tmux(["kill-server"]);
      await t.cleanup();
    }
  },
});

Deno.test({
  name:
    "end to end: two bootstraps in one second and one workspace record while the daemon runs; their end (not idle or age) cuts the final chunks, pushed, moved to done/, restored byte-identical",
  ignore: ignoreWithout(REAL),
  async fn() {
    await assertTools(REAL);
    // Idle and age thresholds of a day: only `ended` can make the daemon cut the final chunk,
    // so its arrival on the remote is the event that shows the end was seen and acted on.
    await withRecordingDaemon(async ({ t, tmux, daemon }) => {
      const cwd = join(t.root, "same workspace");
      await Deno.mkdir(cwd);
      const args = [
        "--command",
        "sh -c 'echo one; sleep 0.5; printf \"two caf\\303\\251 \\342\\230\\203\\n\"; sleep 0.3'",
      ];
      // The first does not wait; the second waits for its backup and says so.
      const runs = await Promise.all([
        startBootstrap(t, tmux, { cwd, args: [...args, "--wait", "0"], name: "first" }),
        startBootstrap(t, tmux, { cwd, args, name: "second" }),
      ]);
      const results = [];
      for (const started of runs) {
        results.push(await finished(tmux, started));
      }
      const ids = results.map((result) => idFrom(result.stderr));
      assert.notEqual(ids[0], ids[1]);
      assert.match(results[1].stderr, /Backed up: yes, all \d+ bytes/);
      for (const id of ids) assert.ok(id.startsWith(`${basename(cwd).replace(" ", "-")}_`), id);
      for (const [index, result] of results.entries()) {
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(
          result.stderr,
          /WARNING/,
          `the daemon runs: no warning\n${result.stderr}\ndaemon:\n${daemon.stderr()}`,
        );
        const id = ids[index];
        const done = join(t.paths.done, `${id}.cast`);
        await waitFor(async () => {
          try {
            return (await remoteEnd(t.paths.backupGit, { id })) ===
              (await Deno.stat(done)).size;
          } catch {
            return false;
          }
        }, { what: `${id} fully pushed and moved to done/`, timeoutMs: 30_000 });
        const original = await Deno.readFile(done);
        assert.match(new TextDecoder().decode(original), /two café ☃/);
        assert.deepEqual(await restoreFromRemote(t.paths.backupGit, { id }), original);
        // The restore command bootstrap prints gives the same bytes.
        const output = join(t.root, `${id}.restored.cast`);
        const restored = await run(Deno.execPath(), {
          args: ["run", "-A", "--no-prompt", DAEMON_TS, "restore", id, "-o", output],
          env: t.env,
          clearEnv: true,
          cwd: t.root,
          timeoutMs: 60_000,
        });
        assert.equal(restored.code, 0, restored.stderr);
        assert.deepEqual(await Deno.readFile(output), original);
        await assert.rejects(() => Deno.stat(join(t.paths.active, `${id}.cast`)));
        await assert.rejects(() => Deno.stat(join(t.paths.active, `${id}.json`)));
        const config = await readRecordingConfig(join(t.paths.done, `${id}.json`));
        assert.ok(config.ok && typeof config.config.ended === "string");
      }
    }, { idle_threshold: 86400, max_chunk_seconds: 86400 });
  },
});
