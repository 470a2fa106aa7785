/**
 * What the engine is given ({@linkcode EngineOptions}) and what it reports
 * ({@linkcode EngineEvent}).
 *
 * @module
 */
import type { Clock, HomePaths, Settings } from "../../sys/mod.ts";
import type { AuthResolver } from "../../git/mod.ts";
import type { ErrorKind } from "../../status/mod.ts";

/** Events the daemon reports (for notifications). */
export type EngineEvent =
  | {
    type: "push-failed";
    remote: string;
    kind: ErrorKind;
    message: string;
    since: Date;
    queued: number;
    label: string;
  }
  | { type: "push-ok"; remote: string; queued: number; label: string }
  | { type: "disk"; message: string }
  | { type: "behind"; id: string; ageSeconds: number }
  | { type: "caught-up"; id: string }
  | { type: "public-refused"; id: string; message: string };

/** Options for the engine. */
export interface EngineOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Validated settings. */
  settings: Settings;
  /** How git reaches a remote (authentication). */
  authFor?: AuthResolver;
  /** The token of a remote, for the GitHub API's visibility answer (absent: anonymous). */
  tokenFor?: (url: string) => Promise<string | undefined>;
  /** Notable events (must not throw). */
  onEvent?: (event: EngineEvent) => void;
  /** Clock (default: the process's). */
  clock?: Clock;
}
