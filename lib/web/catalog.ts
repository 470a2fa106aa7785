/**
 * The viewer's list of recordings: `list`'s listing of every remote
 * (lib/branch/restore.ts listRecordings, read from the viewer's refreshed
 * copy of each branch and kept until its tip moves), as rows for the page,
 * newest first, with the filters of the page (pure): text in the id,
 * machine or remote, one machine, a time range.
 *
 * @module
 */
import { type ListedRecording, listRecordings } from "../branch/mod.ts";
import type { BranchSourceOptions } from "../branch/mod.ts";
import { errorMessage } from "../sys/mod.ts";
import type { BranchState, ViewerBranches, ViewerRemote } from "./branches.ts";

/** One recording as the page lists it. */
export interface RecordingRow {
  /** The remote's number in this run. */
  r: number;
  /** The remote (display form). */
  remote: string;
  branch: string;
  /** Recording id. */
  id: string;
  /** The machine that recorded it: the manifest's host, else the workspace part of the id. */
  machine: string;
  /** Started (ISO), when known. */
  started: string | null;
  /** Ended (ISO); null while in progress. */
  ended: string | null;
  /** Seconds from start to end (in progress: to its last chunk), when known. */
  duration: number | null;
  /** Bytes of the `.cast` on the branch. */
  bytes: number;
  /** It ended and every chunk was pushed. */
  complete: boolean;
  /** Its chunks or manifest are encrypted. */
  encrypted: boolean;
  /** Encrypted, and the identity at hand cannot read its manifest. */
  locked: boolean;
  /** A problem with its manifest. */
  problem?: string;
}

/** The workspace part of an id (`<workspace>_<date>_<time>_<suffix>`), or the id itself. */
export function workspaceOf(id: string): string {
  const match = /^(.+?)_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_[a-z0-9]{4}(?:~.*)?$/u.exec(id);
  return match ? match[1] : id;
}

function seconds(from: string | null, to: string | null): number | null {
  const a = from ? Date.parse(from) : NaN;
  const b = to ? Date.parse(to) : NaN;
  return Number.isFinite(a) && Number.isFinite(b) && b >= a ? (b - a) / 1000 : null;
}

/** A listed recording as a row. */
function rowOf(remote: ViewerRemote, listed: ListedRecording): RecordingRow {
  return {
    r: remote.key,
    remote: remote.shown,
    branch: remote.branch,
    id: listed.id,
    machine: listed.host ?? workspaceOf(listed.id),
    started: listed.started,
    ended: listed.ended,
    duration: seconds(listed.started, listed.ended ?? listed.last_chunk),
    bytes: listed.bytes,
    complete: listed.complete,
    encrypted: listed.encrypted ?? false,
    locked: listed.locked !== undefined,
    ...(listed.manifest_error ? { problem: listed.manifest_error } : {}),
  };
}

/** The page's filters. */
export interface RowFilter {
  /** Text in the id, machine or remote (any case). */
  text?: string;
  /** Exactly this machine. */
  machine?: string;
  /** Started at or after (ISO). */
  from?: string;
  /** Started before (ISO). */
  to?: string;
}

/** The rows that pass `filter`, newest first. */
export function filterRows(rows: readonly RecordingRow[], filter: RowFilter): RecordingRow[] {
  const text = filter.text?.trim().toLowerCase();
  const from = filter.from ? Date.parse(filter.from) : NaN;
  const to = filter.to ? Date.parse(filter.to) : NaN;
  return rows.filter((row) => {
    if (text && ![row.id, row.machine, row.remote].some((s) => s.toLowerCase().includes(text))) {
      return false;
    }
    if (filter.machine && row.machine !== filter.machine) return false;
    const started = row.started ? Date.parse(row.started) : NaN;
    if (Number.isFinite(from) && !(started >= from)) return false;
    if (Number.isFinite(to) && !(started < to)) return false;
    return true;
  }).sort((a, b) =>
    (b.started ?? "").localeCompare(a.started ?? "") || a.id.localeCompare(b.id) || a.r - b.r
  );
}

/** One remote's part of the list. */
export interface RemoteSummary {
  key: number;
  /** Display form. */
  url: string;
  branch: string;
  /** Recordings on it. */
  recordings: number;
  /** Why it could not be read (its last good listing is still shown). */
  error?: string;
  /** Fallbacks the person should know. */
  notes: string[];
}

/** Every remote's rows, each listing kept until the remote's tip moves. */
export class Catalog {
  #branches: ViewerBranches;
  #options: BranchSourceOptions;
  #cache = new Map<number, { tip?: string; gitDir: string; rows: RecordingRow[] }>();

  /** Creates the catalog over `branches`, reading with `options` (identities, paths). */
  constructor(branches: ViewerBranches, options: BranchSourceOptions) {
    this.#branches = branches;
    this.#options = options;
  }

  async #rows(state: BranchState): Promise<RecordingRow[]> {
    const cached = this.#cache.get(state.remote.key);
    if (cached && cached.tip === state.tip && cached.gitDir === state.gitDir) return cached.rows;
    let rows: RecordingRow[] = [];
    if (state.tip !== undefined) {
      // The viewer's copy is read in place: it was fetched (or is the remote itself) just now.
      const listing = await listRecordings({
        ...this.#options,
        repoUrl: state.gitDir,
        branch: state.remote.branch,
        offline: false,
      });
      rows = listing.recordings.map((listed) => rowOf(state.remote, listed));
    }
    this.#cache.set(state.remote.key, { tip: state.tip, gitDir: state.gitDir, rows });
    return rows;
  }

  /** Every remote's rows and how each remote fared. */
  async all(): Promise<{ rows: RecordingRow[]; remotes: RemoteSummary[] }> {
    const rows: RecordingRow[] = [];
    const remotes: RemoteSummary[] = [];
    for (const remote of this.#branches.remotes) {
      const { state, error } = await this.#branches.state(remote.key);
      let mine: RecordingRow[] = [];
      let problem = error;
      if (state) {
        try {
          mine = await this.#rows(state);
        } catch (error) {
          problem = errorMessage(error);
          mine = this.#cache.get(remote.key)?.rows ?? [];
        }
      }
      rows.push(...mine);
      remotes.push({
        key: remote.key,
        url: remote.shown,
        branch: remote.branch,
        recordings: mine.length,
        notes: state?.notes ?? [],
        ...(problem ? { error: problem } : {}),
      });
    }
    return { rows, remotes };
  }

  /** The row of `id` on remote `key`, from the latest listing. */
  async find(key: number, id: string): Promise<RecordingRow | undefined> {
    const { state } = await this.#branches.state(key);
    if (!state) return undefined;
    return (await this.#rows(state)).find((row) => row.id === id);
  }
}
