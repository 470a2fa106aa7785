/**
 * The bare remote of a torture sequence and its faults: gone (renamed
 * away), rejecting (a pre-receive hook that fails with a quota message),
 * slow (a hook that sleeps before accepting), hanging (a hook that outlives
 * the daemon's push timeout: the push and everything it started must end),
 * set back to an older commit, and healed.
 *
 * @module
 */
import { join } from "node:path";
import { command } from "./proc.ts";
import type { RemoteMode } from "./ops.ts";

/** The branch every torture sequence backs up to. */
export const BRANCH = "asciinema-recordings";

const HOOKS: Record<"rejecting" | "slow" | "hanging", string> = {
  // git prefixes hook output with "remote: ", so the client sees "remote: disk quota exceeded".
  rejecting: "#!/bin/sh\ncat >/dev/null\necho 'disk quota exceeded' >&2\nexit 1\n",
  slow: "#!/bin/sh\ncat >/dev/null\nsleep 0.3\nexit 0\n",
  // Longer than the daemon's push timeout; refuses if it is ever let finish.
  hanging: "#!/bin/sh\ncat >/dev/null\nsleep 20\nexit 1\n",
};

/** Environment for the harness's own git calls: no user or system config. */
export function gitEnv(): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: "/nonexistent",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    LANG: "C.UTF-8",
  };
}

/** A local bare repository standing in for the user's remote. */
export class Remote {
  /** Where the daemon is told the remote is. */
  readonly path: string;
  readonly #away: string;
  #mode: RemoteMode = "ok";

  /** A remote at `<root>/remote.git` (created by {@linkcode Remote.init}). */
  constructor(root: string) {
    this.path = join(root, "remote.git");
    this.#away = join(root, "remote-away.git");
  }

  /** What the remote does now. */
  get mode(): RemoteMode {
    return this.#mode;
  }

  /** Creates the empty bare repository. */
  async init(): Promise<void> {
    const out = await command("git", {
      args: ["init", "--bare", "-q", this.path],
      env: gitEnv(),
      timeoutMs: 10_000,
    });
    if (out.code !== 0) throw new Error(`git init --bare failed: ${out.stderr}`);
  }

  /** Where the repository is now (moved away while `gone`). */
  get where(): string {
    return this.#mode === "gone" ? this.#away : this.path;
  }

  /** Switches to `mode` (any mode can follow any other). */
  async set(mode: RemoteMode): Promise<void> {
    if (this.#mode === "gone") {
      await Deno.rename(this.#away, this.path);
      // A push cut off by the disappearance (a disk unplugged mid-push) can leave the
      // remote's ref lock behind; git's message tells the person to remove it, and the
      // daemon must not touch locks in a repository it does not own. Here the person does.
      await removeRefLocks(join(this.path, "refs"));
    }
    const hook = join(this.path, "hooks", "pre-receive");
    await Deno.remove(hook).catch(() => {});
    if (mode === "rejecting" || mode === "slow" || mode === "hanging") {
      await Deno.writeTextFile(hook, HOOKS[mode], { mode: 0o755 });
    }
    if (mode === "gone") await Deno.rename(this.path, this.#away);
    this.#mode = mode;
  }

  /**
   * Back to `ok` once every daemon is stopped. A daemon killed mid-push kills
   * the local `git receive-pack` it started (a file remote runs on the
   * client's side), which can leave the branch's ref lock behind; a hosted
   * remote would not, and git tells the person to remove it. Here the person
   * does, as for a remote that was gone.
   */
  async heal(): Promise<void> {
    await this.set("ok");
    await removeRefLocks(join(this.path, "refs"));
  }
}

/**
 * Sets the branch back `back` commits, as a restored backup would; deletes it
 * when it has fewer. Returns what it did, for the log.
 */
export async function resetBranch(gitDir: string, back: number): Promise<string> {
  const older = await command("git", {
    args: ["rev-parse", "--verify", "--quiet", `refs/heads/${BRANCH}~${back}`],
    env: { ...gitEnv(), GIT_DIR: gitDir },
    timeoutMs: 10_000,
  });
  const target = new TextDecoder().decode(older.stdout).trim();
  const args = older.code === 0 && target
    ? ["update-ref", `refs/heads/${BRANCH}`, target]
    : ["update-ref", "-d", `refs/heads/${BRANCH}`];
  const out = await command("git", {
    args,
    env: { ...gitEnv(), GIT_DIR: gitDir },
    timeoutMs: 10_000,
  });
  if (out.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${out.stderr}`);
  return args[1] === "-d" ? "branch deleted" : `branch set back to ${target.slice(0, 12)}`;
}

/** Removes `*.lock` files under `dir` (a returning remote's stale ref locks). */
async function removeRefLocks(dir: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await removeRefLocks(path);
    else if (entry.name.endsWith(".lock")) await Deno.remove(path).catch(() => {});
  }
}
