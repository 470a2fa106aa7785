/**
 * `search --regex` with a time limit: the pattern runs in a Worker, lines
 * go to it in batches, and a batch that takes longer than
 * {@linkcode REGEX_TIME_LIMIT_MS} (a pattern that backtracks
 * catastrophically, such as `(a+)+$`) ends the Worker and the search with a
 * {@linkcode PatternError} that says so. The main thread only waits, so
 * Ctrl-C is handled while a pattern runs (the abort signal ends the Worker
 * too). The Worker's code is inline (a blob URL), so a `deno compile`d
 * binary carries it.
 *
 * @module
 */
import { errorMessage } from "../sys/mod.ts";
import type { IndexLine } from "./index_format.ts";
import { type Match, type MatchOptions, MatchScanner, PatternError } from "./match.ts";

/** How long one batch of lines may take (a sane pattern needs milliseconds). */
export const REGEX_TIME_LIMIT_MS = 5_000;

/** Text sent to the Worker at once, at most (one line may be longer). */
const BATCH_CHARS = 64 * 1024;

const WORKER_SOURCE = `
let re;
self.onmessage = (event) => {
  const data = event.data;
  if (data.pattern !== undefined) {
    re = new RegExp(data.pattern, data.flags);
    return;
  }
  const out = new Uint8Array(data.texts.length);
  for (let i = 0; i < data.texts.length; i++) out[i] = re.test(data.texts[i]) ? 1 : 0;
  self.postMessage(out, [out.buffer]);
};
`;

/** Options of {@linkcode BoundedRegex}. */
export interface BoundedRegexOptions {
  /** Ignore case. */
  ignoreCase?: boolean;
  /** Per-batch limit (default {@linkcode REGEX_TIME_LIMIT_MS}). */
  timeLimitMs?: number;
  /** Ends a running batch (and the Worker) when aborted. */
  signal?: AbortSignal;
}

/** A regular expression tested off the main thread, each batch of lines within a time limit. */
export class BoundedRegex {
  #pattern: string;
  #flags: string;
  #limitMs: number;
  #signal?: AbortSignal;
  #worker?: Worker;
  #url?: string;

  /** Checks the pattern here (a {@linkcode PatternError} when it does not compile). */
  constructor(pattern: string, options: BoundedRegexOptions = {}) {
    const flags = options.ignoreCase ? "iu" : "u";
    try {
      new RegExp(pattern, flags);
    } catch (error) {
      throw new PatternError(
        `invalid regular expression ${JSON.stringify(pattern)}: ${errorMessage(error)}`,
      );
    }
    this.#pattern = pattern;
    this.#limitMs = options.timeLimitMs ?? REGEX_TIME_LIMIT_MS;
    this.#signal = options.signal;
    this.#flags = flags;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(this.#url, { type: "module" });
    worker.postMessage({ pattern: this.#pattern, flags: this.#flags });
    this.#worker = worker;
    return worker;
  }

  /** Whether each of `texts` matches, in order. */
  async test(texts: readonly string[]): Promise<boolean[]> {
    const verdicts: boolean[] = [];
    let from = 0;
    while (from < texts.length) {
      let to = from;
      let chars = 0;
      while (to < texts.length && (to === from || chars + texts[to].length <= BATCH_CHARS)) {
        chars += texts[to++].length;
      }
      const batch = await this.#batch(texts.slice(from, to));
      for (const hit of batch) verdicts.push(hit === 1);
      from = to;
    }
    return verdicts;
  }

  async #batch(texts: string[]): Promise<Uint8Array> {
    this.#signal?.throwIfAborted();
    const worker = this.#start();
    const answer = Promise.withResolvers<Uint8Array>();
    const timer = setTimeout(() => {
      this.close();
      answer.reject(
        new PatternError(
          `the regular expression ${JSON.stringify(this.#pattern)} ran for more than ` +
            `${this.#limitMs / 1000} s on ${texts.length} line${texts.length === 1 ? "" : "s"}: ` +
            "it backtracks catastrophically (nested quantifiers such as (a+)+ or (a|a)*); " +
            "simplify it, or search for a plain string without --regex",
        ),
      );
    }, this.#limitMs);
    const onAbort = () => {
      this.close();
      answer.reject(this.#signal?.reason ?? new Error("interrupted"));
    };
    this.#signal?.addEventListener("abort", onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<Uint8Array>) => answer.resolve(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.close();
      answer.reject(new PatternError(`the regular expression failed: ${event.message}`));
    };
    try {
      worker.postMessage({ texts });
      return await answer.promise;
    } finally {
      clearTimeout(timer);
      this.#signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Ends the Worker (idempotent; the next `test` starts a new one). */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = undefined;
  }
}

/** How a search tests lines: `regex` bounded, its abort signal and time limit. */
export interface BoundedSearchOptions extends MatchOptions {
  /** Ends a running pattern (Ctrl-C). */
  signal?: AbortSignal;
  /** With `regex`: how long one batch of lines may take (default {@linkcode REGEX_TIME_LIMIT_MS}). */
  regexTimeLimitMs?: number;
}

/** The bounded regex for a search with `regex` (undefined for a literal pattern). */
export function boundedRegexFor(
  pattern: string,
  options: BoundedSearchOptions,
): BoundedRegex | undefined {
  return options.regex
    ? new BoundedRegex(pattern, {
      ignoreCase: options.ignoreCase,
      signal: options.signal,
      timeLimitMs: options.regexTimeLimitMs,
    })
    : undefined;
}

/**
 * Feeds one batch of a recording's lines to `scanner` and hands on the
 * matches they complete: a regular expression is tested by `bounded` (off
 * the main thread, within its time limit); lines shown before `since`
 * (`start` + the line's time, in ms) are counted, never matched.
 */
export async function scanLines(
  scanner: MatchScanner,
  lines: readonly IndexLine[],
  options: {
    bounded?: BoundedRegex;
    since?: number;
    start: number;
    emit: (matches: Match[]) => Promise<void>;
  },
): Promise<void> {
  const { bounded, since, start } = options;
  const verdicts = bounded && await bounded.test(lines.map((line) => line.text));
  for (const [index, line] of lines.entries()) {
    if (since !== undefined && start + line.t * 1000 < since) scanner.skip(1);
    else {
      await options.emit(verdicts ? scanner.pushTested(line, verdicts[index]) : scanner.push(line));
    }
  }
}
