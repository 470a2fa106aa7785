/**
 * What the engine is given ({@linkcode EngineOptions}); what it reports is a
 * `DaemonEvent` (lib/git/daemon_event.ts).
 *
 * @module
 */
import type { Clock, HomePaths, Settings } from "../../sys/mod.ts";
import type { AuthResolver, DaemonEvent } from "../../git/mod.ts";

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
  onEvent?: (event: DaemonEvent) => void;
  /** Clock (default: the process's). */
  clock?: Clock;
}
