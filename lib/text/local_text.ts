/**
 * `text` and `search` on `.cast` files on disk (a recording from another
 * tool, or one never backed up): rendered as it is, with the same line
 * times as a backed-up recording. An argument is a local file when it ends
 * in `.cast` or names a path (has a `/`); anything else is a recording id.
 *
 * Also why a recording that is not on the branch was never backed up: its
 * file in `active/` or `done/` is read and the reason (not asciicast, binary
 * content, empty) is given, as the daemon would put it.
 *
 * @module
 */
import { join } from "node:path";
import { checkHeader } from "../chunk/mod.ts";
import { errorMessage, homePaths, KindedError, resolveHome } from "../sys/mod.ts";
import { CastFormatError } from "./events.ts";
import { fileFeed } from "./index_build.ts";
import { type IndexLine, indexTime } from "./index_format.ts";
import {
  compileMatcher,
  type Match,
  type Matcher,
  type MatchPlace,
  MatchScanner,
} from "./match.ts";
import {
  type BoundedRegex,
  boundedRegexFor,
  type BoundedSearchOptions,
  scanLines,
} from "./bounded_regex.ts";
import { renderFeed } from "./render.ts";

/** True when a command-line argument names a local file rather than a recording id. */
export function isLocalCast(argument: string): boolean {
  return argument.endsWith(".cast") || argument.includes("/");
}

/** A local file that cannot be read, or is no recording. */
export class LocalCastError extends KindedError<"unreadable"> {
  /** Creates the error (kind `unreadable`: the file cannot be read or is no recording). */
  constructor(message: string) {
    super("unreadable", message);
  }
}

/** What {@linkcode readLocalText} read. */
export interface LocalTextResult {
  /** Lines delivered. */
  lines: number;
  /** Start of the recording (Unix seconds), from its header, when known. */
  timestamp?: number;
}

/**
 * Renders the local recording at `path` into `onLines` (lines with seconds
 * into the recording, as a text index gives them). Throws
 * {@linkcode LocalCastError} when it cannot be read or is not asciicast.
 */
export async function readLocalText(
  path: string,
  onLines: (lines: IndexLine[], timestamp: number | undefined) => Promise<void>,
): Promise<LocalTextResult> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new LocalCastError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  if (!info.isFile) throw new LocalCastError(`${path} is not a regular file`);
  let count = 0;
  let timestamp: number | undefined;
  try {
    const summary = await renderFeed(fileFeed(path, info.size), async (lines, header) => {
      timestamp = header.timestamp;
      count += lines.length;
      await onLines(lines.map((line) => ({ t: indexTime(line.us), text: line.text })), timestamp);
    });
    timestamp ??= summary.header?.timestamp;
  } catch (error) {
    if (error instanceof CastFormatError) {
      throw new LocalCastError(`${path} is not an asciicast recording: ${error.message}`);
    }
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      throw new LocalCastError(`cannot read ${path}: ${errorMessage(error)}`);
    }
    throw error;
  }
  return { lines: count, ...(timestamp === undefined ? {} : { timestamp }) };
}

/** Options of {@linkcode searchFiles}. */
export interface SearchFilesOptions extends BoundedSearchOptions {
  /** The local `.cast` files, searched in this order. */
  files: string[];
  /** What to look for. */
  pattern: string;
  /** Lines of context on each side of a match. */
  context?: number;
  /** Only lines shown at or after this time (the header's timestamp, else the file's mtime). */
  since?: Date;
  /** Receives each match, in order (`place.id` is the file as given). */
  onMatch: (place: MatchPlace, match: Match) => Promise<void>;
}

/**
 * Searches local recordings: each file is rendered and matched like a
 * recording on a branch. A file that cannot be read is an error; the others
 * are still searched. Throws `PatternError` for an invalid pattern.
 */
export async function searchFiles(
  options: SearchFilesOptions,
): Promise<{ matches: number; recordings: number; errors: string[] }> {
  const matcher = compileMatcher(options.pattern, options);
  const bounded = boundedRegexFor(options.pattern, options);
  try {
    return await searchFilesWith(options, { matcher, bounded });
  } finally {
    bounded?.close();
  }
}

/** {@linkcode searchFiles} with its matchers. */
async function searchFilesWith(
  options: SearchFilesOptions,
  { matcher, bounded }: { matcher: Matcher; bounded?: BoundedRegex },
): Promise<{ matches: number; recordings: number; errors: string[] }> {
  const since = options.since?.getTime();
  const summary = { matches: 0, recordings: 0, errors: [] as string[] };
  for (const file of options.files) {
    const place: MatchPlace = {
      id: file,
      remote: "local",
      branch: "",
      source: "rendered",
      complete: true,
    };
    const scanner = new MatchScanner(matcher, options.context ?? 0);
    const emit = async (matches: Match[]) => {
      for (const match of matches) {
        summary.matches++;
        await options.onMatch(place, match);
      }
    };
    let mtime = 0;
    try {
      mtime = (await Deno.stat(file)).mtime?.getTime() ?? 0;
    } catch {
      // readLocalText says why
    }
    try {
      await readLocalText(file, async (lines, timestamp) => {
        const start = timestamp !== undefined ? timestamp * 1000 : mtime;
        await scanLines(scanner, lines, { bounded, since, start, emit });
      });
      await emit(scanner.end());
      summary.recordings++;
    } catch (error) {
      if (!(error instanceof LocalCastError)) throw error;
      await emit(scanner.end());
      summary.errors.push(error.message);
    }
  }
  return summary;
}

/**
 * Why recording `id`, which is not on the branch, was never backed up, when
 * its file is here (`active/` or `done/` of `$ASCIINEMA_HOME`); undefined
 * when there is no such file or nothing is wrong with it.
 */
export async function notBackedUpReason(
  id: string,
  home: string = resolveHome(),
): Promise<string | undefined> {
  if (id.includes("/") || id.includes("\0") || id === "." || id === "..") return undefined;
  const paths = homePaths(home);
  for (const dir of [paths.active, paths.done]) {
    const path = join(dir, `${id}.cast`);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch {
      continue;
    }
    const where = `${dir === paths.active ? "active" : "done"}/${id}.cast`;
    if (info.isSymlink) return `${where} is a symbolic link, which is never followed`;
    if (!info.isFile) return `${where} is not a regular file`;
    const header = await checkHeader(path).catch((error) => ({
      kind: "invalid" as const,
      reason: `unreadable: ${errorMessage(error)}`,
    }));
    if (header.kind === "invalid") {
      return `${where} is not backed up: not an asciicast file (${header.reason})`;
    }
    if (header.kind === "empty") return `${where} is empty: there is nothing to back up yet`;
    if (header.kind === "incomplete") {
      return `${where} has no complete asciicast header yet (its first line has no newline)`;
    }
    return `${where} is a recording the daemon has not pushed yet (see \`daemon.ts status\`)`;
  }
  return undefined;
}
