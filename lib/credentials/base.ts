/**
 * What every credential backend shares: the secrets the daemon knows, the
 * `CredentialStore` interface, its errors ("no secret stored",
 * {@linkcode CredentialMissingError}, kept apart from "the keyring is locked,
 * missing or unreachable", {@linkcode CredentialUnavailableError}), the
 * messages naming the fix, and the base class: every value read is passed to
 * `registerSecret()`, and every call has a timeout.
 *
 * @module
 */
import { userInfo } from "node:os";
import { errorMessage, registerSecret, run, type RunResult } from "../sys/mod.ts";

export const GITHUB_PAT = "asciinema-github-pat";
/** Service of the Pushover application token. */
export const PUSHOVER_APP = "asciinema-pushover-app";
/** Service of the Pushover user key. */
export const PUSHOVER_USER = "asciinema-pushover-user";
/** Service of the optional ntfy access token. */
export const NTFY_TOKEN = "asciinema-ntfy-token";

/** The secrets the daemon knows, with what each is for and its environment variable. */
export const SECRETS: readonly { service: string; purpose: string; env: string }[] = [
  { service: GITHUB_PAT, purpose: "GitHub token (git push)", env: "ASCIINEMA_GITHUB_PAT" },
  { service: PUSHOVER_APP, purpose: "Pushover app token", env: "ASCIINEMA_PUSHOVER_APP" },
  { service: PUSHOVER_USER, purpose: "Pushover user key", env: "ASCIINEMA_PUSHOVER_USER" },
  { service: NTFY_TOKEN, purpose: "ntfy access token", env: "ASCIINEMA_NTFY_TOKEN" },
];

/** The setup command that stores secrets. */
export const SETUP_COMMAND = "deno task daemon-setup";

/** Environment variable that overrides `credential_store`. */
export const STORE_ENV = "ASCIINEMA_CREDENTIAL_STORE";

/** Default timeout of one credential-store command. */
export const CREDENTIAL_TIMEOUT_MS = 20_000;

/** A concrete backend. */
export type CredentialStoreKind = "keychain" | "secret-service" | "env";

/** What `credential_store` may say. */
export type CredentialStoreSetting = "auto" | CredentialStoreKind;

/** Base class of credential-store errors (messages never contain a secret). */
export class CredentialError extends Error {
  /** The backend. */
  readonly store: CredentialStoreKind;
  /** The service the call was about. */
  readonly service: string;
  /** Creates the error. */
  constructor(store: CredentialStoreKind, service: string, message: string) {
    super(message);
    this.name = "CredentialError";
    this.store = store;
    this.service = service;
  }
}

/** No secret is stored under this service (the store itself works). */
export class CredentialMissingError extends CredentialError {
  /** Creates the error. */
  constructor(store: CredentialStoreKind, service: string, message: string) {
    super(store, service, message);
    this.name = "CredentialMissingError";
  }
}

/**
 * The store could not be asked: keyring locked, no Secret Service or D-Bus
 * session, tool missing, timed out. Not the same as "no secret stored".
 */
export class CredentialUnavailableError extends CredentialError {
  /** Creates the error. */
  constructor(store: CredentialStoreKind, service: string, message: string) {
    super(store, service, message);
    this.name = "CredentialUnavailableError";
  }
}

/** Where a secret is, and whether it is there (never its value). */
export interface SecretDescription {
  /** The service (`asciinema-github-pat`, ...). */
  service: string;
  /** The backend that answered (for `auto` with fallback: where the value was found). */
  store: CredentialStoreKind;
  /** The account the secret is stored under (not meaningful for `env`). */
  account: string;
  /** True when stored, false when absent, null when the store could not be asked. */
  present: boolean | null;
  /** Why the store could not be asked (with the fix). */
  error?: string;
  /** A warning for people, e.g. that the secret lives in the environment. */
  warning?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Abort (shutdown). */
  signal?: AbortSignal;
}

/** One interface over every backend. */
export interface CredentialStore {
  /** The backend (for `auto`: the primary one). */
  readonly kind: CredentialStoreKind;
  /** The account secrets are stored under. */
  readonly account: string;
  /** True when `set` and `delete` are not possible (env). */
  readonly readOnly: boolean;
  /**
   * The secret, or `undefined` when none is stored. Throws
   * {@linkcode CredentialUnavailableError} when the store cannot be asked.
   * The value is registered for redaction.
   */
  get(service: string, options?: CallOptions): Promise<string | undefined>;
  /** Like `get`, but throws {@linkcode CredentialMissingError} (naming the fix) when absent. */
  require(service: string, options?: CallOptions): Promise<string>;
  /** Stores (or replaces) the secret; never passes it in argv. */
  set(service: string, value: string, options?: CallOptions): Promise<void>;
  /** Deletes the secret; returns false when there was none. */
  delete(service: string, options?: CallOptions): Promise<boolean>;
  /** Which store and whether the secret is present; never the value, never throws. */
  describe(service: string, options?: CallOptions): Promise<SecretDescription>;
}

/** A read-only environment (for tests and the `env` backend). */
export interface EnvSource {
  /** Reads a variable. */
  get(key: string): string | undefined;
}

/** The environment variable holding `service` for the `env` backend. */
export function envVarFor(service: string): string {
  const known = SECRETS.find((secret) => secret.service === service);
  if (known) return known.env;
  return "ASCIINEMA_" + service.replace(/^asciinema-/, "").toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

function purposeOf(service: string): string {
  return SECRETS.find((secret) => secret.service === service)?.purpose ?? service;
}

/** The keyring label of a secret. */
export function label(service: string): string {
  return `asciinema-chunker: ${purposeOf(service)}`;
}

function firstLine(text: string): string {
  return text.trim().split("\n").map((line) => line.trim()).filter(Boolean).slice(-2).join(" / ")
    .slice(0, 300);
}

/** The trimmed secret; refuses an empty one or one with a line break or NUL. */
export function checkSecret(store: CredentialStoreKind, service: string, value: string): string {
  const trimmed = value.trim();
  if (!trimmed) throw new CredentialError(store, service, `refusing to store an empty ${service}`);
  if (/[\0\r\n]/.test(trimmed)) {
    throw new CredentialError(
      store,
      service,
      `refusing to store ${service}: it contains a line break or NUL character`,
    );
  }
  return trimmed;
}

/** "No secret stored", with the fix. */
export function missingMessage(
  store: CredentialStoreKind,
  service: string,
  account: string,
): string {
  const what = purposeOf(service);
  if (store === "env") {
    return `no ${what}: ${envVarFor(service)} is not set (credential store env); set it, or ` +
      `choose a keyring with \`${SETUP_COMMAND}\``;
  }
  const where = store === "keychain" ? "the macOS keychain" : "the Secret Service keyring";
  return `no ${what} is stored in ${where} (service ${service}, account ${account}); ` +
    `store one with \`${SETUP_COMMAND}\``;
}

/** A value read: trimmed and registered for redaction; empty is none. */
export function found(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!trimmed) return undefined;
  registerSecret(trimmed);
  return trimmed;
}

/** A failed store command as "the store cannot be asked", with the fix. */
export function unavailableFromResult(
  store: CredentialStoreKind,
  service: string,
  tool: string,
  result: RunResult,
  timeoutMs: number,
): CredentialUnavailableError {
  if (result.code === 127 && !result.timedOut) {
    const install = store === "secret-service"
      ? "install libsecret-tools (secret-tool)"
      : "this backend needs macOS";
    return new CredentialUnavailableError(
      store,
      service,
      `${tool} is not installed: ${install}, or set credential_store to env and use ${
        envVarFor(service)
      }`,
    );
  }
  if (result.timedOut) {
    return new CredentialUnavailableError(
      store,
      service,
      `${tool} did not answer within ${Math.round(timeoutMs / 1000)} s ` +
        `(is the keyring waiting for a password?); unlock it, or run \`${SETUP_COMMAND}\``,
    );
  }
  if (result.aborted) {
    return new CredentialUnavailableError(store, service, `${tool} was stopped (shutdown)`);
  }
  const detail = firstLine(result.stderr) || `exit ${result.code}`;
  if (store === "secret-service") {
    return new CredentialUnavailableError(
      store,
      service,
      `the Secret Service keyring is unavailable (${detail}); it needs a D-Bus session with an ` +
        `unlocked keyring (gnome-keyring, KeePassXC, ...): log in to the desktop session, or run ` +
        `\`${SETUP_COMMAND}\` to choose another store`,
    );
  }
  return new CredentialUnavailableError(store, service, keychainProblem(result.code, detail));
}

/** errSecInteractionNotAllowed: the keychain is locked and may not prompt (exit 36). */
const KEYCHAIN_LOCKED_EXIT = 36;
/** errSecAuthFailed: wrong keychain password, or access denied (exit 51). */
const KEYCHAIN_AUTH_FAILED_EXIT = 51;

function keychainProblem(code: number, detail: string): string {
  const unlock = "`security unlock-keychain ~/Library/Keychains/login.keychain-db`";
  if (code === KEYCHAIN_LOCKED_EXIT || /interaction is not allowed/i.test(detail)) {
    return `the macOS keychain is locked and cannot ask for its password here (${detail}): ` +
      `without a desktop login (an SSH session, or before anyone logged in) it stays locked; ` +
      `log in at the Mac, or run ${unlock} in this session, or run \`${SETUP_COMMAND}\` to ` +
      `use the environment instead`;
  }
  if (code === KEYCHAIN_AUTH_FAILED_EXIT || /passphrase you entered is not correct/i.test(detail)) {
    return `the macOS keychain refused access (${detail}): the keychain password was wrong or ` +
      `access to the item was denied; run ${unlock}, allow access when macOS asks, or run ` +
      `\`${SETUP_COMMAND}\``;
  }
  return `the macOS keychain is unavailable (${detail}); unlock it (security unlock-keychain) ` +
    `or run \`${SETUP_COMMAND}\``;
}

/** Options shared by the backends. */
export interface BackendOptions {
  /** Account (default `$USER`, else the login name). */
  account?: string;
  /** Timeout per command (default {@linkcode CREDENTIAL_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Environment for the tools (default: inherited). Must keep D-Bus / keychain variables. */
  env?: Record<string, string>;
}

/** The account secrets are stored under: `$USER`, else `$LOGNAME`, else the login name. */
export function defaultAccount(env: EnvSource = Deno.env): string {
  const fromEnv = env.get("USER") || env.get("LOGNAME");
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return "user";
  }
}

/**
 * `store.get`, or a {@linkcode CredentialMissingError} whose message names the
 * fix (`hint` is appended, e.g. the environment variable that also works).
 */
export async function requireSecret(
  store: CredentialStore,
  service: string,
  options: CallOptions & { hint?: string } = {},
): Promise<string> {
  const value = await store.get(service, options);
  if (value === undefined) {
    throw new CredentialMissingError(
      store.kind,
      service,
      missingMessage(store.kind, service, store.account) + (options.hint ?? ""),
    );
  }
  return value;
}

/** What every backend shares: account, timeout, `require`, `describe`, `run`. */
export abstract class BaseStore implements CredentialStore {
  abstract readonly kind: CredentialStoreKind;
  readonly account: string;
  readonly readOnly: boolean = false;
  protected timeoutMs: number;
  protected env?: Record<string, string>;

  constructor(options: BackendOptions = {}) {
    this.account = options.account ?? defaultAccount();
    this.timeoutMs = options.timeoutMs ?? CREDENTIAL_TIMEOUT_MS;
    this.env = options.env;
  }

  abstract get(service: string, options?: CallOptions): Promise<string | undefined>;
  abstract set(service: string, value: string, options?: CallOptions): Promise<void>;
  abstract delete(service: string, options?: CallOptions): Promise<boolean>;

  require(service: string, options: CallOptions = {}): Promise<string> {
    return requireSecret(this, service, options);
  }

  async describe(service: string, options: CallOptions = {}): Promise<SecretDescription> {
    const base = { service, store: this.kind, account: this.account };
    try {
      const value = await this.get(service, options);
      return { ...base, present: value !== undefined };
    } catch (error) {
      return { ...base, present: null, error: errorMessage(error) };
    }
  }

  protected run(tool: string, args: string[], stdin?: string, signal?: AbortSignal) {
    return run(tool, { args, stdin, env: this.env, timeoutMs: this.timeoutMs, signal });
  }
}
