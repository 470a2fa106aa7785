/**
 * The guided setup a new user runs once (`deno task daemon-setup`), and its
 * unattended form (`--yes`, or any run whose standard input is not a
 * terminal). Seven steps, each skipped when already done:
 *
 * 1. preflight (lib/setup/preflight.ts);
 * 2. an existing installation: reinstall keeping the credentials, fresh
 *    install (deletes them), or cancel (lib/setup/service.ts);
 * 3. repository (this directory's `origin`, a dedicated
 *    `<owner>/asciinema-recordings`, or any URL) and branch;
 * 4. the GitHub token: masked input, checked with the GitHub API and a real
 *    write check with git (lib/setup/github.ts);
 * 5. notifications: Pushover or ntfy, with a test notice;
 * 6. chunking presets;
 * 7. install: credentials into the credential store, the orphan branch,
 *    config.json (lib/sys/settings.ts `updateSettings`: atomic, other keys
 *    kept), the service and its first healthy heartbeat.
 *
 * Nothing is written anywhere before step 7, so Ctrl-C at any prompt changes
 * nothing. Secrets are read only from a masked prompt, standard input or
 * the environment, registered for redaction at once, and stored only in the
 * credential store — never in config.json, argv or a log.
 *
 * @module
 */
import { hostname } from "node:os";
import * as prompts from "@inquirer/prompts";
import {
  type CredentialStore,
  CredentialUnavailableError,
  describeSecrets,
  envWarning,
  GITHUB_PAT,
  openCredentialStore,
  PUSHOVER_APP,
  PUSHOVER_USER,
} from "../credentials/mod.ts";
import { displayUrl, git, parseRemoteUrl } from "../git/mod.ts";
import { createNotifier, type Notice } from "../notify/mod.ts";
import {
  DEFAULT_BRANCH,
  ensurePrivateDir,
  errorMessage,
  type HomePaths,
  readRawSettings,
  redact,
  registerSecret,
  SettingsError,
  updateSettings,
} from "../sys/mod.ts";
import {
  checkBranch,
  checkHttpUrl,
  checkIdle,
  checkNtfyUrl,
  checkRepoUrl,
  checkZstd,
  CHUNKING_PRESETS,
  EXIT_CANCELLED,
  EXIT_FAILED,
  EXIT_USAGE,
  isPromptCancel,
  MissingAnswerError,
  requireValid,
  SetupCancelled,
  SetupError,
  type SetupFlags,
} from "./answers.ts";
import {
  BranchSetupError,
  checkGitHubToken,
  checkPushAccess,
  DEFAULT_GITHUB_API,
  ensureBranch,
  repoNameOf,
  tokenCreationUrl,
  webHostOf,
} from "./github.ts";
import { missingRequired, preflight, renderPreflight } from "./preflight.ts";
import {
  deleteCredentials,
  describeExisting,
  detectExisting,
  existingFound,
  installService,
  statusText,
  uninstall,
} from "./service.ts";

/** One choice of a menu. */
export interface Choice<T> {
  /** Label. */
  name: string;
  /** Value returned. */
  value: T;
  /** Shown under the menu when highlighted. */
  description?: string;
}

/** The prompts setup asks (masked input for secrets); each throws on Ctrl-C. */
export interface Prompter {
  /** A menu. */
  select<T>(message: string, choices: Choice<T>[], defaultValue?: T): Promise<T>;
  /** A line of text. */
  input(
    message: string,
    options?: { default?: string; validate?: (value: string) => true | string },
  ): Promise<string>;
  /** A secret: shown as `*` per character. */
  secret(
    message: string,
    options?: { validate?: (value: string) => true | string },
  ): Promise<string>;
  /** Yes or no. */
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
}

/**
 * The prompter over @inquirer/prompts. The package is imported statically, so
 * Deno resolves (and, with an empty cache, downloads) it before setup prints
 * its first line, never in the middle of the wizard.
 */
export function inquirerPrompter(): Prompter {
  return {
    select: <T>(message: string, choices: Choice<T>[], defaultValue?: T) =>
      prompts.select<T>({ message, choices, default: defaultValue }),
    input: (message, options = {}) =>
      prompts.input({ message, default: options.default, validate: options.validate }),
    secret: (message, options = {}) =>
      prompts.password({ message, mask: "*", validate: options.validate }),
    confirm: (message, defaultValue = true) => prompts.confirm({ message, default: defaultValue }),
  };
}

/** How setup talks to the person and reads its input. */
export interface SetupIo {
  /** A line to standard output (already redacted by the caller). */
  say(line: string): void;
  /** Prompts; undefined in unattended runs. */
  prompter?: Prompter;
  /** True when standard input is a terminal. */
  stdinIsTerminal: boolean;
  /** Reads standard input to its end (for `--pat-stdin`). */
  readStdin(): Promise<string>;
}

/** Everything setup needs from its surroundings. */
export interface SetupContext {
  /** Home layout. */
  paths: HomePaths;
  /** Environment (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** The directory setup runs in (its git `origin` is a repository choice). */
  cwd: string;
  /** Input and output. */
  io: SetupIo;
  /** Opens the credential store (default {@linkcode openCredentialStore} with config.json's setting). */
  openStore?: (setting?: string) => Promise<CredentialStore>;
  /** `fetch` for the GitHub API and the test notice (tests). */
  fetch?: typeof fetch;
  /** Aborted on Ctrl-C outside a prompt. */
  signal?: AbortSignal;
  /** Platform (default `Deno.build.os`). */
  os?: string;
}

/** What setup will do (filled by steps 2 to 6, applied by step 7). */
export interface SetupPlan {
  /** Delete the stored credentials first. */
  fresh: boolean;
  /** Repository URL as it goes into config.json. */
  repoUrl: string;
  /** Branch. */
  branch: string;
  /** The token to push with (new or stored); undefined for remotes without one. */
  token?: string;
  /** True when `token` is new and goes into the credential store. */
  storeToken: boolean;
  /** The token's GitHub user, when known. */
  login?: string;
  /** True when the branch already exists on the remote. */
  branchExists?: boolean;
  /** `notify.pushover.enabled`. */
  pushover: boolean;
  /** New Pushover secrets to store. */
  pushoverSecrets?: { app: string; user: string };
  /** `notify.pushover.api_url` to write (undefined: keep). */
  pushoverApi?: string;
  /** `notify.ntfy.url`: a URL, null to remove it, undefined to keep it. */
  ntfyUrl?: string | null;
  /** Idle threshold (s). */
  idle: number;
  /** zstd level. */
  zstd: number;
}

interface Run {
  flags: SetupFlags;
  ctx: SetupContext;
  env: { get(key: string): string | undefined };
  say: (line: string) => void;
  prompter?: Prompter;
  store: CredentialStore;
  config: Record<string, unknown>;
  api: string;
  apiExplicit: boolean;
  showDefinition: boolean;
}

function say(ctx: SetupContext, line = ""): void {
  ctx.io.say(redact(line));
}

function step(run: Run, number: number, title: string): void {
  run.say("");
  run.say(`Step ${number}/7 · ${title}`);
}

function checkAborted(ctx: SetupContext): void {
  if (ctx.signal?.aborted) throw new SetupCancelled();
}

/** Reads config.json for setup: a broken file is an error naming the fix. */
async function readConfig(paths: HomePaths): Promise<Record<string, unknown>> {
  try {
    return await readRawSettings(paths.config);
  } catch (error) {
    throw new SetupError(
      `${paths.config} is not valid JSON (${(error as Error).message}); fix it or move it away, ` +
        `then run setup again`,
    );
  }
}

function configString(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  return typeof value === "string" && value.trim() ? value : undefined;
}

function configNumber(config: Record<string, unknown>, key: string): number | undefined {
  const value = config[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).map((line) => line.trim()).find(Boolean) ?? "";
}

/** The repository as config.json keeps it (GitHub SSH forms become HTTPS, credentials dropped). */
function normalizeRepo(url: string): string {
  return parseRemoteUrl(url).url;
}

function needsToken(url: string): boolean {
  return parseRemoteUrl(url).needsToken;
}

/** True when the GitHub API check applies to this remote. */
function apiApplies(run: Run, url: string): boolean {
  const parsed = parseRemoteUrl(url);
  if (!parsed.needsToken || !repoNameOf(url)) return false;
  return run.apiExplicit || parsed.github;
}

// ---------------------------------------------------------------- checks

/** The outcome of checking a token against the repository. */
type TokenVerdict =
  | { ok: true; login?: string; branchExists: boolean }
  | { ok: false; kind: string; message: string };

async function verifyToken(run: Run, url: string, branch: string, token?: string) {
  const { ctx } = run;
  let login: string | undefined;
  if (token && apiApplies(run, url)) {
    const checked = await checkGitHubToken(token, {
      api: run.api,
      repo: repoNameOf(url)!,
      fetch: ctx.fetch,
      signal: ctx.signal,
    });
    checkAborted(ctx);
    if (!checked.ok) return { ok: false, kind: checked.kind, message: checked.message } as const;
    login = checked.login;
  } else if (token && parseRemoteUrl(url).needsToken && !parseRemoteUrl(url).github) {
    run.say(
      `  (not github.com: the GitHub API check is skipped; pass --github-api ` +
        `https://HOST/api/v3 for GitHub Enterprise)`,
    );
  }
  const push = await checkPushAccess(url, { token, branch, signal: ctx.signal });
  checkAborted(ctx);
  if (!push.ok) return { ok: false, kind: push.kind, message: push.message } as const;
  return { ok: true, login, branchExists: push.branchExists } as const;
}

function describeVerdict(url: string, branch: string, verdict: TokenVerdict & { ok: true }) {
  const who = verdict.login ? `the token of ${verdict.login}` : "git";
  return `✔ ${who} can push to ${displayUrl(url)} (branch ${branch} ${
    verdict.branchExists ? "exists" : "will be created"
  })`;
}

// ---------------------------------------------------------------- unattended

/**
 * Idle threshold and zstd level from the flags (validated against setup's
 * ranges), else config.json's values (kept as they are: the daemon accepts
 * a wider range), else the default preset.
 */
function chunkingFromFlags(
  flags: SetupFlags,
  config: Record<string, unknown>,
): { idle: number; zstd: number } {
  if (flags.idle !== undefined) requireValid("--idle", checkIdle(flags.idle));
  if (flags.zstd !== undefined) requireValid("--zstd", checkZstd(flags.zstd));
  return {
    idle: flags.idle ?? configNumber(config, "idle_threshold") ?? CHUNKING_PRESETS[0].idle,
    zstd: flags.zstd ?? configNumber(config, "zstd_level") ?? CHUNKING_PRESETS[0].zstd,
  };
}

async function readPatFromStdin(run: Run): Promise<string> {
  if (run.ctx.io.stdinIsTerminal) {
    throw new SetupError(
      "--pat-stdin reads the token from a pipe (`... | setup.ts --pat-stdin`); in a terminal, " +
        "leave --yes and --pat-stdin out and setup asks for it (masked)",
      EXIT_USAGE,
    );
  }
  const token = firstLine(await run.ctx.io.readStdin());
  if (!token) throw new MissingAnswerError("--pat-stdin", "a GitHub token on standard input");
  registerSecret(token);
  return token;
}

/** Everything an unattended run needs, checked before anything slow happens. */
async function unattendedAnswers(run: Run): Promise<SetupPlan> {
  const { flags, config, env } = run;
  const repoGiven = flags.repo ?? configString(config, "repo_url");
  if (!repoGiven) {
    throw new MissingAnswerError("--repo URL", "the repository to back the recordings up to");
  }
  requireValid("--repo", checkRepoUrl(repoGiven));
  const repoUrl = normalizeRepo(repoGiven);
  const branch = flags.branch ?? configString(config, "branch") ?? DEFAULT_BRANCH;
  requireValid("--branch", checkBranch(branch));
  const { idle, zstd } = chunkingFromFlags(flags, config);
  if (flags.ntfy !== undefined) requireValid("--ntfy", checkNtfyUrl(flags.ntfy));
  if (flags.pushoverApi !== undefined) {
    requireValid("--pushover-api", checkHttpUrl(flags.pushoverApi));
  }
  const fresh = flags.fresh === true;

  let token: string | undefined;
  let storeToken = false;
  if (needsToken(repoUrl)) {
    if (flags.patStdin) {
      token = await readPatFromStdin(run);
      storeToken = true;
    } else if (env.get("ASCIINEMA_GITHUB_PAT")?.trim()) {
      token = env.get("ASCIINEMA_GITHUB_PAT")!.trim();
      registerSecret(token);
      storeToken = !run.store.readOnly;
    } else if (!fresh) {
      token = await storedSecret(run, GITHUB_PAT);
    }
    if (!token) {
      throw new MissingAnswerError(
        "--pat-stdin (or set ASCIINEMA_GITHUB_PAT)",
        `a GitHub token for ${displayUrl(repoUrl)}`,
      );
    }
    if (storeToken && run.store.readOnly) {
      throw new SetupError(
        `the credential store is ${run.store.kind} (read-only), so the token cannot be stored: ` +
          `set ASCIINEMA_GITHUB_PAT in the daemon's environment instead, or use a keyring ` +
          `(credential_store auto, keychain or secret-service)`,
        EXIT_USAGE,
      );
    }
  }

  let pushover = flags.pushover !== false;
  let pushoverSecrets: SetupPlan["pushoverSecrets"];
  if (pushover) {
    const app = env.get("ASCIINEMA_PUSHOVER_APP")?.trim();
    const user = env.get("ASCIINEMA_PUSHOVER_USER")?.trim();
    if (app && !user) {
      throw new MissingAnswerError("ASCIINEMA_PUSHOVER_USER", "the Pushover user key");
    }
    if (user && !app) {
      throw new MissingAnswerError("ASCIINEMA_PUSHOVER_APP", "the Pushover app token");
    }
    if (app && user) {
      registerSecret(app);
      registerSecret(user);
      if (!run.store.readOnly) pushoverSecrets = { app, user };
    } else if (fresh) {
      pushover = false;
    }
  }
  return {
    fresh,
    repoUrl,
    branch,
    token,
    storeToken,
    pushover,
    pushoverSecrets,
    pushoverApi: flags.pushoverApi,
    ntfyUrl: flags.ntfy,
    idle,
    zstd,
  };
}

async function storedSecret(run: Run, service: string): Promise<string | undefined> {
  try {
    const value = await run.store.get(service);
    if (value) registerSecret(value);
    return value;
  } catch (error) {
    if (error instanceof CredentialUnavailableError) {
      throw new SetupError(`the credential store cannot be read: ${error.message}`);
    }
    throw error;
  }
}

// ---------------------------------------------------------------- interactive steps

async function askRepository(run: Run, prompter: Prompter): Promise<string> {
  const { flags, config, ctx } = run;
  if (flags.repo) {
    requireValid("--repo", checkRepoUrl(flags.repo));
    run.say(`Repository: ${displayUrl(normalizeRepo(flags.repo))} (from --repo)`);
    return normalizeRepo(flags.repo);
  }
  const choices: Choice<string>[] = [];
  const configured = configString(config, "repo_url");
  if (configured && checkRepoUrl(configured) === true) {
    choices.push({
      name: `Keep the configured repository: ${displayUrl(configured)}`,
      value: normalizeRepo(configured),
    });
  }
  const origin = await originOf(ctx.cwd);
  if (origin && checkRepoUrl(origin) === true && normalizeRepo(origin) !== choices[0]?.value) {
    choices.push({
      name: `This directory's origin: ${displayUrl(normalizeRepo(origin))}`,
      value: normalizeRepo(origin),
      description: "recordings go to a separate orphan branch of this repository",
    });
  }
  choices.push({
    name: "A dedicated private repository: <owner>/asciinema-recordings",
    value: "\0dedicated",
    description: "create it on GitHub first (private, can be empty)",
  });
  choices.push({ name: "Another repository URL", value: "\0other" });
  const picked = await prompter.select("Where should recordings be backed up?", choices);
  if (picked === "\0dedicated") {
    const owner = await prompter.input("GitHub owner (your user name or an organisation):", {
      validate: (value) =>
        /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(value.trim()) || "not a GitHub owner name",
    });
    return `https://${webHostOf(run.api)}/${owner.trim()}/asciinema-recordings.git`;
  }
  if (picked === "\0other") {
    const url = await prompter.input("Repository URL (https://…, git@github.com:…):", {
      validate: checkRepoUrl,
    });
    return normalizeRepo(url.trim());
  }
  return picked;
}

async function originOf(cwd: string): Promise<string | undefined> {
  const result = await git(["config", "--get", "remote.origin.url"], { cwd, timeoutMs: 10_000 })
    .catch(() => undefined);
  const url = result?.success ? result.stdout.trim() : "";
  return url || undefined;
}

async function askBranch(run: Run, prompter: Prompter): Promise<string> {
  if (run.flags.branch) {
    requireValid("--branch", checkBranch(run.flags.branch));
    return run.flags.branch;
  }
  const current = configString(run.config, "branch") ?? DEFAULT_BRANCH;
  const branch = await prompter.input("Branch for the recordings (an orphan branch):", {
    default: current,
    validate: checkBranch,
  });
  return branch.trim();
}

function explainToken(run: Run, url: string): void {
  const name = repoNameOf(url);
  const host = parseRemoteUrl(url).github ? "github.com" : webHostOf(run.api);
  run.say("The daemon pushes with its own token, kept in your keyring (never in a file).");
  run.say("Create a fine-grained personal access token:");
  run.say(`  ${tokenCreationUrl(host)}`);
  run.say(
    `  Repository access: Only select repositories → ${
      name ? `${name.owner}/${name.repo}` : "this repository"
    }`,
  );
  run.say("  Repository permissions: Contents → Read and write; Metadata → Read-only");
}

type TokenAnswer =
  | { next: "ok"; token?: string; storeToken: boolean; login?: string; branchExists: boolean }
  | { next: "change-repo" };

async function askToken(
  run: Run,
  prompter: Prompter,
  url: string,
  branch: string,
  fresh: boolean,
): Promise<TokenAnswer> {
  if (!needsToken(url)) {
    run.say(`${displayUrl(url)} needs no token; checking that git can push to it …`);
    const verdict = await verifyToken(run, url, branch);
    if (!verdict.ok) throw new SetupError(verdict.message);
    run.say(describeVerdict(url, branch, verdict));
    return { next: "ok", storeToken: false, branchExists: verdict.branchExists };
  }
  if (!fresh) {
    const stored = await storedSecret(run, GITHUB_PAT).catch((error) => {
      run.say(`! ${(error as Error).message}`);
      return undefined;
    });
    if (stored) {
      run.say("Checking the stored token …");
      const verdict = await verifyToken(run, url, branch, stored);
      if (verdict.ok) {
        run.say(describeVerdict(url, branch, verdict));
        if (await prompter.confirm("Keep using the stored token?", true)) {
          return {
            next: "ok",
            token: stored,
            storeToken: false,
            login: verdict.login,
            branchExists: verdict.branchExists,
          };
        }
      } else {
        run.say(`✘ The stored token does not work: ${verdict.message}`);
      }
    }
  }
  if (run.store.readOnly) {
    run.say(
      `! The credential store is ${run.store.kind} (read-only): the token is checked but not ` +
        `stored; the daemon needs ASCIINEMA_GITHUB_PAT in its environment.`,
    );
  }
  explainToken(run, url);
  while (true) {
    const token = (await prompter.secret("GitHub token (input is masked):", {
      validate: (value) => value.trim() !== "" || "paste the token (Ctrl-C cancels setup)",
    })).trim();
    registerSecret(token);
    run.say("Checking the token with GitHub and a test push (dry run) …");
    const verdict = await verifyToken(run, url, branch, token);
    if (verdict.ok) {
      run.say(describeVerdict(url, branch, verdict));
      return {
        next: "ok",
        token,
        storeToken: !run.store.readOnly,
        login: verdict.login,
        branchExists: verdict.branchExists,
      };
    }
    run.say(
      `✘ ${
        verdict.kind === "read-only" ? "This token cannot push" : "Token not usable"
      }: ${verdict.message}`,
    );
    const next = await prompter.select("What now?", [
      { name: "Enter another token", value: "retry" },
      { name: "Choose another repository", value: "change-repo" },
      { name: "Cancel setup (nothing is changed)", value: "cancel" },
    ]);
    if (next === "cancel") throw new SetupCancelled();
    if (next === "change-repo") return { next: "change-repo" };
  }
}

interface NotifyAnswer {
  pushover: boolean;
  pushoverSecrets?: { app: string; user: string };
  ntfyUrl?: string | null;
}

async function askNotifications(
  run: Run,
  prompter: Prompter,
  fresh: boolean,
): Promise<NotifyAnswer> {
  const { flags } = run;
  const storedApp = fresh
    ? undefined
    : await storedSecret(run, PUSHOVER_APP).catch(() => undefined);
  const storedUser = fresh
    ? undefined
    : await storedSecret(run, PUSHOVER_USER).catch(() => undefined);
  const notify = (run.config.notify ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const currentNtfy = typeof notify.ntfy?.url === "string" ? notify.ntfy.url : undefined;
  if (flags.ntfy !== undefined || flags.pushover === false) {
    if (flags.ntfy !== undefined) requireValid("--ntfy", checkNtfyUrl(flags.ntfy));
    const answer: NotifyAnswer = { pushover: flags.pushover !== false, ntfyUrl: flags.ntfy };
    await sendTestNotice(run, answer);
    return answer;
  }
  const choices: Choice<string>[] = [];
  if (storedApp && storedUser) {
    choices.push({
      name: "Keep Pushover as set up (app token and user key stored)",
      value: "keep-pushover",
    });
  }
  if (currentNtfy) choices.push({ name: `Keep ntfy: ${currentNtfy}`, value: "keep-ntfy" });
  choices.push(
    { name: "Pushover (app token and user key)", value: "pushover" },
    { name: "ntfy (a topic URL)", value: "ntfy" },
    { name: "No notifications", value: "none" },
  );
  while (true) {
    const picked = await prompter.select(
      "Notify you when backups fail? (optional)",
      choices,
    );
    let answer: NotifyAnswer;
    if (picked === "keep-pushover") answer = { pushover: true };
    else if (picked === "keep-ntfy") answer = { pushover: false, ntfyUrl: currentNtfy };
    else if (picked === "none") return { pushover: false, ntfyUrl: null };
    else if (picked === "pushover") {
      run.say("Pushover: create an application at https://pushover.net/apps/build;");
      run.say("your user key is on https://pushover.net after you log in.");
      const app = (await prompter.secret("Pushover app token (masked):", {
        validate: (value) => value.trim() !== "" || "paste the app token",
      })).trim();
      registerSecret(app);
      const user = (await prompter.secret("Pushover user key (masked):", {
        validate: (value) => value.trim() !== "" || "paste the user key",
      })).trim();
      registerSecret(user);
      answer = { pushover: true, pushoverSecrets: { app, user }, ntfyUrl: null };
    } else {
      const url = await prompter.input(
        "ntfy topic URL (https://ntfy.sh/<a hard-to-guess topic>):",
        {
          default: currentNtfy,
          validate: checkNtfyUrl,
        },
      );
      answer = { pushover: false, ntfyUrl: url.trim() };
    }
    const confirmed = await confirmNotice(run, prompter, answer);
    if (confirmed) return confirmed;
  }
}

/** Sends the test notice; returns the answer, or undefined when the person wants to change it. */
async function confirmNotice(
  run: Run,
  prompter: Prompter | undefined,
  answer: NotifyAnswer,
): Promise<NotifyAnswer | undefined> {
  const delivered = await sendTestNotice(run, answer);
  if (delivered !== false || !prompter) return answer;
  const next = await prompter.select("The test notice did not arrive. What now?", [
    { name: "Enter the notification settings again", value: "again" },
    { name: "Keep these settings anyway", value: "keep" },
    { name: "No notifications", value: "none" },
  ]);
  if (next === "keep") return answer;
  if (next === "none") return { pushover: false, ntfyUrl: null };
  return undefined;
}

/** Sends a test notice through the chosen backends; undefined when none is set up. */
async function sendTestNotice(run: Run, answer: NotifyAnswer): Promise<boolean | undefined> {
  const notify = (run.config.notify ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const ntfyUrl = answer.ntfyUrl === undefined
    ? (typeof notify.ntfy?.url === "string" ? notify.ntfy.url : undefined)
    : answer.ntfyUrl ?? undefined;
  const pushoverApi = run.flags.pushoverApi ??
    (typeof notify.pushover?.api_url === "string" ? notify.pushover.api_url : undefined);
  const settings = {
    notify: {
      enabled: true,
      failure_grace_seconds: 120,
      throttle_minutes: 30,
      pushover: { enabled: answer.pushover, ...(pushoverApi ? { api_url: pushoverApi } : {}) },
      ntfy: ntfyUrl ? { url: ntfyUrl } : {},
    },
  };
  const fresh: Record<string, string> = {};
  if (answer.pushoverSecrets) {
    fresh[PUSHOVER_APP] = answer.pushoverSecrets.app;
    fresh[PUSHOVER_USER] = answer.pushoverSecrets.user;
  }
  const notifier = createNotifier(settings as never, {
    getSecret: async (service) =>
      fresh[service] ?? await run.store.get(service).catch(() => undefined),
    fetch: run.ctx.fetch,
  });
  const notice: Notice = {
    kind: "recovered",
    key: "setup",
    title: "asciinema-chunker: test notice",
    message: `Setup on ${hostname()} sent this test. If backing up your recordings fails, ` +
      `you will be told like this.`,
    priority: "low",
    tags: ["white_check_mark"],
  };
  const result = await notifier.send(notice);
  const attempted = result.results.filter((entry) => !entry.skipped);
  if (attempted.length === 0) {
    run.say(
      "No notification service is set up: failures show only in `daemon.ts status` and the log.",
    );
    return undefined;
  }
  for (const entry of attempted) {
    run.say(
      entry.ok
        ? `✔ Test notice sent via ${entry.backend}.`
        : `✘ Test notice via ${entry.backend} failed: ${entry.error ?? "unknown error"}`,
    );
  }
  return result.delivered;
}

async function askChunking(run: Run, prompter: Prompter): Promise<{ idle: number; zstd: number }> {
  const { flags, config } = run;
  if (flags.idle !== undefined || flags.zstd !== undefined) return chunkingFromFlags(flags, config);
  const currentIdle = configNumber(config, "idle_threshold");
  const currentZstd = configNumber(config, "zstd_level");
  const choices: Choice<string>[] = [];
  const custom = currentIdle !== undefined && currentZstd !== undefined &&
    !CHUNKING_PRESETS.some((preset) => preset.idle === currentIdle && preset.zstd === currentZstd);
  if (custom) {
    choices.push({
      name: `Keep the current settings (${currentIdle} s, zstd ${currentZstd})`,
      value: "keep",
    });
  }
  for (const preset of CHUNKING_PRESETS) {
    choices.push({ name: `${preset.name}: ${preset.description}`, value: preset.name });
  }
  choices.push({ name: "custom: choose the idle time and the zstd level", value: "custom" });
  const current = CHUNKING_PRESETS.find((preset) =>
    preset.idle === currentIdle && preset.zstd === currentZstd
  );
  const picked = await prompter.select("How should recordings be chunked?", choices, current?.name);
  if (picked === "keep") return { idle: currentIdle!, zstd: currentZstd! };
  const preset = CHUNKING_PRESETS.find((entry) => entry.name === picked);
  if (preset) return { idle: preset.idle, zstd: preset.zstd };
  const idle = Number(
    await prompter.input("Seconds without output before a chunk is cut (5–3600):", {
      default: String(currentIdle ?? 30),
      validate: (value) => checkIdle(Number(value)),
    }),
  );
  const zstd = Number(
    await prompter.input("zstd level (1 fastest – 19 smallest):", {
      default: String(currentZstd ?? 3),
      validate: (value) => checkZstd(Number(value)),
    }),
  );
  return { idle, zstd };
}

// ---------------------------------------------------------------- step 7

function configPatch(run: Run, plan: SetupPlan): Record<string, unknown> {
  const raw = run.config;
  const notify = { ...((raw.notify ?? {}) as Record<string, unknown>) };
  const pushover = { ...((notify.pushover ?? {}) as Record<string, unknown>) };
  pushover.enabled = plan.pushover;
  if (plan.pushoverApi) pushover.api_url = plan.pushoverApi;
  const ntfy = { ...((notify.ntfy ?? {}) as Record<string, unknown>) };
  if (plan.ntfyUrl === null) delete ntfy.url;
  else if (plan.ntfyUrl !== undefined) ntfy.url = plan.ntfyUrl;
  return {
    repo_url: plan.repoUrl,
    branch: plan.branch,
    idle_threshold: plan.idle,
    zstd_level: plan.zstd,
    notify: { ...notify, pushover, ntfy },
  };
}

function summarize(run: Run, plan: SetupPlan): void {
  run.say("");
  run.say("Summary:");
  run.say(`  repository     ${displayUrl(plan.repoUrl)}, branch ${plan.branch}`);
  if (plan.token) {
    run.say(
      `  token          ${plan.login ? `${plan.login}'s, ` : ""}${
        plan.storeToken
          ? `to be stored in the ${run.store.kind} credential store`
          : "already stored"
      }`,
    );
  }
  const notices = [
    plan.pushover ? "Pushover" : undefined,
    plan.ntfyUrl ? `ntfy ${plan.ntfyUrl}` : undefined,
  ].filter(Boolean);
  run.say(`  notifications  ${notices.length ? notices.join(", ") : "none"}`);
  run.say(`  chunking       ${plan.idle} s idle, zstd level ${plan.zstd}`);
  run.say(
    `  service        ${
      run.flags.service === false
        ? "not installed (--no-service)"
        : run.flags.detach
        ? "detached"
        : "installed and started"
    }`,
  );
  if (plan.fresh) run.say("  fresh install  the stored credentials are deleted first");
}

/** Step 7; an interruption here is reported as such (some of it may be done). */
async function apply(run: Run, plan: SetupPlan): Promise<number> {
  try {
    return await applyPlan(run, plan);
  } catch (error) {
    if (error instanceof SetupCancelled || isPromptCancel(error)) {
      throw new SetupError(
        "interrupted while installing: part of it may be done; run setup again to finish " +
          "(it is safe to repeat)",
        EXIT_CANCELLED,
      );
    }
    throw error;
  }
}

async function applyPlan(run: Run, plan: SetupPlan): Promise<number> {
  const { ctx, store } = run;
  step(run, 7, "Install");
  if (plan.fresh) {
    const deleted = await deleteCredentials(store, run.say);
    run.say(`Deleted ${deleted.length} stored credential(s) (fresh install).`);
  }
  if (plan.token && plan.storeToken) {
    await store.set(GITHUB_PAT, plan.token);
    run.say(`✔ Token stored in the ${store.kind} credential store (service ${GITHUB_PAT}).`);
  } else if (plan.token && store.kind === "env") {
    run.say(`! ${envWarning(GITHUB_PAT)}`);
  }
  if (plan.pushoverSecrets) {
    await store.set(PUSHOVER_APP, plan.pushoverSecrets.app);
    await store.set(PUSHOVER_USER, plan.pushoverSecrets.user);
    run.say(`✔ Pushover app token and user key stored in the ${store.kind} credential store.`);
  }
  checkAborted(ctx);
  try {
    const branch = await ensureBranch(plan.repoUrl, {
      token: plan.token,
      branch: plan.branch,
      signal: ctx.signal,
    });
    run.say(
      branch === "created"
        ? `✔ Created the orphan branch ${plan.branch} on ${displayUrl(plan.repoUrl)}.`
        : `✔ The branch ${plan.branch} exists on ${displayUrl(plan.repoUrl)}.`,
    );
  } catch (error) {
    if (error instanceof BranchSetupError) throw new SetupError(error.message);
    throw error;
  }
  await ensurePrivateDir(ctx.paths.home);
  try {
    await updateSettings(ctx.paths.config, configPatch(run, plan));
  } catch (error) {
    if (error instanceof SettingsError) {
      throw new SetupError(`config.json was not written: ${error.message}`);
    }
    throw error;
  }
  run.say(`✔ Wrote ${ctx.paths.config}.`);
  if (run.flags.service === false) {
    run.say("");
    run.say("No service installed (--no-service). Start the daemon with `deno task daemon-start`,");
    run.say("then record with `deno task bootstrap`.");
    return 0;
  }
  run.say("Installing and starting the service …");
  const installed = await installService({
    paths: ctx.paths,
    env: run.env,
    os: ctx.os,
    say: run.say,
    detach: run.flags.detach,
    compile: run.flags.compile,
    showDefinition: run.showDefinition,
    secrets: () => describeSecrets(store),
  });
  if (installed.start.status === "failed") {
    run.say(statusText(installed.report));
    throw new SetupError(
      `the service did not start: ${installed.start.message ?? "unknown error"}`,
    );
  }
  run.say("");
  run.say(statusText(installed.report).trimEnd());
  if (!installed.healthy) {
    run.say("");
    run.say("! The daemon did not report a healthy heartbeat within 15 s; see the status above.");
    return EXIT_FAILED;
  }
  run.say("");
  run.say("Done. Record with `deno task bootstrap`; check with `deno task daemon-status`.");
  return 0;
}

// ---------------------------------------------------------------- the flow

async function openStore(ctx: SetupContext, config: Record<string, unknown>) {
  const setting = configString(config, "credential_store");
  try {
    return ctx.openStore
      ? await ctx.openStore(setting)
      : await openCredentialStore({ setting, source: ctx.env ?? Deno.env });
  } catch (error) {
    throw new SetupError(`credential store: ${(error as Error).message}`, EXIT_USAGE);
  }
}

function interactiveRun(flags: SetupFlags, ctx: SetupContext): boolean {
  return !flags.yes && ctx.io.stdinIsTerminal && ctx.io.prompter !== undefined;
}

/**
 * Runs setup; returns the exit code (0 done, 1 a check failed, 2 a missing
 * or invalid answer, 130 cancelled). Errors are printed, not thrown.
 */
export async function runSetup(flags: SetupFlags, ctx: SetupContext): Promise<number> {
  const print = (line: string) => say(ctx, line);
  try {
    return await setup(flags, ctx);
  } catch (error) {
    if (
      error instanceof SetupCancelled || isPromptCancel(error) ||
      (ctx.signal?.aborted && !(error instanceof SetupError))
    ) {
      print("");
      print("Setup cancelled: nothing was changed.");
      return EXIT_CANCELLED;
    }
    if (error instanceof SetupError) {
      print(`error: ${error.message}`);
      return error.exitCode;
    }
    print(`error: ${errorMessage(error)}`);
    return EXIT_FAILED;
  }
}

async function setup(flags: SetupFlags, ctx: SetupContext): Promise<number> {
  const env = ctx.env ?? Deno.env;
  const config = await readConfig(ctx.paths);
  const store = await openStore(ctx, config);
  const interactive = interactiveRun(flags, ctx);
  const run: Run = {
    flags,
    ctx,
    env,
    say: (line: string) => say(ctx, line),
    prompter: interactive ? ctx.io.prompter : undefined,
    store,
    config,
    api: flags.githubApi ?? DEFAULT_GITHUB_API,
    apiExplicit: flags.githubApi !== undefined,
    showDefinition: flags.showDefinition === true,
  };
  if (flags.uninstall) return await runUninstall(run);
  const problems = flagProblems(flags);
  if (problems.length) throw new SetupError(problems.join("; "), EXIT_USAGE);
  // Unattended: every answer is known (or missing) before anything slow runs.
  const answers = interactive ? undefined : await unattendedAnswers(run);

  step(run, 1, "Preflight");
  const checks = await preflight({ os: ctx.os });
  for (const line of renderPreflight(checks)) run.say(line);
  const missing = missingRequired(checks);
  if (missing.length) {
    throw new SetupError(
      `install ${missing.map((check) => check.name).join(" and ")} first (${
        missing.map((check) => check.install).join("; ")
      }), then run setup again`,
    );
  }
  checkAborted(ctx);

  step(run, 2, "Existing installation");
  const existing = await detectExisting({ paths: ctx.paths, env, os: ctx.os, store });
  let fresh = flags.fresh === true;
  if (existingFound(existing)) {
    for (const line of describeExisting(existing)) run.say(`  ${line}`);
    if (run.prompter && !flags.fresh) {
      const choice = await run.prompter.select("An earlier installation was found:", [
        { name: "Reinstall, keeping the stored credentials", value: "keep" },
        { name: "Fresh install: delete the stored credentials and start over", value: "fresh" },
        { name: "Cancel (nothing is changed)", value: "cancel" },
      ]);
      if (choice === "cancel") throw new SetupCancelled();
      fresh = choice === "fresh";
    } else {
      run.say(
        fresh
          ? "Fresh install (--fresh): stored credentials are deleted first."
          : "Reinstalling, keeping the stored credentials.",
      );
    }
  } else {
    run.say("  nothing found: a first installation");
  }
  checkAborted(ctx);

  let plan: SetupPlan;
  if (answers) {
    plan = { ...answers, fresh };
    step(run, 3, "Repository");
    run.say(`Repository: ${displayUrl(plan.repoUrl)}, branch ${plan.branch}`);
    step(run, 4, "Token");
    run.say(
      plan.token
        ? "Checking the token with GitHub and a test push (dry run) …"
        : "Checking that git can push …",
    );
    const verdict = await verifyToken(run, plan.repoUrl, plan.branch, plan.token);
    if (!verdict.ok) {
      run.say(`✘ ${verdict.kind === "read-only" ? "This token cannot push" : "Token not usable"}`);
      throw new SetupError(verdict.message);
    }
    run.say(describeVerdict(plan.repoUrl, plan.branch, verdict));
    plan.login = verdict.login;
    plan.branchExists = verdict.branchExists;
    step(run, 5, "Notifications");
    await sendTestNotice(run, {
      pushover: plan.pushover,
      pushoverSecrets: plan.pushoverSecrets,
      ntfyUrl: plan.ntfyUrl,
    });
    step(run, 6, "Chunking");
    run.say(`Idle threshold ${plan.idle} s, zstd level ${plan.zstd}.`);
    summarize(run, plan);
  } else {
    const prompter = run.prompter!;
    let repoUrl: string;
    let branch: string;
    let token: TokenAnswer & { next: "ok" };
    while (true) {
      step(run, 3, "Repository");
      repoUrl = await askRepository(run, prompter);
      branch = await askBranch(run, prompter);
      step(run, 4, "Token");
      const answer = await askToken(run, prompter, repoUrl, branch, fresh);
      if (answer.next === "ok") {
        token = answer;
        break;
      }
    }
    step(run, 5, "Notifications");
    const notify = await askNotifications(run, prompter, fresh);
    step(run, 6, "Chunking");
    const chunking = await askChunking(run, prompter);
    plan = {
      fresh,
      repoUrl,
      branch,
      token: token.token,
      storeToken: token.storeToken,
      login: token.login,
      branchExists: token.branchExists,
      pushover: notify.pushover,
      pushoverSecrets: notify.pushoverSecrets,
      pushoverApi: flags.pushoverApi,
      ntfyUrl: notify.ntfyUrl,
      idle: chunking.idle,
      zstd: chunking.zstd,
    };
    if (flags.service !== false && !flags.detach && !run.showDefinition) {
      run.showDefinition = await prompter.confirm(
        "Show the service definition (launchd plist or systemd unit) before installing it?",
        false,
      );
    }
    summarize(run, plan);
    if (!(await prompter.confirm("Apply these settings?", true))) throw new SetupCancelled();
  }
  checkAborted(ctx);
  return await apply(run, plan);
}

async function runUninstall(run: Run): Promise<number> {
  const { ctx, flags } = run;
  if (flags.deleteCredentials && run.prompter) {
    const sure = await run.prompter.confirm(
      "Delete the stored GitHub token and notification keys too?",
      false,
    );
    if (!sure) throw new SetupCancelled();
  }
  run.say("Uninstalling the service …");
  const result = await uninstall({
    paths: ctx.paths,
    env: run.env,
    os: ctx.os,
    say: run.say,
    store: run.store,
    deleteCredentials: flags.deleteCredentials,
  });
  if (!result.stopped) run.say("No daemon was running.");
  if (flags.deleteCredentials) {
    run.say(
      result.deletedCredentials.length
        ? `Deleted from the ${run.store.kind} credential store: ${
          result.deletedCredentials.join(", ")
        }.`
        : "No stored credentials to delete.",
    );
  }
  run.say(
    `Kept: recordings (${ctx.paths.active}, ${ctx.paths.done}), the spool, checkpoints, clones ` +
      `(${ctx.paths.repos}), logs and config.json.`,
  );
  if (!flags.deleteCredentials) {
    run.say("Kept the stored credentials (add --delete-credentials to delete them).");
  }
  for (const problem of result.problems) run.say(`! ${problem}`);
  return result.problems.length ? EXIT_FAILED : 0;
}

/** Flag combinations that make no sense (checked by the CLI before anything runs). */
export function flagProblems(flags: SetupFlags): string[] {
  const problems: string[] = [];
  if (flags.uninstall && (flags.repo || flags.patStdin || flags.fresh)) {
    problems.push("--uninstall takes no setup answers (only --delete-credentials)");
  }
  if (flags.deleteCredentials && !flags.uninstall) {
    problems.push("--delete-credentials goes with --uninstall (a fresh install is --fresh)");
  }
  return problems;
}
