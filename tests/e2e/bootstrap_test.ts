/**
 * bootstrap.ts as a process: safe when sourced by mistake (bash, zsh), and
 * real recordings with asciinema in tmux (daemon stopped; daemon running, end
 * to end; Ctrl-C and SIGTERM). Its logic in process is tests/unit/recording/.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findOnPath, run } from "../../lib/sys/mod.ts";
import { readRecordingConfig } from "../../lib/recording/mod.ts";
import { isRecordingId } from "../../lib/recording/mod.ts";
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
// Recording ids, the per-recording config, asciinema command lines, where a recording goes
// and the daemon preflight are tested in process: tests/unit/recording/.

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
