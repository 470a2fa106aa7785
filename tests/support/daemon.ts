/**
 * Runs the real daemon (`daemon.ts run`) as a subprocess for end-to-end
 * tests, and reads what reached a bare remote.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { git } from "../../lib/git/mod.ts";
import { parseChunkName } from "../../lib/chunk/mod.ts";
import { readHealth } from "../../lib/status/mod.ts";
import type { Health } from "../../lib/status/mod.ts";
import { run } from "../../lib/sys/mod.ts";
import { makeTestHome, type TestHome, waitFor } from "./env.ts";
import { bareRemote } from "./recording.ts";
import { readBlobs, unzstdEach } from "./remote_blobs.ts";

/** Absolute path of daemon.ts. */
export const DAEMON_TS = fileURLToPath(new URL("../../daemon.ts", import.meta.url));

/** A running daemon subprocess. */
export interface DaemonProcess {
  /** The child. */
  child: Deno.ChildProcess;
  /** Sends a signal. */
  kill(signal?: Deno.Signal): void;
  /** Waits for exit; returns the status. */
  wait(): Promise<Deno.CommandStatus>;
  /** Collected stderr so far. */
  stderr(): string;
}

/** Options for {@linkcode startDaemon}. */
export interface StartDaemonOptions {
  /** Extra arguments after `run`. */
  args?: string[];
  /** Deno permission flags (default `-A`). */
  permissions?: string[];
}

/** Starts `deno run daemon.ts run` with `env` (a test home's environment). */
export function startDaemon(
  env: Record<string, string>,
  options: StartDaemonOptions = {},
): DaemonProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(options.permissions ?? ["-A"]),
      "--no-prompt",
      DAEMON_TS,
      "run",
      ...(options.args ?? []),
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const block of child.stderr) text += decoder.decode(block, { stream: true });
  })();
  let exited = false;
  const status = child.status.then(async (value) => {
    exited = true;
    await reading.catch(() => {});
    return value;
  });
  return {
    child,
    kill(signal: Deno.Signal = "SIGTERM") {
      if (!exited) {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      }
    },
    wait: () => status,
    stderr: () => text,
  };
}

/** Runs `daemon.ts run --once` to completion. */
export async function runOnce(
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const result = await run(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", DAEMON_TS, "run", "--once"],
    env,
    clearEnv: true,
    timeoutMs: 120_000,
  });
  return { code: result.code, stderr: result.stderr };
}

/** Waits until health.json satisfies `predicate`. */
export async function waitForHealth(
  healthPath: string,
  predicate: (health: Health) => boolean,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<Health> {
  let last: Health | undefined;
  await waitFor(async () => {
    last = await readHealth(healthPath);
    return last !== undefined && predicate(last);
  }, { timeoutMs: options.timeoutMs ?? 30_000, what: options.what ?? "health" });
  return last!;
}

/** A chunk found on a remote branch. */
export interface RemoteChunk {
  /** Sequence. */
  seq: number;
  /** Range start. */
  start: number;
  /** Range end. */
  end: number;
  /** Blob id. */
  blob: string;
  /** An age chunk (`.cast.zst.age`). */
  encrypted?: boolean;
}

/**
 * The commit `refs/heads/<branch>` of the bare repo `gitDir` names, read
 * from its loose ref file (no process); undefined when it is not a loose ref
 * (packed, or no such branch): then ask git.
 */
async function looseTip(gitDir: string, branch: string): Promise<string | undefined> {
  try {
    const text = (await Deno.readTextFile(join(gitDir, "refs", "heads", branch))).trim();
    return /^[0-9a-f]{40,64}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** The last listing per repo, branch and prefix, with the tip it was made at. */
const listings = new Map<string, { tip: string; chunks: RemoteChunk[] }>();

/**
 * Lists `chunks/<id>/` on `branch` of the bare repo `gitDir`, sorted by seq.
 * Tests poll this while a daemon pushes: while the branch's tip is the
 * commit of the last listing, that listing is the answer (a commit names
 * one tree for good), so a poll costs a file read instead of a `git ls-tree`.
 */
export async function remoteChunks(
  gitDir: string,
  options: { id: string; branch?: string },
): Promise<RemoteChunk[]> {
  const branch = options.branch ?? "asciinema-recordings";
  const prefix = `chunks/${options.id}/`;
  const key = `${gitDir}\0${branch}\0${prefix}`;
  const tip = await looseTip(gitDir, branch);
  const known = listings.get(key);
  if (tip && known?.tip === tip) return known.chunks.map((chunk) => ({ ...chunk }));
  const result = await git(["ls-tree", "-z", tip ?? `refs/heads/${branch}`, "--", prefix], {
    gitDir,
  });
  if (!result.success) return [];
  const chunks: RemoteChunk[] = [];
  for (const line of result.stdout.split("\0")) {
    if (!line) continue;
    const [meta, path] = line.split("\t");
    const parsed = parseChunkName(path.slice(prefix.length));
    if (parsed) chunks.push({ ...parsed, blob: meta.split(" ")[2] });
  }
  chunks.sort((a, b) => a.seq - b.seq);
  if (tip) listings.set(key, { tip, chunks: chunks.map((chunk) => ({ ...chunk })) });
  return chunks;
}

/** Asserts the chunks tile `[0, end)` with no gap or overlap; returns the end. */
export function assertTiling(chunks: RemoteChunk[]): number {
  let end = 0;
  chunks.forEach((chunk, index) => {
    if (chunk.seq !== index) throw new Error(`chunk ${index} has seq ${chunk.seq}`);
    if (chunk.start !== end) {
      throw new Error(`chunk ${chunk.seq} starts at ${chunk.start}, expected ${end}`);
    }
    end = chunk.end;
  });
  return end;
}

/** Concatenates and decompresses the chunks of `id` on the remote. */
export async function restoreFromRemote(
  gitDir: string,
  options: { id: string; branch?: string },
): Promise<Uint8Array> {
  const chunks = await remoteChunks(gitDir, options);
  assertTiling(chunks);
  const blobs = await readBlobs(gitDir, chunks.map((chunk) => chunk.blob));
  const parts = await unzstdEach(chunks.map((chunk) => blobs.get(chunk.blob)!));
  const total = parts.reduce((sum, part) => sum + (part?.length ?? 0), 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  parts.forEach((part, i) => {
    if (!part) throw new Error(`chunk ${chunks[i].seq} does not decompress`);
    bytes.set(part, offset);
    offset += part.length;
  });
  return bytes;
}

/** Bytes of `id` currently on the remote (0 when none). */
export async function remoteEnd(
  gitDir: string,
  options: { id: string; branch?: string },
): Promise<number> {
  const chunks = await remoteChunks(gitDir, options);
  return chunks.length ? chunks[chunks.length - 1].end : 0;
}

/** Writes config.json into a test home. */
export async function writeConfig(home: string, config: Record<string, unknown>): Promise<void> {
  await Deno.mkdir(home, { recursive: true });
  await Deno.writeTextFile(join(home, "config.json"), JSON.stringify(config));
}

/** Reads the JSON-lines log of a test home. */
export async function readLogLines(home: string): Promise<Record<string, unknown>[]> {
  try {
    const text = await Deno.readTextFile(join(home, "logs", "chunker.log"));
    return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

/** Settings that make a test daemon react in well under a second. */
export const FAST_SETTINGS = {
  idle_threshold: 0.2,
  scan_interval_seconds: 1,
  heartbeat_seconds: 1,
  retry_max_seconds: 1,
} as const;

/**
 * {@linkcode FAST_SETTINGS} with `repo_url` a bare repository `remote.git`
 * inside the test home (made on first use), and `extra` on top.
 */
export function remoteSettings(extra: Record<string, unknown> = {}) {
  return (t: TestHome) => ({ ...FAST_SETTINGS, repo_url: bareRemote(t, "remote.git"), ...extra });
}

/** What {@linkcode withDaemon} hands the test body. */
export interface DaemonRig {
  /** The hermetic home. */
  t: TestHome;
  /** The running daemon. */
  daemon: DaemonProcess;
}

/**
 * Creates a test home with `settings` as config.json (a function of the
 * home, for example to create a remote inside it), starts the daemon, runs
 * `body`, then stops the daemon and removes the home whatever happened.
 */
export async function withDaemon(
  settings: Record<string, unknown> | ((t: TestHome) => Record<string, unknown>),
  body: (rig: DaemonRig) => Promise<void>,
): Promise<void> {
  const t = await makeTestHome();
  try {
    await writeConfig(t.paths.home, typeof settings === "function" ? settings(t) : settings);
    await Deno.mkdir(t.paths.active, { recursive: true, mode: 0o700 });
    const daemon = startDaemon(t.env);
    try {
      await body({ t, daemon });
    } finally {
      daemon.kill("SIGTERM");
      await daemon.wait();
    }
  } finally {
    await t.cleanup();
  }
}
