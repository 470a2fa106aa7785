/**
 * The raw bytes of many blobs, one after another, straight from git into
 * another program: `git show --no-textconv --stdin` prints each blob as it
 * is, with nothing between them, and a shell pipe hands that to the
 * program. Nothing passes through this process: a restore's chunks go from
 * git to `zstd -d` without a copy into and out of Deno (about a tenth of a
 * 200 MB restore). The shell's script is fixed; the program and its
 * arguments are its positional parameters, and the blob ids go on its
 * standard input (checked to be object ids first), so nothing read from a
 * branch becomes script text or an option. Everything runs in a session of
 * its own: a stop or a timeout ends git and the program together.
 *
 * What git printed is not checked here: the caller checks what the program
 * made of it (a restore hashes the whole file against the manifest).
 *
 * @module
 */
import { killSession, runGranted, spawnInSession } from "../sys/mod.ts";
import { gitEnv } from "./hermetic.ts";

/** The shell's script: git's failure is said on stderr; the pipeline's status is the program's. */
const SCRIPT = '{ git show --no-textconv --stdin || echo "git show failed: exit $?" >&2; } | "$@"';

/** A running {@linkcode pipeBlobsInto}. */
export interface BlobPipe {
  /** How it ended: the program's status and everything written on stderr. */
  done: Promise<{ success: boolean; stderr: string }>;
  /** Ends git and the program at once (a bound was passed). */
  stop(): void;
}

/**
 * True when this process may run the pipe (`sh`; git and the program are
 * then run by the shell).
 */
export function canPipeBlobs(): boolean {
  return runGranted("sh");
}

/**
 * Starts `git show` of `blobs` (object ids, in order) in `gitDir` piped
 * into `program` (argv; its stdout goes nowhere). `signal` stops both.
 */
export function pipeBlobsInto(
  gitDir: string,
  blobs: readonly string[],
  options: { program: readonly string[]; globalConfig?: string; signal: AbortSignal },
): BlobPipe {
  const bad = blobs.find((blob) => !/^[0-9a-f]{40,64}$/.test(blob));
  if (bad !== undefined) throw new Error(`not an object id: ${bad}`);
  if (options.program.length === 0) throw new Error("pipeBlobsInto: no program");
  const { child } = spawnInSession("sh", {
    args: ["-c", SCRIPT, "sh", ...options.program],
    env: { ...gitEnv({ globalConfig: options.globalConfig }), GIT_DIR: gitDir },
    clearEnv: true,
    cwd: gitDir,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  });
  const stop = () => killSession(child, "SIGKILL");
  options.signal.addEventListener("abort", stop, { once: true });
  if (options.signal.aborted) stop();
  const asked = (async () => {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(blobs.map((blob) => `${blob}\n`).join("")));
      await writer.close();
    } catch {
      // The shell is gone: its status says why.
    }
  })();
  const done = (async () => {
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text().catch(() => ""),
      asked,
    ]);
    options.signal.removeEventListener("abort", stop);
    return { success: status.success, stderr };
  })();
  return { done, stop };
}
