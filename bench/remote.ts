/**
 * Watches a local bare remote for the benchmark: its branch tip is read from
 * the ref file every few milliseconds (no process spawned), and only when
 * the tip moves is the tree listed (one `git ls-tree`).
 *
 * @module
 */
import { join } from "node:path";
import { parseChunkName } from "../lib/chunk/mod.ts";
import { git } from "../lib/git/mod.ts";

/** What the remote branch holds for one recording. */
export interface RemoteRecording {
  /** End of the last chunk (bytes of the .cast on the remote). */
  end: number;
  /** Chunks. */
  chunks: number;
  /** The manifest is there (the recording is complete). */
  manifest: boolean;
}

/** The tip of `branch` in the bare repository `gitDir`, read from its files. */
export async function readTip(gitDir: string, branch: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(join(gitDir, "refs", "heads", branch))).trim();
  } catch {
    // not a loose ref (packed, or absent)
  }
  try {
    const packed = await Deno.readTextFile(join(gitDir, "packed-refs"));
    const line = packed.split("\n").find((l) => l.endsWith(` refs/heads/${branch}`));
    return line?.split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Every recording on commit `tip`: chunk ends and manifests (one `git ls-tree`). */
export async function listRemote(
  gitDir: string,
  tip: string,
): Promise<Map<string, RemoteRecording>> {
  const result = await git([
    "ls-tree",
    "-r",
    "-z",
    "--name-only",
    tip,
    "--",
    "chunks",
    "recordings",
  ], {
    gitDir,
    timeoutMs: 60_000,
  });
  const recordings = new Map<string, RemoteRecording>();
  const entry = (id: string) => {
    let found = recordings.get(id);
    if (!found) {
      found = { end: 0, chunks: 0, manifest: false };
      recordings.set(id, found);
    }
    return found;
  };
  for (const path of result.stdout.split("\0")) {
    const parts = path.split("/");
    if (parts.length !== 3) continue;
    if (parts[0] === "chunks") {
      const range = parseChunkName(parts[2]);
      if (!range) continue;
      const found = entry(parts[1]);
      found.chunks++;
      found.end = Math.max(found.end, range.end);
    } else if (parts[0] === "recordings" && parts[2] === "manifest.json") {
      entry(parts[1]).manifest = true;
    }
  }
  return recordings;
}

/** Watches one remote branch. */
export class RemoteWatcher {
  /** The bare repository. */
  readonly gitDir: string;
  /** The branch. */
  readonly branch: string;
  #tip: string | undefined;
  #state = new Map<string, RemoteRecording>();

  /** Creates the watcher. */
  constructor(gitDir: string, branch: string) {
    this.gitDir = gitDir;
    this.branch = branch;
  }

  /** Re-reads the tip; lists the tree only when it moved. Returns the recordings. */
  async poll(): Promise<Map<string, RemoteRecording>> {
    const tip = await readTip(this.gitDir, this.branch);
    if (tip && tip !== this.#tip) {
      this.#state = await listRemote(this.gitDir, tip);
      this.#tip = tip;
    }
    return this.#state;
  }

  /**
   * Polls every `intervalMs` until `done(recordings)`; returns
   * `performance.now()` at the poll that saw it.
   */
  async waitUntil(
    done: (recordings: Map<string, RemoteRecording>) => boolean,
    options: { timeoutMs: number; what: string; intervalMs?: number },
  ): Promise<number> {
    const deadline = performance.now() + options.timeoutMs;
    while (true) {
      const state = await this.poll();
      const now = performance.now();
      if (done(state)) return now;
      if (now > deadline) {
        throw new Error(`timed out after ${options.timeoutMs} ms: ${options.what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5));
    }
  }
}
