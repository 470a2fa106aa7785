/**
 * Setup's answers: the flags of `setup.ts`, the errors it exits with, the
 * chunking presets and the validation of each answer. Shared by the prompt
 * flow (lib/setup/wizard.ts) and its unattended form, so both accept
 * exactly the same values.
 *
 * @module
 */
import { parseRemoteUrl, RemoteUrlError } from "../git/mod.ts";
import {
  branchNameProblem,
  isPlainHttpToRemote,
  KindedError,
  PLAIN_HTTP_NOTIFY,
} from "../sys/mod.ts";

/** The flags of `setup.ts` (commander's parsed options). */
export interface SetupFlags {
  /** Unattended: never prompt; a missing answer is an error naming its flag. */
  yes?: boolean;
  /** Repository URL. */
  repo?: string;
  /** Branch (default `asciinema-recordings`). */
  branch?: string;
  /** GitHub API base URL (default https://api.github.com). */
  githubApi?: string;
  /** Read the GitHub token from standard input. */
  patStdin?: boolean;
  /** age recipients (`age1…`) to encrypt the chunks to (repeatable). */
  ageRecipient?: string[];
  /** Read an age identity from standard input: it is stored, and its recipient used. */
  ageIdentityStdin?: boolean;
  /** False with `--no-pushover`. */
  pushover?: boolean;
  /** Pushover endpoint (default https://api.pushover.net/1/messages.json). */
  pushoverApi?: string;
  /** ntfy topic URL. */
  ntfy?: string;
  /** Idle threshold in seconds (5–3600). */
  idle?: number;
  /** zstd level (1–19). */
  zstd?: number;
  /** False with `--no-service`: write the settings, install no service. */
  service?: boolean;
  /** Run the service detached whatever the platform (containers, tests). */
  detach?: boolean;
  /** False with `--no-compile`: use a current binary or `deno run`, never compile. */
  compile?: boolean;
  /** Print the service definition before installing it. */
  showDefinition?: boolean;
  /** Fresh install: delete the stored credentials first. */
  fresh?: boolean;
  /** Stop and remove the service instead of setting up. */
  uninstall?: boolean;
  /** With `--uninstall`: delete the stored credentials too. */
  deleteCredentials?: boolean;
}

/** Exit code of a failed check (bad token, no push access, missing tool). */
export const EXIT_FAILED = 1;
/** Exit code of a usage problem (a missing or invalid answer). */
export const EXIT_USAGE = 2;
/** Exit code after Ctrl-C. */
export const EXIT_CANCELLED = 130;

/** Why setup stopped: `failed`, or `missing-answer` (a flag was needed and not given). */
export type SetupErrorKind = "failed" | "missing-answer";

/** A problem that ends setup with a message and an exit code. */
export class SetupError extends KindedError<SetupErrorKind> {
  readonly exitCode: number;
  /** Creates the error (kind `failed`) that ends setup with `exitCode`. */
  constructor(message: string, exitCode: number = EXIT_FAILED) {
    super("failed", message);
    this.exitCode = exitCode;
  }
}

/** Standard input is not a terminal (or `--yes`) and an answer was not given: names the flag. */
export class MissingAnswerError extends SetupError {
  /** Always `missing-answer`. */
  override readonly kind = "missing-answer";
  /** The flag (or variable) that gives the answer. */
  readonly flag: string;
  constructor(flag: string, what: string) {
    super(
      `setup needs ${what}: pass ${flag}. Setup does not prompt when standard input is not a ` +
        `terminal or --yes is given.`,
      EXIT_USAGE,
    );
    this.flag = flag;
  }
}

/** The person pressed Ctrl-C. */
export class SetupCancelled extends KindedError<"cancelled"> {
  /** Creates the error (kind `cancelled`). */
  constructor(message = "setup cancelled") {
    super("cancelled", message);
  }
}

/** True for the errors @inquirer/prompts throws on Ctrl-C or abort. */
export function isPromptCancel(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === "ExitPromptError" || name === "AbortPromptError" ||
    name === "CancelPromptError";
}

/** A chunking preset. */
export interface ChunkingPreset {
  /** Name shown in the menu. */
  name: "default" | "fast" | "compact";
  /** Idle threshold in seconds. */
  idle: number;
  /** zstd level. */
  zstd: number;
  /** What it means. */
  description: string;
}

/** The chunking presets (step 6). */
export const CHUNKING_PRESETS: readonly ChunkingPreset[] = [
  {
    name: "default",
    idle: 30,
    zstd: 3,
    description: "a chunk after 30 s without output, zstd level 3",
  },
  {
    name: "fast",
    idle: 15,
    zstd: 1,
    description: "a chunk after 15 s without output, zstd level 1 (least CPU)",
  },
  {
    name: "compact",
    idle: 60,
    zstd: 6,
    description: "a chunk after 60 s without output, zstd level 6 (smallest)",
  },
];

/** Allowed idle thresholds in setup. */
const IDLE_RANGE = { min: 5, max: 3600 } as const;
/** Allowed zstd levels. */
const ZSTD_RANGE = { min: 1, max: 19 } as const;

/** Validates an idle threshold: true or the problem. */
export function checkIdle(value: number): true | string {
  if (!Number.isFinite(value) || value < IDLE_RANGE.min || value > IDLE_RANGE.max) {
    return `the idle threshold must be a number of seconds from ${IDLE_RANGE.min} to ${IDLE_RANGE.max}`;
  }
  return true;
}

/** Validates a zstd level: true or the problem. */
export function checkZstd(value: number): true | string {
  if (!Number.isInteger(value) || value < ZSTD_RANGE.min || value > ZSTD_RANGE.max) {
    return `the zstd level must be a whole number from ${ZSTD_RANGE.min} to ${ZSTD_RANGE.max}`;
  }
  return true;
}

/** Validates a branch name (git's rules, lib/sys/git_names.ts): true or the problem. */
export function checkBranch(value: string): true | string {
  return branchNameProblem(value.trim()) ?? true;
}

/** Validates a repository URL: true or the problem (never contains credentials). */
export function checkRepoUrl(value: string): true | string {
  try {
    const parsed = parseRemoteUrl(value);
    if (parsed.kind === "local" && !/^(?:file:\/\/)?\//.test(parsed.url)) {
      return "a local repository must be an absolute path";
    }
    return true;
  } catch (error) {
    if (error instanceof RemoteUrlError) return error.message;
    throw error;
  }
}

/** Validates an ntfy topic URL: true or the problem. */
export function checkNtfyUrl(value: string): true | string {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return "the ntfy URL must start with https://";
    }
    if (isPlainHttpToRemote(url.href)) return `notify.ntfy.url: ${PLAIN_HTTP_NOTIFY}`;
    if (url.pathname.replace(/\/+$/, "") === "") {
      return "the ntfy URL needs a topic: https://ntfy.sh/<topic>";
    }
    return true;
  } catch {
    return `${JSON.stringify(value)} is not a URL (https://ntfy.sh/<topic>)`;
  }
}

/** Validates an http(s) URL (the Pushover endpoint): true or the problem. */
export function checkHttpUrl(value: string): true | string {
  try {
    const url = new URL(value.trim());
    if (isPlainHttpToRemote(url.href)) return `notify.pushover.api_url: ${PLAIN_HTTP_NOTIFY}`;
    if (url.protocol === "https:" || url.protocol === "http:") return true;
  } catch {
    // below
  }
  return `${JSON.stringify(value)} is not an http(s) URL`;
}

/** Throws a usage error unless `check` passed. */
export function requireValid(flag: string, check: true | string): void {
  if (check !== true) throw new SetupError(`${flag}: ${check}`, EXIT_USAGE);
}
