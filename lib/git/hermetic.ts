/**
 * Hermetic git: every git child gets its own configuration through the
 * environment, so the user's credential helpers, `gh auth`, `insteadOf`
 * rewrites, signing, hooks and SSH multiplexing never apply (DESIGN.md
 * invariant 5). Authentication plugs in through {@linkcode GitAuth}.
 *
 * The same pins make reading a repository safe: a local remote (a backup on a
 * USB disk, a synced folder) is read in place, so its own `config` applies —
 * every key that makes git run a program (`log.showSignature` with
 * `gpg.program`, `core.fsmonitor`, `core.pager`, `diff.external`,
 * `core.gitProxy`, ...) is pinned here, and environment-level commands
 * * (`GIT_SSH_COMMAND`, `GIT_PAGER`, `GIT_EDITOR`, `GIT_PROXY_COMMAND`)
 * win over any file. Command-line configuration (the
 * `GIT_CONFIG_COUNT` entries) is read last, so it wins over the repository's.
 * No redirect is followed: git would carry the token's header to the target.
 *
 * @module
 */
import {
  type CommandErrorKind,
  commandFailureKind,
  KindedError,
  run,
  type RunResult,
} from "../sys/mod.ts";

/** Extra configuration and environment for one git call (for example authentication). */
export interface GitAuth {
  /** `git -c`-style entries passed through `GIT_CONFIG_COUNT/KEY/VALUE` (never argv). */
  config?: [string, string][];
  /** Extra environment variables for the git child. */
  env?: Record<string, string>;
}

/** Fixed identity for the daemon's commits. */
export const GIT_IDENTITY = {
  name: "asciinema-chunker",
  email: "asciinema-chunker@localhost",
} as const;

/** Configuration every daemon git call gets, whatever the user's setup. */
const HERMETIC_CONFIG: [string, string][] = [
  ["credential.helper", ""],
  ["core.hooksPath", "/dev/null"],
  ["commit.gpgSign", "false"],
  ["tag.gpgSign", "false"],
  ["core.fsmonitor", "false"],
  ["core.askPass", ""],
  ["protocol.file.allow", "always"],
  ["advice.detachedHead", "false"],
  ["init.defaultBranch", "main"],
  ["push.default", "nothing"],
  ["transfer.fsckObjects", "false"],
  // No background gc or maintenance from fetch, commit or push: upkeep is the publisher's, time-bounded.
  ["gc.auto", "0"],
  ["maintenance.auto", "false"],
  ["http.lowSpeedLimit", "1000"],
  ["http.lowSpeedTime", "30"],
  // A redirect would carry the extraHeader (the token) to the redirect's host.
  ["http.followRedirects", "false"],
  // Keys of a repository being read that would run a program.
  ["log.showSignature", "false"],
  ["gpg.program", "false"],
  ["gpg.openpgp.program", "false"],
  ["gpg.x509.program", "false"],
  ["gpg.ssh.program", "false"],
  ["gpg.ssh.defaultKeyCommand", "false"],
  ["core.pager", "cat"],
  ["core.editor", "false"],
  ["sequence.editor", "false"],
  ["diff.external", "false"],
  ["core.sshCommand", "ssh"],
];

/** Options for {@linkcode gitEnv}. */
export interface GitEnvOptions {
  /** Daemon-owned global config file (default `/dev/null`). */
  globalConfig?: string;
  /** Authentication (or other) additions. */
  auth?: GitAuth;
  /** The base environment to take PATH, HOME and locale from (default `Deno.env`). */
  base?: { get(key: string): string | undefined };
}

/** Builds the complete, hermetic environment of a git child (used with `clearEnv`). */
export function gitEnv(options: GitEnvOptions = {}): Record<string, string> {
  const base = options.base ?? Deno.env;
  const env: Record<string, string> = {
    PATH: base.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: base.get("HOME") ?? "/nonexistent",
    LANG: "C",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: options.globalConfig ?? "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    // Environment commands win over any configuration file (a read repository's own included).
    GIT_PAGER: "cat",
    GIT_EDITOR: "false",
    GIT_PROXY_COMMAND: "",
    GIT_AUTHOR_NAME: GIT_IDENTITY.name,
    GIT_AUTHOR_EMAIL: GIT_IDENTITY.email,
    GIT_COMMITTER_NAME: GIT_IDENTITY.name,
    GIT_COMMITTER_EMAIL: GIT_IDENTITY.email,
    // Plain ssh, no ControlMaster reuse, never a password prompt; a connection that goes
    // silent is dropped after a minute (4 unanswered keep-alives 15 s apart).
    GIT_SSH_COMMAND: "ssh -o ControlMaster=no -o ControlPath=none -o BatchMode=yes " +
      "-o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4",
  };
  const tmp = base.get("TMPDIR");
  if (tmp) env.TMPDIR = tmp;
  const config = [...HERMETIC_CONFIG, ...(options.auth?.config ?? [])];
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return { ...env, ...(options.auth?.env ?? {}) };
}

/** Options for {@linkcode git}. */
export interface GitOptions extends GitEnvOptions {
  /** The repository (`GIT_DIR`); omitted for commands like `init` or `ls-remote`. */
  gitDir?: string;
  /** Working directory. */
  cwd?: string;
  /** Text or bytes for stdin. */
  stdin?: string | Uint8Array;
  /** Timeout (default 60 s; network operations should pass their own). */
  timeoutMs?: number;
  /** Stop it when it writes nothing for this long (a limit that grows with progress). */
  stallMs?: number;
  /** Abort on shutdown. */
  signal?: AbortSignal;
}

/** The git subcommand of a call's arguments (after `-c k=v`, `--literal-pathspecs` and the like). */
export function gitSubcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-c" || args[i] === "-C") i++;
    else if (!args[i].startsWith("-")) return args[i];
  }
  return "";
}

/**
 * Subcommands that read or write this repository only and never start a
 * program (no transport or filter; hooks, pager and editor are off in the
 * hermetic configuration): they run without a session of their own.
 */
const STARTS_NOTHING: ReadonlySet<string> = new Set([
  "cat-file",
  "config",
  "count-objects",
  "for-each-ref",
  "ls-tree",
  "rev-parse",
  "show-ref",
  "symbolic-ref",
  "update-ref",
]);

/** Runs git hermetically; never throws for a non-zero exit. */
export function git(args: string[], options: GitOptions = {}): Promise<RunResult> {
  const env = gitEnv(options);
  if (options.gitDir) env.GIT_DIR = options.gitDir;
  return run("git", {
    alone: STARTS_NOTHING.has(gitSubcommand(args)),
    args,
    cwd: options.cwd ?? options.gitDir ?? "/",
    env,
    clearEnv: true,
    stdin: options.stdin,
    timeoutMs: options.timeoutMs ?? 60_000,
    stallMs: options.stallMs,
    signal: options.signal,
  });
}

/** Thrown when a git call fails. */
export class GitError extends KindedError<CommandErrorKind> {
  /** The git result. */
  readonly result: RunResult;
  /** Creates the error for `git <args>` that ended with `result`. */
  constructor(args: string[], result: RunResult) {
    super(
      commandFailureKind(result),
      `git ${args[0]} ${result.timedOut ? "timed out" : `failed (exit ${result.code})`}: ${
        result.stderr.trim().slice(0, 1500)
      }`,
    );
    this.result = result;
  }
}

/** Runs git and throws a {@linkcode GitError} unless it succeeded; returns stdout. */
export async function gitChecked(args: string[], options: GitOptions = {}): Promise<string> {
  const result = await git(args, options);
  if (!result.success) throw new GitError(args, result);
  return result.stdout;
}

/**
 * A long-running hermetic git process on `gitDir` with piped standard
 * streams (`fast-import`, `cat-file --batch`): the caller streams through it
 * and awaits its status; `signal` bounds it.
 */
export function spawnGit(
  gitDir: string,
  options: { args: string[]; globalConfig?: string; signal?: AbortSignal },
): Deno.ChildProcess {
  return new Deno.Command("git", {
    args: options.args,
    env: { ...gitEnv({ globalConfig: options.globalConfig }), GIT_DIR: gitDir },
    clearEnv: true,
    cwd: gitDir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).spawn();
}
