/**
 * The viewer's search: `daemon.ts search`'s engine (lib/text/search.ts
 * searchRecordings: the same indexes, rendering, patterns, times and
 * context), run over each remote's refreshed copy, its matches grouped by
 * recording for the page. At most {@linkcode MAX_MATCHES} matches are
 * gathered, for at most {@linkcode SEARCH_TIMEOUT_MS} (then the search
 * stops and says so).
 *
 * @module
 */
import type { BranchSourceOptions } from "../branch/mod.ts";
import { errorMessage, KindedError } from "../sys/mod.ts";
import {
  formatOffset,
  type Match,
  type MatchPlace,
  PatternError,
  searchRecordings,
} from "../text/mod.ts";
import type { ViewerBranches } from "./branches.ts";

/** Matches gathered at most (per search). */
export const MAX_MATCHES = 2000;

/** How long one search may take (recordings without a text index are rendered). */
const SEARCH_TIMEOUT_MS = 120_000;

/** One match as the page shows it. */
export interface Hit {
  /** Seconds into the recording. */
  t: number;
  /** `hh:mm:ss`. */
  offset: string;
  /** Line number in the recording's text. */
  number: number;
  line: string;
  /** Context before. */
  before: string[];
  /** Context after. */
  after: string[];
}

/** The matches of one recording. */
export interface HitGroup {
  /** The remote's number. */
  r: number;
  /** Recording id. */
  id: string;
  /** Whether the text came from the committed index or was rendered. */
  source: MatchPlace["source"];
  /** The recording ended. */
  complete: boolean;
  /** Its matches, in order. */
  hits: Hit[];
}

/** What the page asked. */
export interface WebSearchRequest {
  pattern: string;
  /** A regular expression (default: literal). */
  regex?: boolean;
  ignoreCase?: boolean;
  /** Lines of context (default 1). */
  context?: number;
  /** Only this remote. */
  remote?: number;
  /** Only these recordings. */
  ids?: string[];
}

/** What the page gets. */
export interface WebSearchResult {
  /** Groups in the engine's order (per remote, oldest recording first). */
  groups: HitGroup[];
  /** Matches gathered. */
  matches: number;
  /** Stopped at {@linkcode MAX_MATCHES}, or after {@linkcode SEARCH_TIMEOUT_MS}. */
  truncated: boolean;
  /** Recordings or remotes that could not be read. */
  errors: string[];
  /** Fallbacks. */
  notes: string[];
}

function hitOf(match: Match): Hit {
  return {
    t: match.line.t,
    offset: formatOffset(match.line.t),
    number: match.number,
    line: match.line.text,
    before: match.before.map((line) => line.text),
    after: match.after.map((line) => line.text),
  };
}

/** Enough matches: ends the search early (not a failure). */
class Enough extends KindedError<"enough"> {
  constructor() {
    super("enough", "enough matches");
  }
}

/**
 * Searches every remote of `branches` (or `request.remote`). Throws
 * `PatternError` for a pattern that does not compile.
 */
export async function webSearch(
  branches: ViewerBranches,
  request: WebSearchRequest,
  options: BranchSourceOptions & { timeoutMs?: number },
): Promise<WebSearchResult> {
  const result: WebSearchResult = {
    groups: [],
    matches: 0,
    truncated: false,
    errors: [],
    notes: [],
  };
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const timer = setTimeout(() => {
    result.truncated = true;
    stop.abort(new Enough());
  }, options.timeoutMs ?? SEARCH_TIMEOUT_MS);
  try {
    for (const remote of branches.remotes) {
      if (stop.signal.aborted) break;
      await searchRemote(remote);
    }
  } finally {
    clearTimeout(timer);
  }
  return result;

  async function searchRemote(remote: ViewerBranches["remotes"][number]): Promise<void> {
    if (request.remote !== undefined && remote.key !== request.remote) return;
    const { state, error } = await branches.state(remote.key);
    if (error) result.errors.push(`${remote.shown} (${remote.branch}): ${error}`);
    if (!state || state.tip === undefined) return;
    let group: HitGroup | undefined;
    try {
      const summary = await searchRecordings({
        ...options,
        // The viewer's copy, read in place (refreshed just now).
        repoUrl: state.gitDir,
        branch: remote.branch,
        offline: false,
        signal,
        pattern: request.pattern,
        regex: request.regex,
        ignoreCase: request.ignoreCase,
        context: request.context ?? 1,
        ids: request.ids,
        onMatch: (place, match) => {
          if (result.matches >= MAX_MATCHES) {
            result.truncated = true;
            stop.abort(new Enough());
            throw new Enough();
          }
          if (group?.id !== place.id) {
            group = {
              r: remote.key,
              id: place.id,
              source: place.source,
              complete: place.complete,
              hits: [],
            };
            result.groups.push(group);
          }
          group.hits.push(hitOf(match));
          result.matches++;
          return Promise.resolve();
        },
      });
      result.notes.push(...summary.notes);
      result.errors.push(...summary.errors.map((e) => e.replaceAll(state.gitDir, remote.shown)));
    } catch (error) {
      if (error instanceof PatternError) throw error;
      if (result.truncated && (error instanceof Enough || stop.signal.aborted)) return;
      if (options.signal?.aborted) throw error;
      result.errors.push(`${remote.shown} (${remote.branch}): ${errorMessage(error)}`);
    }
  }
}
