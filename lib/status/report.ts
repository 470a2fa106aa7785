/**
 * The `status` report: its document (also printed by `status --json`) and
 * the hooks that feed it (service manager, credential store).
 *
 * @module
 */
import { type Health } from "./health.ts";
import { errorMessage, type HomePaths, readConfigFile, type Settings } from "../sys/mod.ts";
import { describeSecrets, openCredentialStore, SECRETS } from "../credentials/mod.ts";

/** Version of the `status --json` document. */
export const STATUS_SCHEMA_VERSION = 1;

/** What the service manager reports (the hook of the service backends, issue 5). */
export interface ServiceState {
  /** A service definition is installed (LaunchAgent, systemd unit, detached pidfile). */
  installed: boolean;
  /** The manager says the daemon is running. */
  running: boolean;
  /** The daemon's pid, when the manager knows it. */
  pid?: number;
  /** `launchd`, `systemd`, `detached`, ... */
  manager: string;
  /** One line from the manager (last exit status, ...). */
  detail?: string;
}

/** Asks the service manager; `undefined` when no manager applies. */
export type ServiceStateHook = () => Promise<ServiceState | undefined>;

/** Whether one secret is stored, and where (never its value). */
export interface SecretPresence {
  /** Credential-store service name (`asciinema-github-pat`, ...). */
  service: string;
  /** True when stored, false when absent, null when it could not be checked. */
  present: boolean | null;
  /** `keychain`, `secret-service` or `env` (null when absent or unknown). */
  store: string | null;
  /** Why it could not be checked (locked keyring, ...). */
  error?: string;
}

/** Checks which secrets are stored (the credential store's hook, issue 3). */
export type SecretsHook = () => Promise<SecretPresence[]>;

/** The default hook: asks the configured credential store (never reveals a value). */
export function credentialStoreSecretsHook(paths: HomePaths): SecretsHook {
  return async () => {
    const { raw } = await readConfigFile(paths.config);
    const setting = typeof raw.credential_store === "string" ? raw.credential_store : undefined;
    try {
      return await describeSecrets(await openCredentialStore({ setting }));
    } catch (error) {
      return SECRETS.map(({ service }) => ({
        service,
        present: null,
        store: null,
        error: errorMessage(error),
      }));
    }
  };
}

/** Overall verdict; the exit code follows from it. */
export type Verdict = "healthy" | "degraded" | "not_running";

/** The `status --json` document (see README "Status JSON"). */
export interface StatusReport {
  /** {@linkcode STATUS_SCHEMA_VERSION}. */
  schema: number;
  /** When the report was made (ISO). */
  generated_at: string;
  /** healthy (exit 0), degraded (exit 1), not_running (exit 2). */
  verdict: Verdict;
  /** The exit code of `status`. */
  exit_code: 0 | 1 | 2;
  /** Why it is degraded or not running (empty when healthy). */
  problems: string[];
  /** Commands worth running next. */
  next_steps: string[];
  /** The service and the process. */
  service: {
    /** Manager name, or `none`. */
    manager: string;
    /** Installed as a service. */
    installed: boolean;
    /** Running (see the module doc for the rule). */
    running: boolean;
    /** Where `running` came from: the service manager or health.json. */
    source: "manager" | "health";
    /** The daemon's pid, when known. */
    pid: number | null;
    /** Whether that pid is alive (null when there is none). */
    pid_alive: boolean | null;
    /** Manager detail line, or null. */
    detail: string | null;
  };
  /** From health.json (nulls when it is absent). */
  daemon: {
    /** health.json exists and parses. */
    health_found: boolean;
    /** status in health.json. */
    status: Health["status"] | null;
    /** message in health.json. */
    message: string | null;
    /** Last heartbeat (ISO). */
    heartbeat: string | null;
    /** Its age in seconds. */
    heartbeat_age_seconds: number | null;
    /** Older than three heartbeat intervals. */
    heartbeat_stale: boolean;
    /** Seconds between heartbeats. */
    heartbeat_interval_seconds: number;
    /** When the daemon started (ISO). */
    started_at: string | null;
    /** Last successful push (ISO). */
    last_push: string | null;
    /** Chunks pushed over the daemon's lifetime. */
    chunks_pushed: number;
    /** The most recent error, or null. */
    last_error: string | null;
  };
  /** config.json problem, or null. */
  config_error: string | null;
  /** Recordings still being recorded (or held / in error). */
  recordings: RecordingStatus[];
  /** Recordings that ended and wait to be fully pushed and moved to done/. */
  finished_waiting: RecordingStatus[];
  /** Remotes by clone key. */
  remotes: RemoteStatus[];
  /** Which secrets are stored and where; never values. */
  secrets: SecretStatus[];
  /** Notification backends. */
  notifiers: NotifierStatus[];
  /** The last 5 log lines, rendered (no colour). */
  log_tail: string[];
}

/** One recording in the report. */
export interface RecordingStatus {
  /** Recording id. */
  id: string;
  /** Chunk folder id. */
  chunk_id: string;
  /** recording | ended | held | error. */
  state: string;
  /** Size of the .cast file (bytes). */
  size: number;
  /** Bytes cut into chunks. */
  cut_offset: number;
  bytes_pushed: number;
  /** Bytes not yet pushed (size - pushed). */
  bytes_pending: number;
  /** Chunks waiting in the spool. */
  spool_chunks: number;
  /** Compressed bytes waiting in the spool. */
  spool_bytes: number;
  /** When the oldest unpushed byte was seen (ISO), or null. */
  oldest_pending_at: string | null;
  /** Its age in seconds, or null. */
  oldest_pending_age_seconds: number | null;
  /** Remote URL (no credentials). */
  remote: string;
  branch: string;
  /** Last problem, or null. */
  last_error: string | null;
}

/** One remote in the report. */
export interface RemoteStatus {
  /** Clone key (slug). */
  key: string;
  /** URL (no credentials). */
  url: string;
  branch: string;
  /** Last successful push (ISO) or null. */
  last_push: string | null;
  /** Last error or null. */
  last_error: string | null;
  /** auth | network | remote | conflict | config | disk | input, or null. */
  error_kind: string | null;
  /** Failing since (ISO) or null. */
  failing_since: string | null;
  /** Seconds failing, or null. */
  failing_seconds: number | null;
  /** Next attempt (ISO) or null. */
  next_retry_at: string | null;
  /** Chunks waiting. */
  queued_chunks: number;
  /** A GitHub repository's visibility as the API last said (absent: not asked). */
  visibility?: "public" | "private" | "unknown";
}

/** One secret in the report. */
export interface SecretStatus extends SecretPresence {
  /** What it is for. */
  purpose: string;
  /** A warning for people (environment store), or null. */
  warning: string | null;
}

/** One notifier in the report. */
export interface NotifierStatus {
  /** `pushover` or `ntfy`. */
  name: string;
  /** True when it will be used; null when its secrets could not be checked. */
  configured: boolean | null;
  /** Where it sends, or what is missing. */
  detail: string;
}

/** Options for {@linkcode collectStatus}. */
export interface StatusOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Settings (default: loaded from config.json). */
  settings?: Settings;
  /** Clock in milliseconds (default `Date.now()`). */
  now?: number;
  /** Service manager hook (issue 5); default: none installed. */
  serviceState?: ServiceStateHook;
  /** Credential store hook (issue 3); default: environment only. */
  secrets?: SecretsHook;
  /** Process liveness check (default: /proc or `kill -0`). */
  pidAlive?: (pid: number) => Promise<boolean>;
  /**
   * True when pushing to a remote URL needs a token (lib/git's rule, given by
   * the caller: lib/status sits below lib/git). Default: every remote does.
   */
  remoteNeedsToken?: (url: string) => boolean;
  /** Environment (default `Deno.env`): secrets kept there count as set up. */
  env?: { get(key: string): string | undefined };
}
