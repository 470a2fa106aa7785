/**
 * What every setup step shares: the run's context and plan types, and small
 * helpers (redacted output, step headers, config lookups, stored secrets).
 *
 * @module
 */
import {
  type CredentialStore,
  CredentialUnavailableError,
  openCredentialStore,
} from "../credentials/mod.ts";
import { parseRemoteUrl } from "../git/mod.ts";
import {
  errorMessage,
  type HomePaths,
  readRawSettings,
  redact,
  registerSecret,
  termSafe,
} from "../sys/mod.ts";
import { EXIT_USAGE, SetupCancelled, SetupError, type SetupFlags } from "./answers.ts";
import { repoNameOf } from "../git/mod.ts";
import type { Prompter } from "./prompter.ts";

export interface SetupIo {
  /** A line to standard output (already redacted by the caller). */
  say(line: string): void;
  /** Prompts; undefined in unattended runs. */
  prompter?: Prompter;
  /** True when standard input is a terminal. */
  stdinIsTerminal: boolean;
  /** Reads standard input's first line (for `--pat-stdin`). */
  readStdin(): Promise<string>;
  /** Reads standard input to its end (for `--age-identity-stdin`; default: `readStdin`). */
  readStdinText?(): Promise<string>;
}

/** Everything setup needs from its surroundings. */
export interface SetupContext {
  /** Home layout. */
  paths: HomePaths;
  /** Environment (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /** The directory setup runs in (its git `origin` is a repository choice). */
  cwd: string;
  /** Input and output. */
  io: SetupIo;
  /** Opens the credential store (default {@linkcode openCredentialStore} with config.json's setting). */
  openStore?: (setting?: string) => Promise<CredentialStore>;
  /** `fetch` for the GitHub API and the test notice (tests). */
  fetch?: typeof fetch;
  /** Aborted on Ctrl-C outside a prompt. */
  signal?: AbortSignal;
  /** Platform (default `Deno.build.os`). */
  os?: string;
}

/** What setup will do (filled by steps 2 to 6, applied by step 7). */
export interface SetupPlan {
  /** Delete the stored credentials first. */
  fresh: boolean;
  /** Repository URL as it goes into config.json. */
  repoUrl: string;
  /** Branch. */
  branch: string;
  /** The token to push with (new or stored); undefined for remotes without one. */
  token?: string;
  /** True when `token` is new and goes into the credential store. */
  storeToken: boolean;
  /** The token's GitHub user, when known. */
  login?: string;
  /** True when the branch already exists on the remote. */
  branchExists?: boolean;
  /** `notify.pushover.enabled`. */
  pushover: boolean;
  /** New Pushover secrets to store. */
  pushoverSecrets?: { app: string; user: string };
  /** `notify.pushover.api_url` to write (undefined: keep). */
  pushoverApi?: string;
  /** `notify.ntfy.url`: a URL, null to remove it, undefined to keep it. */
  ntfyUrl?: string | null;
  /** Idle threshold (s). */
  idle: number;
  /** zstd level. */
  zstd: number;
  /** What the GitHub API said of the repository's visibility, when asked. */
  visibility?: "public" | "private" | "unknown";
  /** `encryption.recipients`: recipients to write, null to turn encryption off, undefined to keep. */
  recipients?: string[] | null;
  /** A new age identity to store in the credential store (service `asciinema-age-identity`). */
  ageIdentity?: string;
}

/** One run of setup: its flags, surroundings, store and config, shared by the steps. */
export interface SetupRun {
  flags: SetupFlags;
  ctx: SetupContext;
  env: { get(key: string): string | undefined };
  say: (line: string) => void;
  prompter?: Prompter;
  store: CredentialStore;
  config: Record<string, unknown>;
  api: string;
  apiExplicit: boolean;
  showDefinition: boolean;
}

/**
 * One line to the person, redacted, every control in it escaped (`termSafe`:
 * URLs, answers and error text from outside are data). Multi-line text of
 * our own is said line by line.
 */
export function say(ctx: SetupContext, line = ""): void {
  ctx.io.say(termSafe(redact(line)));
}

/** A step's header: `Step N/M · title`. */
export function step(run: SetupRun, title: string, place: { number: number; of: number }): void {
  run.say("");
  run.say(`Step ${place.number}/${place.of} · ${title}`);
}

/** Throws {@linkcode SetupCancelled} once Ctrl-C was pressed outside a prompt. */
export function checkAborted(ctx: SetupContext): void {
  if (ctx.signal?.aborted) throw new SetupCancelled();
}

/** Reads config.json for setup: a broken file is an error naming the fix. */
export async function readConfig(paths: HomePaths): Promise<Record<string, unknown>> {
  try {
    return await readRawSettings(paths.config);
  } catch (error) {
    throw new SetupError(
      `${paths.config} is not valid JSON (${errorMessage(error)}); fix it or move it away, ` +
        `then run setup again`,
    );
  }
}

/** A non-empty string setting of config.json. */
export function configString(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  return typeof value === "string" && value.trim() ? value : undefined;
}

/** A finite number setting of config.json. */
export function configNumber(config: Record<string, unknown>, key: string): number | undefined {
  const value = config[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The first non-blank line, trimmed. */
export function firstLine(text: string): string {
  return text.split(/\r?\n/).map((line) => line.trim()).find(Boolean) ?? "";
}

/** The repository as config.json keeps it (GitHub SSH forms become HTTPS, credentials dropped). */
export function normalizeRepo(url: string): string {
  return parseRemoteUrl(url).url;
}

/** True when pushing to this remote needs a token. */
export function needsToken(url: string): boolean {
  return parseRemoteUrl(url).needsToken;
}

/** True when the GitHub API check applies to this remote. */
export function apiApplies(run: SetupRun, url: string): boolean {
  const parsed = parseRemoteUrl(url);
  if (!parsed.needsToken || !repoNameOf(url)) return false;
  return run.apiExplicit || parsed.github;
}

/** Reads a stored secret (registered for redaction); an unreadable store is a setup error. */
export async function storedSecret(run: SetupRun, service: string): Promise<string | undefined> {
  try {
    const value = await run.store.get(service);
    if (value) registerSecret(value);
    return value;
  } catch (error) {
    if (error instanceof CredentialUnavailableError) {
      throw new SetupError(`the credential store cannot be read: ${error.message}`);
    }
    throw error;
  }
}

/** Opens the credential store config.json names (or the one the context provides). */
export async function openStore(ctx: SetupContext, config: Record<string, unknown>) {
  const setting = configString(config, "credential_store");
  try {
    return ctx.openStore
      ? await ctx.openStore(setting)
      : await openCredentialStore({ setting, source: ctx.env ?? Deno.env });
  } catch (error) {
    throw new SetupError(`credential store: ${errorMessage(error)}`, EXIT_USAGE);
  }
}

/** The plan as the steps fill it in: complete once step 6 is done. */
export type Draft = Partial<SetupPlan> & { fresh: boolean };

/** The draft as a plan; throws when a step left out a required answer (a bug). */
export function completePlan(draft: Draft): SetupPlan {
  const missing = (["repoUrl", "branch", "idle", "zstd", "pushover"] as const)
    .filter((key) => draft[key] === undefined);
  if (missing.length) throw new Error(`setup: no answer for ${missing.join(", ")}`);
  return { storeToken: false, ...draft } as SetupPlan;
}
