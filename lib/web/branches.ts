/**
 * The branches the viewer reads: every remote the daemon knows (or the one
 * `--repo`/`--branch` names, as `list` and `search` pick them), each opened
 * through lib/branch/source.ts. A remote that has to be fetched is fetched
 * into one scratch repository of the run, so each refresh transfers only
 * what is new; a refresh happens at most once per interval, one at a time
 * per remote, and the branch's index is read again only when its tip moved.
 * A remote that cannot be read keeps its last good state and says why.
 *
 * @module
 */
import { join } from "node:path";
import {
  type BranchSourceOptions,
  type BranchView,
  openBranch,
  resolveBranchRemote,
} from "../branch/mod.ts";
import {
  BlobReader,
  type BranchIndex,
  displayUrl,
  readBranchIndex,
  resolveTip,
} from "../git/mod.ts";
import { errorMessage } from "../sys/mod.ts";
import { searchedRemotes } from "../text/mod.ts";

/** One remote and branch as the viewer shows it. */
export interface ViewerRemote {
  /** Its number in this run (URLs name remotes by it). */
  key: number;
  /** The remote as configured (never shown: it may carry a path or user name the display form drops). */
  url: string;
  /** The remote for people. */
  shown: string;
  branch: string;
}

/** A readable copy of a remote's branch, as of its last refresh. */
export interface BranchState {
  remote: ViewerRemote;
  /** The git directory to read (the remote itself, the scratch repository, or the daemon's clone). */
  gitDir: string;
  /** The ref inside it. */
  ref: string;
  /** The commit read (undefined: the branch does not exist yet). */
  tip?: string;
  /** What the branch holds at `tip`. */
  index?: BranchIndex;
  /** Things the person should know (fallbacks). */
  notes: string[];
}

/** Options of {@linkcode ViewerBranches.open}. */
export interface ViewerBranchesOptions extends BranchSourceOptions {
  /** Least time between two refreshes of one remote (default 2 s). */
  intervalMs?: number;
}

interface Entry {
  remote: ViewerRemote;
  scratch: string;
  state?: BranchState;
  error?: string;
  refreshedAt: number;
  refreshing?: Promise<void>;
}

/** The remotes of one viewer run and their latest readable state. */
export class ViewerBranches {
  #options: ViewerBranchesOptions;
  #entries: Entry[];
  #dir: string;

  private constructor(options: ViewerBranchesOptions, entries: Entry[], dir: string) {
    this.#options = options;
    this.#entries = entries;
    this.#dir = dir;
  }

  /**
   * Finds the remotes (`options.repoUrl`/`branch`, else every known one).
   * Throws a `BranchSourceError` (kind `settings`) when `--repo` cannot be
   * resolved.
   */
  static async open(options: ViewerBranchesOptions): Promise<ViewerBranches> {
    const dir = await Deno.makeTempDir({ prefix: "asciinema-viewer-" });
    await Deno.chmod(dir, 0o700);
    try {
      const entries: Entry[] = [];
      for (const remote of await searchedRemotes(options)) {
        const spec = await resolveBranchRemote({
          ...options,
          repoUrl: remote.url,
          branch: remote.branch,
        });
        const key = entries.length;
        entries.push({
          remote: { key, url: spec.url, shown: displayUrl(spec.url), branch: spec.branch },
          scratch: join(dir, `remote-${key}.git`),
          refreshedAt: -Infinity,
        });
      }
      return new ViewerBranches(options, entries, dir);
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** The remotes, in the order the daemon knows them. */
  get remotes(): ViewerRemote[] {
    return this.#entries.map((entry) => entry.remote);
  }

  /** The remote numbered `key`, or undefined. */
  remote(key: number): ViewerRemote | undefined {
    return this.#entries[key]?.remote;
  }

  /**
   * The latest state of remote `key`, refreshed first when the last
   * refresh is older than the interval (or `fresh` asks for it now; `cached`
   * takes the state there is, when there is one: chunks never change).
   * `error` says why the last refresh failed (the state is then the one
   * before, if any).
   */
  async state(
    key: number,
    options: { fresh?: boolean; cached?: boolean } = {},
  ): Promise<{ state?: BranchState; error?: string }> {
    const entry = this.#entries[key];
    if (!entry) return { error: `no remote ${key}` };
    if (options.cached && entry.state) return { state: entry.state, error: entry.error };
    const interval = this.#options.intervalMs ?? 2000;
    const due = performance.now() - entry.refreshedAt >= (options.fresh ? 0 : interval);
    if (due || !entry.state) {
      entry.refreshing ??= this.#refresh(entry).finally(() => entry.refreshing = undefined);
      await entry.refreshing;
    }
    return { state: entry.state, error: entry.error };
  }

  async #refresh(entry: Entry): Promise<void> {
    const { remote } = entry;
    try {
      const source = await openBranch({
        ...this.#options,
        repoUrl: remote.url,
        branch: remote.branch,
        scratch: entry.scratch,
      });
      const tip = await resolveTip(source.gitDir, source.ref, { signal: this.#options.signal });
      const previous = entry.state;
      const index = tip === undefined
        ? undefined
        : previous?.tip === tip && previous.gitDir === source.gitDir
        ? previous.index
        : await readBranchIndex(source.gitDir, source.ref, {
          // A recording's details are loaded when it is read (lib/branch/recording_bytes.ts).
          details: "none",
          deepen: source.deepen,
          signal: this.#options.signal,
        });
      entry.state = {
        remote,
        gitDir: source.gitDir,
        ref: source.ref,
        tip,
        index,
        notes: source.notes,
      };
      entry.error = undefined;
    } catch (error) {
      if (this.#options.signal?.aborted) throw error;
      entry.error = errorMessage(error);
    } finally {
      entry.refreshedAt = performance.now();
    }
  }

  /** Removes the scratch repositories. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#entries.map((entry) => entry.refreshing));
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `body` with a blob reader on `state`'s branch (closed afterwards). */
export async function withView<T>(
  state: BranchState,
  body: (view: BranchView) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  if (!state.index) throw new Error(`${state.remote.shown} has no branch ${state.remote.branch}`);
  const reader = BlobReader.open(state.gitDir, { signal: options.signal });
  try {
    return await body({ index: state.index, reader });
  } finally {
    await reader.close();
  }
}
