/**
 * The suite's temporary files on a private tmpfs. `deno task test` and
 * `deno task torture` create thousands of test homes, git repositories and
 * chunk files and delete them again. On a disk file system that costs far
 * more than the work itself: on this machine's ext4 (no journal), a `mkdir`
 * in `/tmp` takes 85 to 275 µs while the suite runs (5 µs on tmpfs), because
 * the inode allocator steps over every inode deleted in the last minutes,
 * and a `git init` takes 18 ms of system time (1.5 ms on tmpfs). Where the
 * runner may (root on Linux, with `unshare` and `mount`), it runs itself
 * again in a mount namespace of its own with a tmpfs over a new folder, and
 * points `TMPDIR` there: nobody else sees the mount, and it ends with the
 * run (nothing is left mounted or behind, whatever a test leaked). Anywhere
 * else, or with `TEST_TMPFS=0`, the suite runs where `TMPDIR` says, as
 * before.
 *
 * @module
 */
import { run } from "../lib/sys/exec.ts";

/** Set inside the namespace: the folder the tmpfs is mounted on. */
export const INSIDE_ENV = "CHUNKER_SUITE_TMPFS";

/** The tmpfs's size limit: pages are only taken as files are written. */
const SIZE = "8g";

/** Exit status of the script when `mount` refused. */
const MOUNT_REFUSED = 97;

/**
 * Mounts a tmpfs on `$1`, then runs the rest with `TMPDIR` (and
 * {@linkcode INSIDE_ENV}) pointing there. Arguments stay arguments: the
 * script is fixed text.
 */
const SCRIPT = `mount -t tmpfs -o size=${SIZE},mode=1777 chunker-tests "$1" || exit ${MOUNT_REFUSED}
dir=$1
shift
TMPDIR=$dir ${INSIDE_ENV}=$dir exec "$@"`;

/** What {@linkcode tmpfsWanted} decides on. */
export interface TmpfsFacts {
  /** `Deno.build.os`. */
  os: string;
  /** `Deno.uid()` (null off Unix). */
  uid: number | null;
  /** {@linkcode INSIDE_ENV}, when set (already inside). */
  inside: string | undefined;
  /** `TEST_TMPFS` (`0` turns the tmpfs off). */
  setting: string | undefined;
}

/** True when the run should try a private tmpfs. */
export function tmpfsWanted(facts: TmpfsFacts): boolean {
  return facts.os === "linux" && facts.uid === 0 && !facts.inside && facts.setting !== "0";
}

/** The argv that runs `command` in a new mount namespace with a tmpfs over `dir`. */
export function tmpfsCommand(dir: string, command: readonly string[]): string[] {
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    SCRIPT,
    "sh",
    dir,
    ...command,
  ];
}

/**
 * Runs `command` (this program again) under a private tmpfs when
 * {@linkcode tmpfsWanted} and the system allows it, and returns its exit
 * status; null when it did not run (the caller runs in place). Prints one
 * line saying where the temporary files go.
 */
export async function runOnTmpfs(command: readonly string[]): Promise<number | null> {
  const inside = Deno.env.get(INSIDE_ENV);
  if (inside) {
    console.log(`temporary files on a private tmpfs (${inside}); TEST_TMPFS=0 puts them on disk`);
    return null;
  }
  const facts = {
    os: Deno.build.os,
    uid: Deno.uid(),
    inside,
    setting: Deno.env.get("TEST_TMPFS"),
  };
  if (!tmpfsWanted(facts)) return null;
  const dir = await Deno.makeTempDir({ prefix: "chunker-suite-" });
  try {
    // A probe first, so a refusal (no unshare, no CAP_SYS_ADMIN in a container) is told
    // apart from the suite's own exit status.
    const probe = await probeTmpfs(dir);
    if (!probe.ok) {
      console.log(`temporary files on disk: no private tmpfs here (${probe.why})`);
      return null;
    }
    const [program, ...args] = tmpfsCommand(dir, command);
    const child = new Deno.Command(program, { args, stdin: "inherit" }).spawn();
    return (await child.status).code;
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
}

/**
 * Whether a private tmpfs can be mounted over `dir` here (it is gone again
 * when this returns), or why not.
 */
export async function probeTmpfs(dir: string): Promise<{ ok: true } | { ok: false; why: string }> {
  const [program, ...args] = tmpfsCommand(dir, ["true"]);
  const probe = await run(program, { args, timeoutMs: 10_000 });
  if (probe.success) return { ok: true };
  const said = probe.stderr.split("\n").map((line) => line.trim()).find(Boolean);
  return { ok: false, why: said || `exit ${probe.code}` };
}
