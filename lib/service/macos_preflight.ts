/**
 * What macOS refuses a LaunchAgent before it ever runs, checked before
 * `start` installs one, with the fix in the message:
 *
 * - {@linkcode protectedFolderProblem}: `$ASCIINEMA_HOME` or the checkout
 *   inside `~/Documents`, `~/Desktop`, `~/Downloads` or iCloud Drive. Those
 *   folders are privacy-protected (TCC): a job started by launchd gets
 *   `EPERM` there without any prompt, and KeepAlive restarts it forever.
 * - {@linkcode noGuiLoginMessage}: no desktop login (an SSH session to a Mac
 *   nobody is logged in to), where `gui/<uid>` does not exist and the login
 *   keychain is locked.
 *
 * Both take the platform, home and environment as options, so they are
 * tested on any system.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";

/** Folders under the home directory that macOS keeps from background jobs. */
const PROTECTED_FOLDERS: readonly string[] = [
  "Desktop",
  "Documents",
  "Downloads",
  join("Library", "Mobile Documents"),
];

/** Set to `1` after granting Full Disk Access to the daemon's program: skips the check. */
export const ALLOW_PROTECTED_ENV = "ASCIINEMA_ALLOW_PROTECTED_FOLDERS";

/** The real path of `path`, or of its nearest existing parent plus the rest. */
function realish(path: string): string {
  let current = resolve(path);
  const rest: string[] = [];
  while (true) {
    try {
      return join(realpathSync(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return resolve(path);
      rest.push(current.slice(parent.length).replace(/^\/+/, ""));
      current = parent;
    }
  }
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * The protected folder (`~/Documents`, ...) that holds `path`, written with
 * `~`; undefined when none does. Symbolic links are followed.
 */
export function protectedFolderOf(path: string, home: string): string | undefined {
  const real = realish(path);
  for (const base of [resolve(home), realish(home)]) {
    for (const folder of PROTECTED_FOLDERS) {
      if (inside(real, join(base, folder)) || inside(resolve(path), join(base, folder))) {
        return `~/${folder}`;
      }
    }
  }
  return undefined;
}

/** A path the daemon needs, with what it is (for the message). */
export interface NeededPath {
  /** What it is (`ASCIINEMA_HOME`, `the checkout`, ...). */
  what: string;
  path: string;
}

/** Options for {@linkcode protectedFolderProblem}. */
export interface ProtectedFolderOptions {
  /** Platform (default `Deno.build.os`); only `darwin` is checked. */
  os?: string;
  /** The user's home directory. */
  home: string;
  /** Environment (for {@linkcode ALLOW_PROTECTED_ENV}; default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** The program the service runs (named in the Full Disk Access fix). */
  program?: string;
}

/**
 * Why launchd cannot run the daemon with these paths, with the fix; undefined
 * when none is inside a protected folder (or not macOS, or overridden).
 */
export function protectedFolderProblem(
  needed: NeededPath[],
  options: ProtectedFolderOptions,
): string | undefined {
  if ((options.os ?? Deno.build.os) !== "darwin") return undefined;
  if ((options.env ?? Deno.env).get(ALLOW_PROTECTED_ENV) === "1") return undefined;
  const hits = needed.flatMap(({ what, path }) => {
    const folder = protectedFolderOf(path, options.home);
    return folder ? [`${what} (${path}) is inside ${folder}`] : [];
  });
  if (!hits.length) return undefined;
  return `${hits.join("; ")}. macOS protects that folder from background jobs: the daemon ` +
    `started by launchd would get "Operation not permitted" there without any prompt, and be ` +
    `restarted forever. Fix it in one of these ways:\n` +
    `  - move it out, e.g. the checkout to ~/src and ASCIINEMA_HOME to ~/.asciinema ` +
    `(unset ASCIINEMA_HOME for the default), then run \`deno task daemon-start\` again;\n` +
    `  - or give ${
      options.program ?? "the daemon's program"
    } Full Disk Access (System Settings > Privacy & Security > Full Disk Access), then run ` +
    `\`${ALLOW_PROTECTED_ENV}=1 deno task daemon-start\`;\n` +
    `  - or run it from this terminal instead: \`deno task daemon-start --detach\` (it has the ` +
    `terminal's access, but is not restarted after a crash or at login).`;
}

/** The refusal for a session without a desktop login (`gui/<uid>` missing). */
export function noGuiLoginMessage(options: { uid: number; user?: string }): string {
  return `nobody is logged in to this Mac's desktop as ${
    options.user ?? `uid ${options.uid}`
  } (launchd has no gui/${options.uid} domain: an SSH session to a Mac at the login window?). ` +
    `A LaunchAgent runs only inside a desktop login, and without one the login keychain is ` +
    `locked too (security exits 36). Log in at the Mac (or through Screen Sharing) and run ` +
    `\`deno task daemon-start\` again; or start it now with \`deno task daemon-start --detach\` ` +
    `(not restarted after a crash or a reboot; unlock the keychain first with ` +
    `\`security unlock-keychain ~/Library/Keychains/login.keychain-db\`, or use ` +
    `credential_store "env")`;
}
