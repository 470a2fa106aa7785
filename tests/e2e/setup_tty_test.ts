/**
 * The interactive setup wizard in a real terminal (issue 6, acceptance 2):
 * tmux runs `setup.ts` in bash, the answers are typed with `send-keys` and
 * the screen is read back with `capture-pane`, against the loopback GitHub
 * API stand-in, the loopback smart-HTTP git server, the loopback ntfy
 * stand-in and a real gnome-keyring. The token shows masked; an invalid
 * token gives a clear message and a way to retry; Ctrl-C at a prompt leaves
 * the terminal usable (echo and icanon on, the shell answers) and changes
 * nothing on disk, in the keyring or on the remote.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../lib/sys/mod.ts";
import { git } from "../../lib/git/mod.ts";
import { GITHUB_PAT, SecretServiceStore } from "../../lib/credentials/mod.ts";
import { AGE_IDENTITY, recipientOf } from "../../lib/crypto/mod.ts";
import {
  assertTools,
  ignoreWithout,
  makeTestHome,
  type TestHome,
  waitFor,
} from "../support/env.ts";
import { type GitHttpServer, startGitHttpServer } from "../support/git_http_server.ts";
import { type GitHubApi, startGitHubApi } from "../support/github_api.ts";
import { type KeyringSession, startKeyringSession } from "../support/keyring.ts";
import { type NotifyServer, startNotifyServer } from "../support/notify_server.ts";

const SETUP_TS = fileURLToPath(new URL("../../setup.ts", import.meta.url));
const DENO_JSON = fileURLToPath(new URL("../../deno.json", import.meta.url));
const TOKEN = "ghp_TtySetupToken0123456789abcdefABCDEFGH";
const WRONG = "ghp_TtyWrongToken0123456789abcdefABCDEFG";
const REPO = "alice/recordings";
const BRANCH = "asciinema-recordings";
const TOOLS = ["tmux", "git", "zstd", "dbus-run-session", "gnome-keyring-daemon", "secret-tool"];

interface Rig {
  t: TestHome;
  server: GitHttpServer;
  api: GitHubApi;
  notify: NotifyServer;
  session: KeyringSession;
  store: SecretServiceStore;
  url: string;
  tty: Tty;
  stop(): Promise<void>;
}

/** One tmux server (its own socket) running bash, driven like a person would. */
interface Tty {
  /** Types text literally. */
  type(text: string): Promise<void>;
  /** Presses keys (tmux key names: Enter, Down, C-c). */
  press(...keys: string[]): Promise<void>;
  /** The screen and its scrollback. */
  screen(): Promise<string>;
  /** Waits until the screen matches (default 60 s). */
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<string>;
  /** Clears the screen and the scrollback. */
  clear(): Promise<void>;
  /** Appends everything the pane outputs from now on (raw, erased drawings too) to `file`. */
  record(file: string): Promise<void>;
  /** Ends the tmux server. */
  kill(): Promise<void>;
}

let sockets = 0;

async function startTty(env: Record<string, string>, cwd: string): Promise<Tty> {
  const socket = `setup-tty-${Deno.pid}-${++sockets}`;
  const tmux = async (args: string[]) => {
    const result = await run("tmux", {
      args: ["-f", "/dev/null", "-L", socket, ...args],
      env,
      clearEnv: true,
      cwd,
      timeoutMs: 30_000,
    });
    if (!result.success) throw new Error(`tmux ${args[0]}: ${result.stderr}`);
    return result.stdout;
  };
  await tmux([
    "new-session",
    "-d",
    "-s",
    "main",
    "-x",
    "160",
    "-y",
    "50",
    "-c",
    cwd,
    "bash --norc --noprofile",
  ]);
  const screen = () => tmux(["capture-pane", "-p", "-J", "-t", "main", "-S", "-2000"]);
  return {
    type: async (text) => {
      await tmux(["send-keys", "-t", "main", "-l", text]);
    },
    press: async (...keys) => {
      for (const key of keys) await tmux(["send-keys", "-t", "main", key]);
    },
    screen,
    async waitFor(pattern, what, timeoutMs = 60_000) {
      let last = "";
      try {
        await waitFor(async () => pattern.test(last = await screen()), {
          what,
          timeoutMs,
          intervalMs: 100,
        });
      } catch (error) {
        throw new Error(`${(error as Error).message}; the screen:\n${last}`);
      }
      return last;
    },
    async clear() {
      await tmux(["send-keys", "-t", "main", "clear", "Enter"]);
      await waitFor(async () => !(await screen()).includes("SETUP-"), { what: "a clear screen" })
        .catch(() => {});
      await tmux(["clear-history", "-t", "main"]);
    },
    record: async (file) => {
      await tmux(["pipe-pane", "-t", "main", `cat >> '${file}'`]);
    },
    kill: async () => {
      await tmux(["kill-server"]).catch(() => "");
    },
  };
}

async function rig(options: { env?: Record<string, string> } = {}): Promise<Rig> {
  const t = await makeTestHome("setup-tty-");
  const session = await startKeyringSession({ root: t.root });
  const server = await startGitHttpServer({ token: TOKEN });
  await server.createRepo(REPO);
  const api = await startGitHubApi({
    tokens: { [TOKEN]: { login: "alice", repos: { [REPO]: { push: true } } } },
  });
  const notify = await startNotifyServer();
  const store = new SecretServiceStore({ account: t.env.USER, env: session.env });
  const work = join(t.root, "work");
  await Deno.mkdir(work);
  const env: Record<string, string> = {
    ...t.env,
    ...session.env,
    ASCIINEMA_CREDENTIAL_STORE: "secret-service",
    HISTFILE: "/dev/null",
    TERM: "xterm-256color",
    ...options.env,
  };
  const tty = await startTty(env, work);
  return {
    t,
    server,
    api,
    notify,
    session,
    store,
    url: server.repoUrl(REPO),
    tty,
    async stop() {
      await tty.kill();
      await notify.close();
      await api.stop();
      await server.stop();
      await session.stop();
      await t.cleanup();
    },
  };
}

/** Starts setup in the shell; its exit status is printed as `SETUP-<tag>=<code>`. */
async function startSetup(r: Rig, tag: string): Promise<void> {
  await r.tty.type(
    `deno run -A --no-prompt ${SETUP_TS} --github-api ${r.api.url} --no-service; ` +
      `echo "SETUP-${tag}=$?"`,
  );
  await r.tty.press("Enter");
}

/** Answers the repository step with "Another repository URL" and the default branch. */
async function answerRepository(r: Rig): Promise<void> {
  await r.tty.waitFor(/\? Where should recordings be backed up\?/, "the repository question");
  await r.tty.press("Down", "Enter");
  await r.tty.waitFor(/\? Repository URL/, "the repository URL input");
  await r.tty.type(r.url);
  await r.tty.press("Enter");
  await r.tty.waitFor(/\? Branch for the recordings/, "the branch input");
  await r.tty.press("Enter");
  await r.tty.waitFor(/\? GitHub token \(input is masked\)/, "the token prompt");
}

/** Answers the encryption step with "No, push plain zstd". */
async function answerNoEncryption(r: Rig): Promise<void> {
  await r.tty.waitFor(
    /\? Encrypt recordings before they leave this machine\?/,
    "the encryption question",
  );
  await r.tty.press("Down", "Down", "Enter");
}

/** Answers every step with the right token, no encryption, no notifier, the default chunking. */
async function answerUpToConfirmation(r: Rig): Promise<void> {
  await answerRepository(r);
  await r.tty.type(TOKEN);
  await r.tty.press("Enter");
  await r.tty.waitFor(/the token of alice can push/, "the token to be accepted");
  await answerNoEncryption(r);
  await r.tty.waitFor(/\? Notify you when backups fail\?/, "the notification question");
  await r.tty.press("Down", "Down", "Enter");
  await r.tty.waitFor(/\? How should recordings be chunked\?/, "the chunking question");
  await r.tty.press("Enter");
  await r.tty.waitFor(/\? Apply these settings\?/, "the confirmation");
}

/** Checks that the shell is back in a usable state: echo and icanon on, and it answers. */
async function assertTerminalUsable(r: Rig, tag: string): Promise<void> {
  await r.tty.type(
    `stty -a | tr -s ' ;' '\\n' | grep -E -x -- '-?(icanon|echo)' | tr '\\n' ' '; echo STTY-${tag}`,
  );
  await r.tty.press("Enter");
  const pattern = new RegExp(`\\n((?:-?(?:icanon|echo) )+)STTY-${tag}`);
  const screen = await r.tty.waitFor(pattern, "the output of stty -a");
  const line = pattern.exec(screen)![1];
  assert.match(line, /(^|\s)icanon\s/, `icanon is off after Ctrl-C: ${line}`);
  assert.match(line, /(^|\s)echo\s/, `echo is off after Ctrl-C: ${line}`);
  assert.doesNotMatch(line, /-icanon|-echo\s/, line);
  await r.tty.type(`echo ALIVE-${tag}-$((40+2))`);
  await r.tty.press("Enter");
  await r.tty.waitFor(new RegExp(`ALIVE-${tag}-42`), "the shell to answer");
}

/** Every file under `dir`, with its bytes as text (relative path → content). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (path: string, prefix: string): Promise<void> => {
    for await (const entry of Deno.readDir(path)) {
      const child = join(path, entry.name);
      const relative = `${prefix}/${entry.name}`;
      if (entry.isDirectory) {
        files.set(relative + "/", "");
        await walk(child, relative);
      } else {
        files.set(relative, await Deno.readTextFile(child).catch(() => "<unreadable>"));
      }
    }
  };
  await walk(dir, "");
  return files;
}

async function remoteBranchTip(r: Rig): Promise<string | undefined> {
  const result = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${BRANCH}`], {
    gitDir: r.server.repoPath(REPO),
  });
  return result.success ? result.stdout.trim() : undefined;
}

Deno.test({
  name:
    "acceptance 2: interactive setup in tmux: masked token, invalid token explained with a retry, ntfy test notice, settings applied",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(TOOLS);
    const r = await rig();
    try {
      await startSetup(r, "RUN");
      await r.tty.waitFor(/Step 1\/8 · Preflight[\s\S]*✔ git/, "the preflight");
      await answerRepository(r);

      // A wrong token: typed, shown as stars only.
      await r.tty.type(WRONG);
      const typed = await r.tty.waitFor(/\*{40}/, "the masked token");
      assert.ok(!typed.includes(WRONG), "the token is visible on the screen");
      assert.ok(typed.includes("*".repeat(WRONG.length)));
      await r.tty.press("Enter");
      const rejected = await r.tty.waitFor(/\? What now\?/, "the retry menu");
      assert.match(rejected, /GitHub rejected this token \(HTTP 401/);
      assert.match(rejected, /Enter another token/);
      await r.tty.press("Enter");
      await r.tty.waitFor(
        /Enter another token[\s\S]*\? GitHub token \(input is masked\)/,
        "the second token prompt",
      );

      // The right token.
      await r.tty.type(TOKEN);
      await r.tty.waitFor(
        new RegExp(`\\? GitHub token[^\\n]*\\*{${TOKEN.length}}`),
        "the masked token",
      );
      await r.tty.press("Enter");
      await r.tty.waitFor(/the token of alice can push/, "the token to be accepted");
      await answerNoEncryption(r);

      // Notifications: ntfy, with a test notice.
      await r.tty.waitFor(/\? Notify you when backups fail\?/, "the notification question");
      await r.tty.press("Down", "Enter");
      await r.tty.waitFor(/\? ntfy topic URL/, "the ntfy input");
      await r.tty.type(r.notify.ntfyUrl("tty-setup"));
      await r.tty.press("Enter");
      await r.tty.waitFor(/Test notice sent via ntfy/, "the test notice");

      // Chunking: the default preset; then apply.
      await r.tty.waitFor(/\? How should recordings be chunked\?/, "the chunking question");
      await r.tty.press("Enter");
      await r.tty.waitFor(/\? Apply these settings\?/, "the confirmation");
      await r.tty.press("Enter");
      const done = await r.tty.waitFor(/SETUP-RUN=\d+/, "setup to finish");
      assert.match(done, /SETUP-RUN=0/, done);

      const config = JSON.parse(await Deno.readTextFile(r.t.paths.config));
      assert.equal(config.repo_url, r.url);
      assert.equal(config.branch, BRANCH);
      assert.equal(config.idle_threshold, 30);
      assert.equal(config.zstd_level, 3);
      assert.equal(config.notify.ntfy.url, r.notify.ntfyUrl("tty-setup"));
      assert.equal(await r.store.get(GITHUB_PAT), TOKEN);
      assert.ok(await remoteBranchTip(r), "the orphan branch was not created");
      assert.equal(r.notify.received.length, 1);
      const everything = await r.tty.screen();
      assert.ok(!everything.includes(TOKEN) && !everything.includes(WRONG), "a token was shown");
      assert.ok(!(await Deno.readTextFile(r.t.paths.config)).includes(TOKEN));

      // Again: the earlier installation is found; keeping everything changes nothing.
      const tip = await remoteBranchTip(r);
      const configText = await Deno.readTextFile(r.t.paths.config);
      await r.tty.clear();
      await startSetup(r, "AGAIN");
      const found = await r.tty.waitFor(
        /\? An earlier installation was found/,
        "the existing install",
      );
      assert.match(found, /stored: GitHub token/);
      await r.tty.press("Enter");
      await r.tty.waitFor(/\? Where should recordings be backed up\?/, "the repository question");
      await r.tty.press("Enter"); // keep the configured repository
      await r.tty.waitFor(/\? Branch for the recordings/, "the branch input");
      await r.tty.press("Enter");
      await r.tty.waitFor(/\? Keep using the stored token\?/, "the stored token check");
      await r.tty.press("Enter");
      await answerNoEncryption(r);
      await r.tty.waitFor(/\? Notify you when backups fail\?/, "the notification question");
      await r.tty.press("Enter"); // keep ntfy
      await r.tty.waitFor(/Test notice sent via ntfy/, "the second test notice");
      await r.tty.waitFor(/\? How should recordings be chunked\?/, "the chunking question");
      await r.tty.press("Enter");
      await r.tty.waitFor(/\? Apply these settings\?/, "the confirmation");
      await r.tty.press("Enter");
      const again = await r.tty.waitFor(/SETUP-AGAIN=\d+/, "the second setup to finish");
      assert.match(again, /SETUP-AGAIN=0/, again);
      assert.match(again, /The branch asciinema-recordings exists/);
      assert.equal(await remoteBranchTip(r), tip);
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(r.t.paths.config)),
        JSON.parse(configText),
      );
      assert.equal(await r.store.get(GITHUB_PAT), TOKEN);
      assert.ok(!(await r.tty.screen()).includes(TOKEN));
    } finally {
      await r.stop();
    }
  },
});

Deno.test({
  name:
    "issue 15, acceptance 5: interactive setup in tmux offers encryption, creates a key, shows it once with the password-manager warning and stores it in the keyring",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(TOOLS);
    const r = await rig();
    try {
      await startSetup(r, "KEY");
      await answerRepository(r);
      await r.tty.type(TOKEN);
      await r.tty.press("Enter");
      await r.tty.waitFor(/the token of alice can push .*the repository is private/, "the token");
      const offered = await r.tty.waitFor(
        /\? Encrypt recordings before they leave this machine\?/,
        "the encryption question",
      );
      assert.match(offered, /Yes, with a new key \(recommended\)/);
      await r.tty.press("Enter");
      const shown = await r.tty.waitFor(
        /\? Have you saved the key in your password manager\?/,
        "the key, shown once",
      );
      assert.match(shown, /It is shown this once/);
      assert.match(shown, /if you lose it, the recordings are lost/);
      const identity = /AGE-SECRET-KEY-1[0-9A-Z]{58}/.exec(shown)?.[0];
      assert.ok(identity, shown);
      // "No" first: setup waits until the key is saved.
      await r.tty.press("Enter");
      await r.tty.waitFor(/Setup goes on once the key is saved/, "the reminder");
      await r.tty.type("y");
      await r.tty.press("Enter");
      await r.tty.waitFor(/\? Notify you when backups fail\?/, "the notification question");
      await r.tty.press("Down", "Down", "Enter");
      await r.tty.waitFor(/\? How should recordings be chunked\?/, "the chunking question");
      await r.tty.press("Enter");
      const summary = await r.tty.waitFor(/\? Apply these settings\?/, "the confirmation");
      assert.match(
        summary,
        /encryption +age, 1 recipient\(s\); new key stored in the secret-service/,
      );
      await r.tty.press("Enter");
      const done = await r.tty.waitFor(/SETUP-KEY=\d+/, "setup to finish");
      assert.match(done, /SETUP-KEY=0/, done);
      assert.match(done, /age key stored in the secret-service credential store/);

      const everything = await r.tty.screen();
      assert.equal(everything.split(identity).length - 1, 1, "the key is shown exactly once");
      assert.equal(await r.store.get(AGE_IDENTITY), identity);
      const config = JSON.parse(await Deno.readTextFile(r.t.paths.config));
      assert.deepEqual(config.encryption, { recipients: [await recipientOf(identity)] });
      assert.ok(!(await Deno.readTextFile(r.t.paths.config)).includes(identity));
    } finally {
      await r.stop();
    }
  },
});

Deno.test({
  name:
    "acceptance 2: Ctrl-C at a menu, at the token prompt and at the final confirmation leaves the terminal usable and changes nothing",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(TOOLS);
    const r = await rig();
    try {
      const before = await snapshot(r.t.root);

      // 1. At the first menu.
      await startSetup(r, "MENU");
      await r.tty.waitFor(/\? Where should recordings be backed up\?/, "the repository question");
      await r.tty.press("C-c");
      let screen = await r.tty.waitFor(/SETUP-MENU=\d+/, "setup to end");
      assert.match(screen, /SETUP-MENU=130/);
      assert.match(screen, /Setup cancelled: nothing was changed/);
      await assertTerminalUsable(r, "MENU");
      await r.tty.clear();

      // 2. Halfway through typing the token.
      await startSetup(r, "TOKEN");
      await answerRepository(r);
      await r.tty.type(TOKEN.slice(0, 12));
      await r.tty.waitFor(/\? GitHub token[^\n]*\*{12}/, "the masked input");
      await r.tty.press("C-c");
      screen = await r.tty.waitFor(/SETUP-TOKEN=\d+/, "setup to end");
      assert.match(screen, /SETUP-TOKEN=130/);
      await assertTerminalUsable(r, "TOKEN");
      await r.tty.clear();

      // 3. At the final confirmation, after every check passed.
      await startSetup(r, "CONFIRM");
      await answerUpToConfirmation(r);
      await r.tty.press("C-c");
      screen = await r.tty.waitFor(/SETUP-CONFIRM=\d+/, "setup to end");
      assert.match(screen, /SETUP-CONFIRM=130/);
      assert.match(screen, /Setup cancelled: nothing was changed/);
      await assertTerminalUsable(r, "CONFIRM");

      // Nothing changed: the test's whole tree (home, keyring files), the keyring, the remote.
      const after = await snapshot(r.t.root);
      assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
      for (const [path, content] of before) assert.equal(after.get(path), content, path);
      assert.equal(await r.store.get(GITHUB_PAT), undefined);
      assert.equal(await remoteBranchTip(r), undefined);
    } finally {
      await r.stop();
    }
  },
});

Deno.test({
  name:
    "issue 14: with an empty Deno cache every npm package is fetched before setup prints its first line (no download bar inside the wizard)",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(TOOLS);
    const denoDir = await Deno.makeTempDir({ prefix: "setup-tty-deno-dir-" });
    const r = await rig({ env: { DENO_DIR: denoDir } });
    try {
      const raw = join(r.t.root, "pane.log");
      await r.tty.record(raw);
      await startSetup(r, "FRESH");
      // Downloading the npm packages into the empty cache comes first, however long it takes.
      const screen = await r.tty.waitFor(
        /\? Where should recordings be backed up\?/,
        "the first question (after the npm downloads)",
        240_000,
      );
      const lines = screen.split("\n");
      const first = lines.findIndex((line) => /Step 1\/8 · Preflight/.test(line));
      assert.ok(first >= 0, screen);
      assert.doesNotMatch(lines.slice(first).join("\n"), /Download|[▰▱]|npm:/, screen);
      // Deno's progress bar is drawn and erased in place: look at the raw output too.
      const output = await Deno.readTextFile(raw);
      const printed = output.indexOf("Step 1/8");
      assert.ok(printed >= 0, output);
      const late = output.slice(printed).match(/.{0,40}(Download|[▰▱]).{0,60}/);
      assert.equal(late, null, `Deno downloaded after setup printed its first line: ${late?.[0]}`);
      const cached = await Array.fromAsync(Deno.readDir(join(denoDir, "npm"))).catch(() => []);
      assert.ok(cached.length > 0, `nothing was downloaded into ${denoDir}: was it empty?`);
      await r.tty.press("C-c");
      const ended = await r.tty.waitFor(/SETUP-FRESH=\d+/, "setup to end");
      assert.match(ended, /SETUP-FRESH=130/);
      await assertTerminalUsable(r, "FRESH");
    } finally {
      await r.stop();
      await Deno.remove(denoDir, { recursive: true }).catch(() => {});
    }
  },
});

/** A copy of this process's npm cache without its package documents (as after a Deno upgrade). */
async function staleDenoDir(): Promise<string> {
  const info = await run(Deno.execPath(), { args: ["info", "--json"], timeoutMs: 60_000 });
  const npmCache = JSON.parse(info.stdout).npmCache as string;
  const denoDir = await Deno.makeTempDir({ prefix: "setup-tty-stale-deno-" });
  const copied = await run("cp", {
    args: ["-R", npmCache, join(denoDir, "npm")],
    timeoutMs: 120_000,
  });
  if (!copied.success) throw new Error(`cp: ${copied.stderr}`);
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.name === "registry.json") {
        await Deno.remove(path);
        removed++;
      }
    }
  };
  await walk(join(denoDir, "npm"));
  if (removed === 0) {
    throw new Error(`no package documents in ${npmCache}: is it a Deno npm cache?`);
  }
  return denoDir;
}

Deno.test({
  name:
    "issue 26: with a stale Deno cache (package documents gone) the whole wizard, service included, draws no download output after its first line",
  ignore: ignoreWithout(TOOLS) || Deno.build.os !== "linux",
  async fn() {
    await assertTools(TOOLS);
    const denoDir = await staleDenoDir();
    const r = await rig({ env: { DENO_DIR: denoDir } });
    try {
      const raw = join(r.t.root, "pane.log");
      await r.tty.record(raw);
      // As a newcomer starts it: the task, which warms the cache before the wizard's first line.
      await r.tty.type(
        `deno task --config ${DENO_JSON} daemon-setup --github-api ${r.api.url} --detach; ` +
          `echo "SETUP-STALE=$?"`,
      );
      await r.tty.press("Enter");
      await answerUpToConfirmation(r);
      await r.tty.press("Enter");
      const done = await r.tty.waitFor(/SETUP-STALE=\d+/, "setup to finish", 240_000);
      assert.match(done, /SETUP-STALE=0/, done);
      const output = await Deno.readTextFile(raw);
      const printed = output.indexOf("Step 1/8");
      assert.ok(printed >= 0, output);
      const late = output.slice(printed).match(/.{0,60}(Download|[▰▱]).{0,60}/);
      assert.equal(late, null, `a download was drawn after setup's first line: ${late?.[0]}`);
    } finally {
      await run(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", SETUP_TS, "--uninstall"],
        env: { ...r.t.env, DENO_DIR: denoDir },
        clearEnv: true,
        timeoutMs: 120_000,
      }).catch(() => {});
      await r.stop();
      await Deno.remove(denoDir, { recursive: true }).catch(() => {});
    }
  },
});
