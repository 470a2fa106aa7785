/**
 * Issue 23, point 7: nothing from a recording, a branch or a remote reaches
 * the terminal raw. Every command that prints text from outside runs as a
 * real process against hostile input built here (a branch whose ids,
 * manifest times and text index carry the strings of
 * tests/support/hostile_text.ts; a remote whose hook answers a push with
 * them; a folder whose git origin is one; a config.json full of them), and
 * none of its output may hold a raw control. `--json` stays exact.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findRawControl, HOSTILE_STRINGS } from "../support/hostile_text.ts";
import { FORGED_OK, HOSTILE_NEEDLE, pushHostileBranch } from "../support/hostile_branch.ts";
import { type CliResult, initBare, runDaemonCli, withFakeRemote } from "../support/fake_branch.ts";
import { ignoreWithout, makeTestHome, waitFor } from "../support/env.ts";
import { finished, startBootstrap, withBootstrapHome } from "../support/bootstrap_run.ts";
import { git } from "../../lib/git/mod.ts";
import { FAST_SETTINGS, startDaemon, waitForHealth, writeConfig } from "../support/daemon.ts";
import { V2_HEADER } from "../support/recording.ts";
import { run, termSafe } from "../../lib/sys/mod.ts";

const SETUP_TS = fileURLToPath(new URL("../../setup.ts", import.meta.url));

/** Every hostile string, concatenated: what a hook or a field carries. */
const ALL_HOSTILE = HOSTILE_STRINGS.map((hostile) => hostile.text).join(" ");

/** Fails naming the command when its output holds a raw control. */
function assertEscaped(what: string, result: Pick<CliResult, "stdout" | "stderr">): void {
  const raw = findRawControl(result.stdout + result.stderr);
  assert.equal(raw, undefined, `${what} printed a raw control: ${raw}`);
}

Deno.test("list, verify, restore, text, search and play escape ids, manifest times, index text and messages from a hostile branch; --json stays exact", async () => {
  await withFakeRemote(async ({ remote, work, cli }) => {
    const branch = await pushHostileBranch(remote);
    const repo = ["--repo", remote];
    const runs: [string, string[]][] = [
      ["list", ["list", ...repo]],
      ["verify", ["verify", ...repo]],
      ["verify <damaged id>", ["verify", ...repo, "--", branch.damaged]],
      ["text", ["text", ...repo, "--", branch.complete[0]]],
      ["text --timestamps", ["text", "--timestamps", ...repo, "--", branch.complete[3]]],
      ["search", ["search", ...repo, HOSTILE_NEEDLE]],
      ["search -C 1", ["search", "-C", "1", ...repo, HOSTILE_NEEDLE]],
      ["play <damaged id>", ["play", ...repo, "--", branch.damaged]],
      ["play <missing id>", ["play", ...repo, "--", `gone${ALL_HOSTILE}`]],
    ];
    for (const [index, id] of [...branch.complete, branch.inProgress, branch.damaged].entries()) {
      const output = join(work, `restored-${index}.cast`);
      runs.push([`restore #${index}`, ["restore", ...repo, "-o", output, "--", id]]);
    }
    for (const [what, args] of runs) {
      const result = await cli(args);
      assertEscaped(what, result);
      assert.ok(result.stdout + result.stderr, `${what} printed nothing`);
    }

    // The hostile text did reach the output, escaped, each time it is shown.
    const listed = await cli(["list", ...repo]);
    for (const hostile of HOSTILE_STRINGS) {
      assert.ok(
        listed.stdout.includes(termSafe(hostile.text)),
        `list does not show ${hostile.name} escaped:\n${listed.stdout}`,
      );
    }
    const verified = await cli(["verify", ...repo]);
    assert.equal(verified.code, 1, verified.stderr);
    // A newline inside an id does not forge an "ok" line.
    assert.doesNotMatch(verified.stdout, new RegExp(`^${FORGED_OK}`, "m"));
    assert.match(verified.stdout, /^FAIL {2}bad\\nok {4}forged/m);
    const found = await cli(["search", ...repo, HOSTILE_NEEDLE]);
    assert.equal(found.code, 2, "the damaged recording is an error"); // matches are still printed
    for (const hostile of HOSTILE_STRINGS) {
      assert.ok(
        found.stdout.includes(`${HOSTILE_NEEDLE} ${termSafe(hostile.text)} after`),
        `search does not show ${hostile.name} escaped:\n${found.stdout}`,
      );
    }

    // --json is exact: the ids and times as the branch has them.
    const json = JSON.parse((await cli(["list", "--json", ...repo])).stdout);
    const ids = json.recordings.map((r: { id: string }) => r.id).sort();
    assert.deepEqual(ids, [...branch.complete, branch.inProgress, branch.damaged].sort());
    const first = json.recordings.find((r: { id: string }) => r.id === branch.complete[0]);
    assert.equal(first.started, HOSTILE_STRINGS[0].text);
    const matches = (await cli(["search", "--json", ...repo, HOSTILE_NEEDLE])).stdout
      .split("\n").filter(Boolean).map((line) => JSON.parse(line));
    assert.ok(matches.some((m) => m.id === branch.complete[0] && m.line.includes("\x1b]52")));
  });
});

Deno.test("status, logs and the foreground daemon escape a remote's error text and ids; logs --json and status --json stay exact", async () => {
  const t = await makeTestHome();
  // config.json refuses a remote with C0 controls; the remote's own answer carries them.
  const remote = join(t.root, "remote.git");
  await initBare(remote);
  // The remote answers every push with the hostile strings on stderr ("remote: ..." lines).
  const hook = join(remote, "hooks", "pre-receive");
  await Deno.writeTextFile(
    hook,
    `#!/bin/sh\nprintf '%s\\n' ${shellWords(ALL_HOSTILE)} >&2\nexit 1\n`,
  );
  await Deno.chmod(hook, 0o755);
  await writeConfig(t.paths.home, { ...FAST_SETTINGS, repo_url: remote });
  await Deno.mkdir(t.paths.active, { recursive: true });
  await Deno.writeTextFile(
    join(t.paths.active, "victim.cast"),
    V2_HEADER + '[0.1, "o", "hi\\r\\n"]\n',
  );
  const hostileName = `odd${HOSTILE_STRINGS[3].text}${HOSTILE_STRINGS[0].text}`;
  await Deno.writeTextFile(join(t.paths.active, `${hostileName}.cast`), "not a recording\n");
  const daemon = startDaemon(t.env);
  try {
    await waitForHealth(
      t.paths.health,
      (h) => Object.values(h.remotes ?? {}).some((r) => r.last_error?.includes("\x1b]52")),
      { what: "the remote's error in health.json", timeoutMs: 90_000 },
    );
    await waitFor(
      async () => (await Deno.readTextFile(t.paths.logFile).catch(() => "")).includes("\\u001b]52"),
      { what: "the remote's error in the log", timeoutMs: 90_000 },
    );
    const cli = (args: string[]) => runDaemonCli(args, { env: t.env, cwd: t.root });
    for (const args of [["status"], ["logs"], ["logs", "--errors"], ["logs", "-n", "500"]]) {
      const result = await cli(args);
      assertEscaped(args.join(" "), result);
    }
    // The daemon in the foreground prints its log lines to stderr, escaped too.
    assertEscaped("daemon.ts run", { stdout: "", stderr: daemon.stderr() });
    assert.ok(daemon.stderr().includes(termSafe(HOSTILE_STRINGS[0].text)), daemon.stderr());
    const status = await cli(["status"]);
    assert.ok(status.stdout.includes(termSafe(HOSTILE_STRINGS[0].text)), status.stdout);
    const logs = await cli(["logs"]);
    assert.ok(logs.stdout.includes(termSafe(HOSTILE_STRINGS[0].text)), logs.stdout);
    // --json is exact: the raw text survives, JSON-escaped.
    const report = JSON.parse((await cli(["status", "--json"])).stdout);
    assert.ok(
      report.remotes.some((r: { last_error?: string }) => r.last_error?.includes("\x1b]52")),
    );
    const lines = (await cli(["logs", "--json", "-n", "500"])).stdout.split("\n").filter(Boolean);
    assert.ok(lines.some((line) =>
      JSON.parse(line).message?.includes?.("\x1b]52") ||
      JSON.stringify(JSON.parse(line).properties ?? {}).includes("\\u001b]52")
    ));
  } finally {
    daemon.kill("SIGTERM");
    await daemon.wait();
    await t.cleanup();
  }
});

Deno.test({
  name:
    "bootstrap.ts escapes the folder's origin URL and the daemon's health it quotes, in every line it prints",
  ignore: ignoreWithout(["asciinema", "tmux"]),
  async fn() {
    await withBootstrapHome(async ({ t, tmux }) => {
      // A daemon that runs but quotes a remote's hostile error in health.json.
      await Deno.mkdir(t.paths.home, { recursive: true });
      const now = new Date().toISOString();
      await Deno.writeTextFile(
        t.paths.health,
        JSON.stringify({
          status: "degraded",
          message: `push failed: ${ALL_HOSTILE}`,
          last_error: ALL_HOSTILE,
          last_update: now,
          heartbeat: now,
          heartbeat_interval_seconds: 3600,
          pid: Deno.pid,
          recordings: {},
          remotes: {},
        }),
      );
      const origins = {
        // A local path is a usable remote: bootstrap says it backs up there.
        usable: join(t.root, `origin${ALL_HOSTILE.replace(/[\r\n]/g, "")}.git`),
        // Not a remote at all: bootstrap says it cannot use it.
        refused: `ext::sh -c touch${ALL_HOSTILE}`,
      };
      for (const [name, origin] of Object.entries(origins)) {
        const cwd = join(t.root, name);
        await Deno.mkdir(cwd);
        await git(["init", "--quiet", cwd]);
        await git(["config", "remote.origin.url", origin], { cwd });
        const run = await startBootstrap(t, tmux, {
          cwd,
          name,
          args: ["--command", "true", "--wait", "0"],
        });
        const result = await finished(tmux, run);
        assertEscaped(`bootstrap with the ${name} origin`, { stdout: "", stderr: result.stderr });
        assert.match(result.stderr, /is degraded: push failed: \\x1b\]52/);
        const shown = termSafe(HOSTILE_STRINGS[0].text);
        const said = name === "usable" ? `backed up to ${join(t.root, "origin")}${shown}` : shown;
        assert.ok(result.stderr.includes(said), result.stderr);
      }
    });
  },
});

Deno.test("setup.ts escapes the repository URL it quotes from config.json and the errors about it", async () => {
  const t = await makeTestHome();
  try {
    const remote = join(t.root, `gone${ALL_HOSTILE.replace(/[\r\n]/g, "")}.git`);
    await writeConfig(t.paths.home, { repo_url: remote, branch: "main" });
    const result = await run(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", SETUP_TS, "--yes", "--no-service"],
      env: t.env,
      clearEnv: true,
      cwd: t.root,
      timeoutMs: 120_000,
    });
    assert.notEqual(result.code, 0, "an unreachable repository is an error");
    assertEscaped("setup", result);
    const shown = termSafe(remote);
    assert.match(
      result.stdout,
      new RegExp(`^Repository: ${escapeRegExp(shown)}, branch main$`, "m"),
    );
    assert.match(result.stdout, new RegExp(`^error: could not reach ${escapeRegExp(shown)}`, "m"));
  } finally {
    await t.cleanup();
  }
});

/** `text` as a literal in a regular expression. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `words` as one sh word each, single-quoted. */
function shellWords(text: string): string {
  return text.split(" ").map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}
