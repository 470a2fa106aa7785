/**
 * `search`: every match of a pattern across every recording of the known
 * remotes (or one `--repo`), in recording order (oldest first), each with
 * its time into the recording. Finished recordings are read from their text
 * index, the others rendered from their chunks up to the last pushed byte.
 * A remote or a recording that cannot be read is reported and skipped; the
 * search goes on.
 *
 * @module
 */
import {
  BranchSourceError,
  type BranchSourceOptions,
  type BranchView,
  loadManifest,
  readBranchRecordings,
  resolveBranchRemote,
  RestoreError,
} from "../branch/mod.ts";
import { displayUrl, loadChunkDetails, type Manifest } from "../git/mod.ts";
import { errorMessage } from "../sys/mod.ts";
import { CastFormatError } from "./events.ts";
import { escapeText, IndexFormatError, type LineFilter } from "./index_format.ts";
import { compileMatcher, type Match, type MatchPlace, MatchScanner } from "./match.ts";
import {
  BoundedRegex,
  boundedRegexFor,
  type BoundedSearchOptions,
  scanLines,
} from "./bounded_regex.ts";
import { readRecordingText, type TextInfo } from "./branch_text.ts";
import { notBackedUpReason } from "./local_text.ts";
import { type SearchedRemote, searchedRemotes } from "./remotes.ts";

/** Options of {@linkcode searchRecordings}. */
export interface SearchOptions extends BranchSourceOptions, BoundedSearchOptions {
  /** What to look for. */
  pattern: string;
  /** Lines of context on each side of a match. */
  context?: number;
  /** Only these recordings (default: all). */
  ids?: string[];
  /** Only lines shown at or after this time (recording start + offset). */
  since?: Date;
  /** Render every recording, ignoring committed indexes (a check of the index). */
  noIndex?: boolean;
  /** Receives each match, in order. */
  onMatch: (place: MatchPlace, match: Match) => Promise<void>;
}

/** What a search did. */
export interface SearchSummary {
  /** Matches found. */
  matches: number;
  /** Recordings searched. */
  recordings: number;
  /** Of them, read from their index. */
  indexed: number;
  /** What could not be read (each with the next step). */
  errors: string[];
  /** Things the person should know (fallbacks). */
  notes: string[];
}

/** The commit times (Unix seconds) known of `id`'s chunks (its first and last, once loaded). */
function commitTimes(view: BranchView, id: string): number[] {
  return (view.index.chunks.get(id) ?? []).flatMap((e) => e.committedAt ?? []);
}

/** When a recording started (ms since the epoch), for ordering and `--since`. */
function startOf(manifest: Manifest | undefined, view: BranchView, id: string): number {
  const started = manifest?.started ? Date.parse(manifest.started) : NaN;
  if (Number.isFinite(started)) return started;
  const first = Math.min(...commitTimes(view, id));
  return Number.isFinite(first) ? first * 1000 : 0;
}

/** When a recording last showed anything (ms since the epoch), or Infinity when unknown. */
function endOf(manifest: Manifest | undefined, view: BranchView, id: string): number {
  const ended = manifest?.ended ? Date.parse(manifest.ended) : NaN;
  if (Number.isFinite(ended)) return ended;
  const times = commitTimes(view, id);
  return times.length ? Math.max(...times) * 1000 : Infinity;
}

/**
 * For a literal pattern, the index regions that cannot hold a match: the
 * pattern, escaped as the index stores text, is not in them (a region that
 * holds it, even inside a time, is decoded and matched line by line).
 */
function literalFilter(options: SearchOptions): LineFilter | undefined {
  if (options.regex) return undefined;
  const keep = Math.max(0, options.context ?? 0);
  if (!options.ignoreCase) {
    const needle = escapeText(options.pattern);
    return { keep, skip: (region) => !region.includes(needle) };
  }
  const needle = escapeText(options.pattern.toLowerCase());
  return { keep, skip: (region) => !region.toLowerCase().includes(needle) };
}

function readable(error: unknown): boolean {
  return error instanceof RestoreError || error instanceof CastFormatError ||
    error instanceof IndexFormatError;
}

/**
 * Searches one branch; adds to `summary`, and the ids it holds to `seen`
 * (`bounded`: the search's regular expression, off the main thread).
 */
async function searchBranch(
  options: SearchOptions,
  remote: SearchedRemote,
  summary: SearchSummary,
  { seen, bounded }: { seen: Set<string>; bounded?: BoundedRegex },
): Promise<void> {
  const matcher = compileMatcher(options.pattern, options);
  const filter = literalFilter(options);
  const since = options.since?.getTime();
  const spec = await resolveBranchRemote({
    ...options,
    repoUrl: remote.url,
    branch: remote.branch,
  });
  const shown = { url: displayUrl(spec.url), branch: spec.branch };
  const result = await readBranchRecordings({
    ...options,
    repoUrl: spec.url,
    branch: spec.branch,
    ids: options.ids,
    details: "none", // a recording's, when it is rendered or its manifest has no times
    readerTimeoutMs: (index) => {
      const compressed = [...index.chunks.values()].flat().reduce((sum, e) => sum + e.size, 0);
      return 600_000 + Math.ceil(compressed / (1 << 20)) * 2000;
    },
  }, async (view) => {
    const ids = [...new Set([...view.index.chunks.keys(), ...view.index.manifests.keys()])];
    for (const id of ids) seen.add(id);
    const manifests = new Map<string, Manifest | undefined>();
    for (const id of ids) {
      manifests.set(id, (await loadManifest(view.index, id, view.reader, options)).manifest);
    }
    // Times from the chunks only where the manifest has none (in progress): the first and last.
    await loadChunkDetails(view.index, view.reader, {
      ids: ids.filter((id) => !manifests.get(id)?.started || !manifests.get(id)?.ended),
      ends: true,
      signal: options.signal,
    });
    const recordings = ids.map((id) => ({
      id,
      start: startOf(manifests.get(id), view, id),
      end: endOf(manifests.get(id), view, id),
    }));
    recordings.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
    for (const recording of recordings) {
      if (since !== undefined && recording.end < since) continue;
      const scanner = new MatchScanner(matcher, options.context ?? 0);
      let place: MatchPlace | undefined;
      const emit = async (matches: Match[]) => {
        for (const match of matches) {
          summary.matches++;
          await options.onMatch(place!, match);
        }
      };
      try {
        const placeOf = (info: TextInfo): MatchPlace =>
          place ??= {
            id: recording.id,
            remote: shown.url,
            branch: shown.branch,
            source: info.source,
            complete: info.manifest !== undefined,
          };
        const startOf = (info: TextInfo) =>
          info.timestamp !== undefined ? info.timestamp * 1000 : recording.start;
        const read = await readRecordingText(view, recording.id, {
          useIndex: !options.noIndex,
          identities: options.identities,
          signal: options.signal,
          filter,
          onSkip: async (skipped, info) => {
            placeOf(info);
            await emit(scanner.skip(skipped.count, skipped.head, skipped.tail));
          },
          onLines: async (lines, info) => {
            placeOf(info);
            await scanLines(scanner, lines, { bounded, since, start: startOf(info), emit });
          },
        });
        await emit(scanner.end());
        summary.recordings++;
        if (read.source === "index") summary.indexed++;
        if (read.note) summary.notes.push(read.note);
      } catch (error) {
        if (options.signal?.aborted || !readable(error)) throw error;
        await emit(scanner.end());
        summary.errors.push(`${recording.id} on ${shown.url}: ${errorMessage(error)}`);
      }
    }
    return [];
  });
  summary.notes.push(...result.notes);
}

/**
 * Searches every recording of the known remotes (or `options.repoUrl`).
 * Throws `PatternError` for an invalid pattern (before reading anything).
 */
export async function searchRecordings(options: SearchOptions): Promise<SearchSummary> {
  compileMatcher(options.pattern, options);
  const summary: SearchSummary = { matches: 0, recordings: 0, indexed: 0, errors: [], notes: [] };
  const remotes = await searchedRemotes(options);
  const seen = new Set<string>();
  let unread = 0;
  const bounded = boundedRegexFor(options.pattern, options);
  try {
    for (const remote of remotes) {
      try {
        await searchBranch(options, remote, summary, { seen, bounded });
      } catch (error) {
        if (!(error instanceof BranchSourceError)) throw error;
        unread++;
        summary.errors.push(
          `${remote.url ? displayUrl(remote.url) : "the default remote"}${
            remote.branch ? ` (${remote.branch})` : ""
          }: ${error.message}`,
        );
      }
    }
  } finally {
    bounded?.close();
  }
  const missing = (options.ids ?? []).filter((id) => !seen.has(id));
  if (missing.length && unread < remotes.length) {
    const known = await knownIds(options, remotes);
    for (const id of missing) {
      const close = closestIds(id, known);
      const why = await notBackedUpReason(id);
      summary.errors.push(
        `there is no recording ${JSON.stringify(id)} on ${
          remotes.length === 1 ? "the remote" : `the ${remotes.length} remotes`
        } searched${
          close.length ? ` (the closest: ${close.join(", ")})` : " (see `daemon.ts list`)"
        }${why ? `: ${why}` : ""}`,
      );
    }
  }
  return summary;
}

/** Every recording id on the searched remotes (for suggestions; a remote that fails is skipped). */
async function knownIds(options: SearchOptions, remotes: SearchedRemote[]): Promise<string[]> {
  const known = new Set<string>();
  for (const remote of remotes) {
    try {
      const spec = await resolveBranchRemote({
        ...options,
        repoUrl: remote.url,
        branch: remote.branch,
      });
      await readBranchRecordings(
        { ...options, repoUrl: spec.url, branch: spec.branch, ids: undefined },
        (view) => {
          for (const id of view.index.chunks.keys()) known.add(id);
          for (const id of view.index.manifests.keys()) known.add(id);
          return Promise.resolve([]);
        },
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
    }
  }
  return [...known];
}

/** Up to `count` of `known` nearest to `wanted` by edit distance (at most a third of its length). */
export function closestIds(wanted: string, known: string[], count = 3): string[] {
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  return known
    .map((id) => ({ id, distance: editDistance(wanted, id, limit) }))
    .filter((entry) => entry.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.id.localeCompare(b.id))
    .slice(0, count)
    .map((entry) => entry.id);
}

/** Levenshtein distance of `a` and `b`, or `limit + 1` once it is sure to exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (row[j] < best) best = row[j];
    }
    if (best > limit) return limit + 1;
    previous = row;
  }
  return previous[b.length];
}
