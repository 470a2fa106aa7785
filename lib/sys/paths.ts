/**
 * The layout of `$ASCIINEMA_HOME` (default `~/.asciinema`) and the helpers
 * that create it privately (directories 0700).
 *
 * @module
 */
import { join } from "node:path";

/** Every path the daemon and its tools use under `$ASCIINEMA_HOME`. */
export interface HomePaths {
  /** The home directory itself. */
  home: string;
  /** Live recordings (`<id>.cast`) and their configs (`<id>.json`). */
  active: string;
  /** Finished recordings, moved here once fully pushed. */
  done: string;
  /** Chunks cut but not yet pushed, one folder per chunk id. */
  spool: string;
  /** Per-recording checkpoints. */
  state: string;
  /** Local clones, one per remote and branch. */
  repos: string;
  /** Text indexes of finished recordings still to be committed (one to-do each). */
  textIndex: string;
  /** Daemon logs. */
  logs: string;
  /** The structured daemon log. */
  logFile: string;
  /** Optional daemon settings. */
  config: string;
  /** Daemon health, rewritten atomically. */
  health: string;
  /** Embedded default remote (bare repository). */
  backupGit: string;
  /** Daemon-owned git configuration (used as `GIT_CONFIG_GLOBAL`). */
  gitConfig: string;
  /** Daemon-owned runtime files (pidfile, lock). */
  run: string;
  /** Compiled binaries. */
  bin: string;
}

/** Resolves `$ASCIINEMA_HOME`, falling back to `$HOME/.asciinema`. */
export function resolveHome(env: { get(key: string): string | undefined } = Deno.env): string {
  const explicit = env.get("ASCIINEMA_HOME");
  if (explicit) return explicit;
  const home = env.get("HOME");
  if (!home) {
    throw new Error("Neither ASCIINEMA_HOME nor HOME is set: set ASCIINEMA_HOME to a directory.");
  }
  return join(home, ".asciinema");
}

/** Returns the layout rooted at `home` (default: {@linkcode resolveHome}). */
export function homePaths(home: string = resolveHome()): HomePaths {
  return {
    home,
    active: join(home, "active"),
    done: join(home, "done"),
    spool: join(home, "spool"),
    state: join(home, "state"),
    repos: join(home, "repos"),
    textIndex: join(home, "text-index"),
    logs: join(home, "logs"),
    logFile: join(home, "logs", "chunker.log"),
    config: join(home, "config.json"),
    health: join(home, "health.json"),
    backupGit: join(home, "backup.git"),
    gitConfig: join(home, "git", "config"),
    run: join(home, "run"),
    bin: join(home, "bin"),
  };
}

/** Creates `dir` (and parents) with mode 0700; tightens an existing one. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
}

/** Creates the whole home layout privately (0700 directories). */
export async function ensureHome(paths: HomePaths): Promise<void> {
  await ensurePrivateDir(paths.home);
  for (
    const dir of [
      paths.active,
      paths.done,
      paths.spool,
      paths.state,
      paths.repos,
      paths.logs,
      paths.run,
      join(paths.home, "git"),
    ]
  ) {
    await ensurePrivateDir(dir);
  }
}
