/**
 * Daemon settings: `$ASCIINEMA_HOME/config.json` (snake_case keys, optional)
 * with the environment overrides `IDLE_THRESHOLD` and `ZSTD_LEVEL` that the
 * bash version's service definition sets. Unknown keys are kept.
 *
 * @module
 */
import { z } from "zod";
import { Encrypter } from "age-encryption";
import { readJsonIfExists, writeJsonAtomic } from "./atomic.ts";
import { errorMessage, KindedError } from "./errors.ts";
import { branchNameProblem, remoteNameProblem } from "./git_names.ts";
import { isPlainHttpToRemote } from "./host.ts";

/** Default branch for recordings that name none. */
export const DEFAULT_BRANCH = "asciinema-recordings";

const ranges = {
  idle_threshold: "a number of seconds from 0.1 to 86400 (decimals allowed)",
  zstd_level: "a whole number from 1 to 19",
  max_chunk_bytes: "a whole number of bytes from 1024 to 1073741824",
  max_chunk_seconds: "a number of seconds from 1 to 86400",
  retry_max_seconds: "a number of seconds from 1 to 86400",
  scan_interval_seconds: "a number of seconds from 0.5 to 300",
  heartbeat_seconds: "a number of seconds from 1 to 300",
  push_batch_bytes: "a whole number of bytes from 1024 to 1073741824",
  push_timeout_seconds: "a number of seconds from 1 to 3600",
  push_min_bytes_per_second: "a whole number of bytes per second from 256 to 1073741824",
  push_interval_seconds: "a number of seconds from 0 to 3600",
  verify_interval_seconds: "a number of seconds from 1 to 86400",
  credential_store: "one of auto, keychain, secret-service, env",
  branch: "a git branch name (git check-ref-format --branch; not starting with -)",
  repo_url: "a git remote URL or path (not starting with -)",
  encryption: 'an object {"recipients": ["age1…", …]} of one or more X25519 age recipients',
  allow_public: "true or false",
  github_api: "the https:// URL of the GitHub API (GitHub Enterprise: https://HOST/api/v3)",
  github_token_hosts: 'a list of host names (or "host:port") that may receive the GitHub token',
} as const;

/** A host name, or `host:port`, as `github_token_hosts` lists them. */
const TOKEN_HOST =
  /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.?)(?::\d{1,5})?$/;

/** True when `text` is an X25519 age recipient (`age1…`, 62 characters) with a valid checksum. */
export function isAgeRecipient(text: string): boolean {
  if (!/^age1[02-9ac-hj-np-z]{58}$/.test(text)) return false;
  try {
    new Encrypter().addRecipient(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * `encryption` in config.json: chunks and manifests are encrypted with age to
 * these recipients before they leave the machine (changing them applies to
 * new chunks). The daemon needs only these public keys.
 */
const EncryptionSchema = z.looseObject({
  recipients: z.array(z.string().refine(isAgeRecipient, "not an X25519 age recipient (age1…)"))
    .min(1),
});

/** What a notify URL that would go out in clear is told (the key is named before it). */
export const PLAIN_HTTP_NOTIFY = "plain http:// to another machine sends the notices (and a " +
  "token) in clear: use https://, or http:// only to a loopback host (127.0.0.1, ::1, localhost)";

/** An http(s) URL for notices; plain `http://` only to a loopback host. */
function notifyUrl() {
  return z.url({ protocol: /^https?$/ }).refine((url) => !isPlainHttpToRemote(url), {
    message: PLAIN_HTTP_NOTIFY,
  });
}

/**
 * `notify` in config.json: when and where failure notices go. Pushover is
 * used when its app token and user key are in the credential store (unless
 * `pushover.enabled` is false); ntfy when `ntfy.url` is set.
 */
export const NotifySchema = z.looseObject({
  enabled: z.boolean().default(true),
  failure_grace_seconds: z.number().min(0).max(86400).default(120),
  /** Notice when a recording's oldest unpushed byte is this old (pushes stalled while it records). */
  behind_minutes: z.number().min(0.01).max(10080).default(10),
  throttle_minutes: z.number().min(0).max(10080).default(30),
  pushover: z.looseObject({
    enabled: z.boolean().default(true),
    api_url: notifyUrl().default("https://api.pushover.net/1/messages.json"),
    sound: z.string().min(1).optional(),
  }).prefault({}),
  ntfy: z.looseObject({
    url: notifyUrl().optional(),
    tags: z.array(z.string().min(1)).optional(),
  }).prefault({}),
});

/** Parsed `notify` settings (defaults filled in). */
export type NotifySettings = z.infer<typeof NotifySchema>;

/** The schema of config.json. Unknown keys pass through untouched. */
export const SettingsSchema = z.looseObject({
  repo_url: z.string().min(1).refine((url) => !remoteNameProblem(url)).optional(),
  branch: z.string().refine((name) => !branchNameProblem(name)).default(DEFAULT_BRANCH),
  idle_threshold: z.number().min(0.1).max(86400).default(30),
  zstd_level: z.number().int().min(1).max(19).default(3),
  max_chunk_bytes: z.number().int().min(1024).max(1024 ** 3).default(8 * 1024 * 1024),
  /** Chosen from `deno task bench`'s data-at-risk figure (README, Benchmarks). */
  max_chunk_seconds: z.number().min(1).max(86400).default(20),
  retry_max_seconds: z.number().min(1).max(86400).default(300),
  scan_interval_seconds: z.number().min(0.5).max(300).default(15),
  heartbeat_seconds: z.number().min(1).max(300).default(15),
  /** Compressed bytes in one push at most (a push stays short on a slow link). */
  push_batch_bytes: z.number().int().min(1024).max(1024 ** 3).default(64 * 1024 * 1024),
  /** A push's timeout: this, plus its bytes at `push_min_bytes_per_second`. */
  push_timeout_seconds: z.number().min(1).max(3600).default(120),
  /**
   * Chunks cut while output never pauses (size and age cuts) wait up to this
   * long after the remote's last push, so several recordings share one push.
   * Idle, final and `run --once` chunks go at once.
   */
  push_interval_seconds: z.number().min(0).max(3600).default(5),
  /**
   * How often each remote is asked (one `git ls-remote`) whether it still
   * holds what was pushed; a remote that lost it gets it again.
   */
  verify_interval_seconds: z.number().min(1).max(86400).default(300),
  /** The slowest link a push is given time for. */
  push_min_bytes_per_second: z.number().int().min(256).max(1024 ** 3).default(16 * 1024),
  credential_store: z.enum(["auto", "keychain", "secret-service", "env"]).default("auto"),
  notify: NotifySchema.optional(),
  /** age recipients; absent: chunks are plain zstd. */
  encryption: EncryptionSchema.optional(),
  /** Push plaintext chunks to a public GitHub repository too (default: refused). */
  allow_public: z.boolean().default(false),
  /** GitHub API base (default https://api.github.com); its host's remotes are GitHub's too. */
  github_api: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Hosts besides github.com and `github_api`'s that may receive the stored
   * GitHub token (a Gitea or GitLab remote the person chose it for).
   */
  github_token_hosts: z.array(z.string().regex(TOKEN_HOST)).optional(),
});

/** Parsed, validated settings (defaults filled in). */
export type Settings = z.infer<typeof SettingsSchema>;

/** A settings problem: names the key, the value and the allowed range. */
export class SettingsError extends KindedError<"invalid"> {
  /** Creates the error (kind `invalid`: a key holds a value it may not). */
  constructor(message: string) {
    super("invalid", message);
  }
}

function describeIssue(source: string, input: Record<string, unknown>, issue: z.core.$ZodIssue) {
  const key = String(issue.path[0] ?? "");
  const value = JSON.stringify(input[key]);
  const allowed = (ranges as Record<string, string>)[key];
  return allowed
    ? `${source}: ${key} is ${value}; allowed: ${allowed}`
    : `${source}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`;
}

/** Validates raw settings; throws a {@linkcode SettingsError} listing every bad key. */
export function parseSettings(raw: unknown, source = "config.json"): Settings {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SettingsError(`${source}: must be a JSON object, got ${JSON.stringify(raw)}`);
  }
  const result = SettingsSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) =>
      describeIssue(source, raw as Record<string, unknown>, issue)
    );
    throw new SettingsError(lines.join("\n"));
  }
  return result.data;
}

function envNumber(env: { get(key: string): string | undefined }, name: string) {
  const value = env.get(name);
  if (value === undefined || value.trim() === "") return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) {
    const key = name === "IDLE_THRESHOLD" ? "idle_threshold" : "zstd_level";
    throw new SettingsError(
      `environment: ${name} is ${JSON.stringify(value)}; allowed: ${
        (ranges as Record<string, string>)[key]
      }`,
    );
  }
  return number;
}

/** Options for {@linkcode loadSettings}. */
export interface LoadSettingsOptions {
  /** Environment to read overrides from (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
}

/** config.json as read, leniently: every key kept, the valid ones typed. */
export interface ConfigFile {
  /** Where it was read from. */
  path: string;
  /** The file's object as written, unknown keys kept (`{}` when absent, unreadable or no object). */
  raw: Record<string, unknown>;
  /** The file's valid keys over the defaults: a bad key counts as absent. */
  settings: Settings;
  /** Each bad key, naming the key, its value and what is allowed (or that the file is no object). */
  problems: string[];
  /** Why the file could not be read at all (no JSON, no permission); everything else is then empty. */
  error?: Error;
}

/**
 * The one reader of config.json: never throws; what is wrong is in
 * `problems` (per key) and `error` (the file). {@linkcode loadSettings} is
 * its strict form; readers that must work with a broken file take `raw` or
 * `settings`.
 */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  const empty = { path, raw: {}, settings: SettingsSchema.parse({}), problems: [] };
  let parsed: unknown;
  try {
    parsed = (await readJsonIfExists(path)) ?? {};
  } catch (error) {
    return { ...empty, error: error instanceof Error ? error : new Error(errorMessage(error)) };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      ...empty,
      problems: [`${path}: must be a JSON object, got ${JSON.stringify(parsed)}`],
    };
  }
  const raw = parsed as Record<string, unknown>;
  const result = SettingsSchema.safeParse(raw);
  if (result.success) return { path, raw, settings: result.data, problems: [] };
  const problems = result.error.issues.map((issue) => describeIssue(path, raw, issue));
  const valid = { ...raw };
  for (const issue of result.error.issues) delete valid[String(issue.path[0])];
  const retry = SettingsSchema.safeParse(valid);
  return { path, raw, settings: retry.success ? retry.data : empty.settings, problems };
}

/**
 * Loads config.json (absent: defaults) and applies `IDLE_THRESHOLD` and
 * `ZSTD_LEVEL`. Throws a {@linkcode SettingsError} naming key, value and range.
 */
export async function loadSettings(
  configPath: string,
  options: LoadSettingsOptions = {},
): Promise<Settings> {
  const env = options.env ?? Deno.env;
  const file = await readConfigFile(configPath);
  if (file.error instanceof SyntaxError) {
    throw new SettingsError(
      `${configPath}: not valid JSON (${file.error.message}); fix it or delete it to use the defaults`,
    );
  }
  if (file.error) throw file.error;
  if (file.problems.length) throw new SettingsError(file.problems.join("\n"));
  const merged = { ...file.raw };
  const idle = envNumber(env, "IDLE_THRESHOLD");
  if (idle !== undefined) merged.idle_threshold = idle;
  const level = envNumber(env, "ZSTD_LEVEL");
  if (level !== undefined) merged.zstd_level = level;
  return parseSettings(
    merged,
    idle !== undefined || level !== undefined ? "environment" : configPath,
  );
}

/** Merges `patch` into config.json atomically, keeping every other key. */
export async function updateSettings(
  configPath: string,
  patch: Record<string, unknown>,
): Promise<void> {
  const file = await readConfigFile(configPath);
  if (file.error) throw file.error;
  const next = { ...file.raw, ...patch };
  parseSettings(next, configPath);
  await writeJsonAtomic(configPath, next);
}
