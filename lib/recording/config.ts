/**
 * The per-recording config `active/<id>.json`, written by bootstrap.ts
 * before asciinema starts and read by the daemon.
 *
 * Compatible with the bash version's files (`repo_url`, `branch`,
 * `local_repo`, `workspace`, `started`), plus fields of ours:
 * `recorder_pid` (the process that lives exactly as long as the recording:
 * the daemon treats it being gone as the end), `asciinema_version`, `title`
 * and `ended` (ISO time, set when the recording is over so the daemon cuts
 * the final chunk at once). Unknown fields are kept, never rejected. Every
 * field is optional, and `null` reads like absent.
 *
 * Writes are atomic ({@linkcode writeRecordingConfig}) or atomic and
 * exclusive ({@linkcode createRecordingConfig}); content is made with
 * `JSON.stringify`, so any workspace name or title is escaped correctly.
 *
 * @module
 */
import { z } from "zod";
import { branchNameProblem, errorMessage, remoteNameProblem, writeFileAtomic } from "../sys/mod.ts";

const optionalString = z.string().nullish();

/** An optional string that, when given (not empty), passes `problem`. */
function checkedString(problem: (value: string) => string | undefined) {
  return optionalString.refine((value) => !value || !problem(value));
}

/** The schema of `active/<id>.json` (loose: unknown fields pass through). */
const RecordingConfigSchema = z.looseObject({
  /** Where the chunks go; absent: config.json's `repo_url`, else the embedded remote. */
  repo_url: checkedString(remoteNameProblem),
  /** Branch; absent: config.json's `branch`, else `asciinema-recordings`. */
  branch: checkedString(branchNameProblem),
  /** The daemon's local clone for `repo_url` + `branch` (informational). */
  local_repo: optionalString,
  /** Workspace name as given (not sanitized). */
  workspace: optionalString,
  /** When the recording started (ISO). */
  started: optionalString,
  /** The recorder's pid (asciinema); gone means the recording ended. */
  recorder_pid: z.number().int().positive().nullish(),
  /** `asciinema --version` of the recorder, e.g. `2.2.0`. */
  asciinema_version: optionalString,
  /** Title given with `--title`. */
  title: optionalString,
  /** When the recording ended (ISO); `true` is accepted from other writers. */
  ended: z.union([z.string(), z.boolean()]).nullish(),
  /** Push this recording's plaintext chunks to a public GitHub repository too. */
  allow_public: z.boolean().nullish(),
});

/** A parsed per-recording config (unknown fields included). */
export type RecordingConfig = z.infer<typeof RecordingConfigSchema>;

/** What {@linkcode readRecordingConfig} and {@linkcode parseRecordingConfig} return. */
export type RecordingConfigResult =
  | { ok: true; config: RecordingConfig }
  | {
    ok: false;
    /** One line naming the file, the field, what was expected and what was found. */
    error: string;
    /** True when the file does not exist (as opposed to being unreadable or invalid). */
    missing: boolean;
  };

/** Fields whose expectation is their type. */
const TYPED: Record<string, true> = { recorder_pid: true, ended: true, allow_public: true };

const expected: Record<string, string> = {
  repo_url: "a git remote URL or path (not starting with -)",
  branch: "a git branch name (git check-ref-format --branch; not starting with -)",
  recorder_pid: "a positive whole number (a process id)",
  ended: "an ISO time string (or true)",
  allow_public: "true or false",
};

/** Validates an already-parsed JSON value; `source` names it in errors. */
export function parseRecordingConfig(raw: unknown, source: string): RecordingConfigResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      error: `${source}: must be a JSON object, got ${
        Array.isArray(raw) ? "an array" : JSON.stringify(raw)
      }`,
      missing: false,
    };
  }
  const result = RecordingConfigSchema.safeParse(raw);
  if (result.success) return { ok: true, config: result.data };
  const messages = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const value = JSON.stringify((raw as Record<string, unknown>)[key]);
    const wanted = issue.code === "invalid_type" && !(key in TYPED)
      ? "a string"
      : expected[key] ?? "a string";
    return `${key} must be ${wanted}, got ${value}`;
  });
  return { ok: false, error: `${source}: ${messages.join("; ")}`, missing: false };
}

/**
 * Reads and validates a per-recording config. Never throws: a missing file,
 * an unreadable file, malformed JSON or a wrongly typed field comes back as
 * `{ok: false, error}` with a one-line message naming the file and field
 * (`missing` tells the first case apart). The daemon uses this too.
 */
export async function readRecordingConfig(path: string): Promise<RecordingConfigResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound;
    return {
      ok: false,
      error: missing ? `${path}: does not exist` : `${path}: unreadable (${errorMessage(error)})`,
      missing,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: `${path}: not valid JSON (${errorMessage(error)})`,
      missing: false,
    };
  }
  return parseRecordingConfig(raw, path);
}

function serialize(config: RecordingConfig): string {
  return JSON.stringify(config, null, 2) + "\n";
}

/** Writes a per-recording config atomically and durably (0600), replacing any old one. */
export async function writeRecordingConfig(path: string, config: RecordingConfig): Promise<void> {
  await writeFileAtomic(path, serialize(config));
}

/**
 * Creates a per-recording config atomically and exclusively: readers never
 * see a partial file, and it throws `Deno.errors.AlreadyExists` (leaving the
 * existing file alone) when `path` exists. This is how an id is claimed.
 */
export async function createRecordingConfig(path: string, config: RecordingConfig): Promise<void> {
  await writeFileAtomic(path, serialize(config), { exclusive: true });
}

/** Options for {@linkcode updateRecordingConfig} and {@linkcode markRecordingEnded}. */
export interface UpdateRecordingConfigOptions {
  /** The clock for `ended` (default now). */
  now?: Date;
}

/**
 * Reads the config at `path`, applies `patch` (other fields, unknown ones
 * included, are kept) and writes it back atomically. Does nothing and
 * returns the error when the file is missing or invalid: it never creates a
 * config (the daemon may have moved a finished one to done/) and never
 * overwrites one it could not read.
 */
export async function updateRecordingConfig(
  path: string,
  patch: Partial<RecordingConfig>,
): Promise<RecordingConfigResult> {
  const current = await readRecordingConfig(path);
  if (!current.ok) return current;
  const config = { ...current.config, ...patch };
  await writeRecordingConfig(path, config);
  return { ok: true, config };
}

/**
 * Sets `ended` (ISO time) in the config at `path`, keeping every other
 * field, so the daemon cuts the recording's final chunk at once. A config
 * that already says when it ended is left as it is.
 */
export async function markRecordingEnded(
  path: string,
  options: UpdateRecordingConfigOptions = {},
): Promise<RecordingConfigResult> {
  const current = await readRecordingConfig(path);
  if (!current.ok) return current;
  if (typeof current.config.ended === "string" && current.config.ended) return current;
  return await updateRecordingConfig(path, {
    ended: (options.now ?? new Date()).toISOString(),
  });
}
