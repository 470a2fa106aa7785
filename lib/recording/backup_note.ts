/**
 * What bootstrap.ts says next to "backed up to": whether the chunks are
 * encrypted, and for a GitHub repository whether it is public — the
 * daemon's last answer from health.json when it has one, else one
 * anonymous GitHub API request with a short timeout (best effort: no
 * token is read, none is printed, and an unknown answer never delays the
 * recording for more than the timeout). A public repository without
 * encryption or `allow_public` gets a warning: the daemon will hold the
 * recording back.
 *
 * @module
 */
import {
  displayUrl,
  fetchVisibility,
  PUBLIC_FIX,
  repoFullName,
  repoSlug,
  routeOf,
  type RouteOptions,
  type Visibility,
} from "../git/mod.ts";
import { readHealth } from "../status/mod.ts";
import { type HomePaths, isAgeRecipient, termSafe, timeoutSignal } from "../sys/mod.ts";

/** How long bootstrap waits for the GitHub API at most. */
export const BACKUP_NOTE_TIMEOUT_MS = 2000;

/** What {@linkcode backupNote} found. */
export interface BackupNote {
  /** Age recipients the chunks are encrypted to (0: plain zstd). */
  recipients: number;
  /** For a GitHub repository: its visibility and where that came from; else undefined. */
  github?: { name: string; visibility: Visibility; from: "daemon" | "api" | "none" };
  /** The text after "backed up to …": `encrypted (age, 1 recipient); private GitHub repository`. */
  text: string;
  /** A warning to print (a public repository that will not get this recording), or null. */
  warning: string | null;
}

/** Options for {@linkcode backupNote}. */
export interface BackupNoteOptions {
  /** Home layout (health.json). */
  paths: HomePaths;
  /** config.json as read (raw). */
  config: Record<string, unknown>;
  /** The recording's remote (undefined: the daemon's default). */
  repoUrl?: string;
  /** Its branch. */
  branch: string;
  /** `--allow-public` (the recording's `.json`). */
  allowPublic?: boolean;
  /** API timeout (default {@linkcode BACKUP_NOTE_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** `fetch` (tests). */
  fetch?: typeof fetch;
  /** `ssh -G` (tests; default the `ssh` on PATH). */
  sshConfig?: RouteOptions["sshConfig"];
}

function recipientsOf(config: Record<string, unknown>): number {
  const list = (config.encryption as { recipients?: unknown } | undefined)?.recipients;
  return Array.isArray(list)
    ? list.filter((r) => typeof r === "string" && isAgeRecipient(r)).length
    : 0;
}

/** Describes encryption and visibility for the recording about to start. Never throws. */
export async function backupNote(options: BackupNoteOptions): Promise<BackupNote> {
  const recipients = recipientsOf(options.config);
  const encrypted = recipients > 0
    ? `encrypted (age, ${recipients} recipient${recipients === 1 ? "" : "s"})`
    : "not encrypted";
  const url = options.repoUrl ??
    (typeof options.config.repo_url === "string" ? options.config.repo_url : undefined);
  const githubApi = typeof options.config.github_api === "string"
    ? options.config.github_api
    : undefined;
  if (!url) return { recipients, text: encrypted, warning: null };
  // Where git will really connect (rewrites, ssh aliases), as the daemon's guard checks it.
  const limit = timeoutSignal(options.timeoutMs ?? BACKUP_NOTE_TIMEOUT_MS);
  const route = await routeOf(url, {
    globalConfig: options.paths.gitConfig,
    githubApi,
    signal: limit.signal,
    sshConfig: options.sshConfig,
  }).finally(() => limit.clear());
  if (route.kind === "unknown" && recipients === 0) {
    return {
      recipients,
      text: `${encrypted}; where ${termSafe(displayUrl(url))} leads could not be told ` +
        `(${termSafe(route.error)}): the daemon holds its plaintext chunks until it can`,
      warning: null,
    };
  }
  const repo = route.kind === "github" ? route.repo : undefined;
  if (!repo) return { recipients, text: encrypted, warning: null };
  const name = repoFullName(repo);
  let visibility: Visibility = "unknown";
  let from: "daemon" | "api" | "none" = "none";
  const health = await readHealth(options.paths.health).catch(() => undefined);
  const known = health?.remotes?.[repoSlug({ url, branch: options.branch })]?.visibility;
  if (known && known !== "unknown") {
    visibility = known;
    from = "daemon";
  } else {
    const answer = await fetchVisibility(repo, {
      fetch: options.fetch,
      timeoutMs: options.timeoutMs ?? BACKUP_NOTE_TIMEOUT_MS,
      userAgent: "asciinema-chunker-bootstrap",
    }).catch(() => ({ visibility: "unknown" as const }));
    visibility = answer.visibility;
    from = answer.visibility === "unknown" ? "none" : "api";
  }
  const where = visibility === "unknown"
    ? `GitHub repository ${name} (visibility not known yet)`
    : visibility === "public"
    ? `PUBLIC GitHub repository ${name}`
    : from === "api"
    ? `GitHub repository ${name}, not publicly visible`
    : `private GitHub repository ${name}`;
  const allowed = options.allowPublic === true || options.config.allow_public === true;
  const warning = visibility === "public" && recipients === 0 && !allowed
    ? `WARNING: ${name} is a public GitHub repository: the daemon will not push this ` +
      `recording's plaintext chunks (they stay on this machine). To proceed, ${PUBLIC_FIX}, ` +
      "or record with --allow-public."
    : null;
  return {
    recipients,
    github: { name, visibility, from },
    text: `${encrypted}; ${where}`,
    warning,
  };
}
