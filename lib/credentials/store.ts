/**
 * The daemon's credential store: one interface, three backends.
 *
 * - `keychain` (macOS): `security find-generic-password -s <service> -a <account> -w`
 *   reads; writing and deleting run `security -i` with the command on stdin,
 *   so the secret is never in any process's argv.
 * - `secret-service` (Linux): `secret-tool store|lookup|clear` with the
 *   attributes `service <name> account <user>`; the secret goes on stdin.
 * - `env`: `ASCIINEMA_GITHUB_PAT`, `ASCIINEMA_PUSHOVER_APP`,
 *   `ASCIINEMA_PUSHOVER_USER`, `ASCIINEMA_NTFY_TOKEN`; read-only, and flagged
 *   so that `status` can warn that the secret lives in the environment.
 *
 * Chosen by `credential_store` in config.json or `ASCIINEMA_CREDENTIAL_STORE`
 * (the environment wins): `auto` (default) is the keychain on macOS, the
 * Secret Service on Linux when `secret-tool` is installed, else `env`; with a
 * keyring, `auto` falls back to the environment variable when it is set and
 * the keyring has no secret or cannot be reached.
 *
 * "No secret stored" (`get` returns `undefined`, {@linkcode CredentialMissingError})
 * is kept apart from "the keyring is locked, missing or unreachable"
 * ({@linkcode CredentialUnavailableError}). Every value read is passed to
 * `registerSecret()`, and every call has a timeout.
 *
 * @module
 */
import { userInfo } from "node:os";
import { commandExists, registerSecret, run, type RunResult } from "../sys/mod.ts";

/** Service of the daemon's git token. */
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

function label(service: string): string {
  return `asciinema-chunker: ${purposeOf(service)}`;
}

function firstLine(text: string): string {
  return text.trim().split("\n").map((line) => line.trim()).filter(Boolean).slice(-2).join(" / ")
    .slice(0, 300);
}

function checkSecret(store: CredentialStoreKind, service: string, value: string): string {
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

function missingMessage(store: CredentialStoreKind, service: string, account: string): string {
  const what = purposeOf(service);
  if (store === "env") {
    return `no ${what}: ${envVarFor(service)} is not set (credential store env); set it, or ` +
      `choose a keyring with \`${SETUP_COMMAND}\``;
  }
  const where = store === "keychain" ? "the macOS keychain" : "the Secret Service keyring";
  return `no ${what} is stored in ${where} (service ${service}, account ${account}); ` +
    `store one with \`${SETUP_COMMAND}\``;
}

function found(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!trimmed) return undefined;
  registerSecret(trimmed);
  return trimmed;
}

function unavailableFromResult(
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

abstract class BaseStore implements CredentialStore {
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

  async require(service: string, options: CallOptions = {}): Promise<string> {
    const value = await this.get(service, options);
    if (value === undefined) {
      throw new CredentialMissingError(
        this.kind,
        service,
        missingMessage(this.kind, service, this.account),
      );
    }
    return value;
  }

  async describe(service: string, options: CallOptions = {}): Promise<SecretDescription> {
    const base = { service, store: this.kind, account: this.account };
    try {
      const value = await this.get(service, options);
      return { ...base, present: value !== undefined };
    } catch (error) {
      return { ...base, present: null, error: (error as Error).message };
    }
  }

  protected run(tool: string, args: string[], stdin?: string, signal?: AbortSignal) {
    return run(tool, { args, stdin, env: this.env, timeoutMs: this.timeoutMs, signal });
  }
}

/**
 * Quotes one argument for `security -i`, whose line parser (security.c
 * `split_line`) takes a word starting with `"` up to the next unescaped `"`
 * and drops the backslash before any character. Line breaks and NUL cannot
 * be expressed and are refused; a line is at most 4095 bytes.
 */
export function quoteSecurityArg(value: string): string {
  if (/[\0\r\n]/.test(value)) {
    throw new Error("security -i cannot take a line break or NUL inside an argument");
  }
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** The longest line `security -i` reads (MAX_LINE_LEN 4096, minus the terminator). */
export const SECURITY_MAX_LINE = 4095;

/** macOS keychain through `/usr/bin/security`. */
export class KeychainStore extends BaseStore {
  /** `keychain`. */
  readonly kind = "keychain" as const;
  #tool: string;

  /** Creates the backend (`tool`: the `security` command, default `security` on PATH). */
  constructor(options: BackendOptions & { tool?: string } = {}) {
    super(options);
    this.#tool = options.tool ?? "security";
  }

  /** Reads with `security find-generic-password -s <service> -a <account> -w`. */
  async get(service: string, options: CallOptions = {}): Promise<string | undefined> {
    const result = await this.run(
      this.#tool,
      ["find-generic-password", "-s", service, "-a", this.account, "-w"],
      undefined,
      options.signal,
    );
    if (result.success) return found(result.stdout.replace(/\r?\n$/, ""));
    if (isKeychainNotFound(result)) return undefined;
    throw unavailableFromResult(this.kind, service, "security", result, this.timeoutMs);
  }

  /** Writes with `security -i`, the command (and the secret) on stdin. */
  async set(service: string, value: string, options: CallOptions = {}): Promise<void> {
    const secret = checkSecret(this.kind, service, value);
    registerSecret(secret);
    const line = [
      "add-generic-password",
      "-U",
      "-a",
      quoteSecurityArg(this.account),
      "-s",
      quoteSecurityArg(service),
      "-l",
      quoteSecurityArg(label(service)),
      "-w",
      quoteSecurityArg(secret),
    ].join(" ");
    if (new TextEncoder().encode(line).length > SECURITY_MAX_LINE) {
      throw new CredentialError(this.kind, service, `${service} is too long for the keychain`);
    }
    const result = await this.run(this.#tool, ["-i"], line + "\n", options.signal);
    if (!result.success || /returned -?\d+/.test(result.stderr)) {
      throw unavailableFromResult(this.kind, service, "security", failed(result), this.timeoutMs);
    }
  }

  /** Deletes with `security -i` (`delete-generic-password -s <service> -a <account>`). */
  async delete(service: string, options: CallOptions = {}): Promise<boolean> {
    const line = [
      "delete-generic-password",
      "-s",
      quoteSecurityArg(service),
      "-a",
      quoteSecurityArg(this.account),
    ].join(" ");
    const result = await this.run(this.#tool, ["-i"], line + "\n", options.signal);
    if (result.success && !/returned -?\d+/.test(result.stderr)) return true;
    if (isKeychainNotFound(result)) return false;
    throw unavailableFromResult(this.kind, service, "security", failed(result), this.timeoutMs);
  }
}

/** A result treated as failed (security -i may exit 0 after a failed command on old systems). */
function failed(result: RunResult): RunResult {
  return { ...result, success: false, code: result.code === 0 ? 1 : result.code };
}

/** errSecItemNotFound: exit 44, "could not be found in the keychain". */
function isKeychainNotFound(result: RunResult): boolean {
  if (result.timedOut || result.aborted) return false;
  return result.code === 44 || /could not be found/i.test(result.stderr);
}

/** Linux Secret Service through `secret-tool` (libsecret). */
export class SecretServiceStore extends BaseStore {
  /** `secret-service`. */
  readonly kind = "secret-service" as const;
  #tool: string;

  /** Creates the backend (`tool`: the `secret-tool` command, default on PATH). */
  constructor(options: BackendOptions & { tool?: string } = {}) {
    super(options);
    this.#tool = options.tool ?? "secret-tool";
  }

  #attributes(service: string): string[] {
    return ["service", service, "account", this.account];
  }

  /** `secret-tool lookup service <service> account <user>`. */
  async get(service: string, options: CallOptions = {}): Promise<string | undefined> {
    const result = await this.run(
      this.#tool,
      ["lookup", ...this.#attributes(service)],
      undefined,
      options.signal,
    );
    if (result.success) {
      const value = found(result.stdout);
      if (value !== undefined) return value;
    }
    if (result.success || (result.code === 1 && !result.stderr.trim())) {
      // secret-tool says nothing both when there is no such item and when the
      // item is in a locked collection: a search tells them apart.
      await this.#checkLocked(service, options);
      return undefined;
    }
    throw unavailableFromResult(this.kind, service, "secret-tool", result, this.timeoutMs);
  }

  async #checkLocked(service: string, options: CallOptions): Promise<void> {
    const result = await this.run(
      this.#tool,
      ["search", ...this.#attributes(service)],
      undefined,
      options.signal,
    );
    if (!result.success) {
      throw unavailableFromResult(this.kind, service, "secret-tool", result, this.timeoutMs);
    }
    if (/^\[/m.test(result.stdout) || /locked/i.test(result.stderr)) {
      throw new CredentialUnavailableError(
        this.kind,
        service,
        `the Secret Service keyring holding ${service} is locked; unlock it (log in to the ` +
          `desktop session, or unlock the "login" keyring in Seahorse), then the daemon picks the ` +
          `token up by itself`,
      );
    }
  }

  /** `secret-tool store --label=... service <service> account <user>`, the secret on stdin. */
  async set(service: string, value: string, options: CallOptions = {}): Promise<void> {
    const secret = checkSecret(this.kind, service, value);
    registerSecret(secret);
    const result = await this.run(
      this.#tool,
      ["store", `--label=${label(service)}`, ...this.#attributes(service)],
      secret,
      options.signal,
    );
    if (!result.success) {
      throw unavailableFromResult(this.kind, service, "secret-tool", result, this.timeoutMs);
    }
  }

  /** `secret-tool clear service <service> account <user>`; false when nothing was stored. */
  async delete(service: string, options: CallOptions = {}): Promise<boolean> {
    const present = await this.get(service, options);
    if (present === undefined) return false;
    const result = await this.run(
      this.#tool,
      ["clear", ...this.#attributes(service)],
      undefined,
      options.signal,
    );
    if (!result.success) {
      throw unavailableFromResult(this.kind, service, "secret-tool", result, this.timeoutMs);
    }
    return true;
  }
}

/** The environment variables warning shown by `status`. */
export function envWarning(service: string): string {
  return `${service} comes from the environment variable ${
    envVarFor(service)
  }: any process of this user can read it, and it is lost when the service definition changes; ` +
    `prefer a keyring (\`${SETUP_COMMAND}\`)`;
}

/** Read-only store over environment variables (headless machines, CI). */
export class EnvStore extends BaseStore {
  /** `env`. */
  readonly kind = "env" as const;
  /** Always true. */
  override readonly readOnly = true;
  #source: EnvSource;

  /** Creates the backend over `source` (default `Deno.env`). */
  constructor(options: BackendOptions & { source?: EnvSource } = {}) {
    super(options);
    this.#source = options.source ?? Deno.env;
  }

  /** Reads `ASCIINEMA_*`. */
  get(service: string): Promise<string | undefined> {
    return Promise.resolve(found(this.#source.get(envVarFor(service))));
  }

  /** Always throws: the environment is set by the service definition, not by us. */
  set(service: string, _value?: string, _options?: CallOptions): Promise<void> {
    return Promise.reject(
      new CredentialError(
        this.kind,
        service,
        `credential store env is read-only: set ${
          envVarFor(service)
        } in the daemon's environment, or choose a keyring with \`${SETUP_COMMAND}\``,
      ),
    );
  }

  /** Always throws (read-only). */
  delete(service: string, _options?: CallOptions): Promise<boolean> {
    return this.set(service).then(() => false);
  }

  /** Present or not, with the warning that the secret lives in the environment. */
  override async describe(service: string): Promise<SecretDescription> {
    const description = await super.describe(service);
    if (description.present) description.warning = envWarning(service);
    return description;
  }
}

/**
 * `auto` with a keyring: the keyring first; the environment variable when the
 * keyring has nothing or cannot be reached and the variable is set.
 */
export class FallbackStore implements CredentialStore {
  /** The keyring. */
  readonly primary: CredentialStore;
  /** The environment. */
  readonly fallback: EnvStore;

  /** Creates the combination. */
  constructor(primary: CredentialStore, fallback: EnvStore) {
    this.primary = primary;
    this.fallback = fallback;
  }

  /** The keyring's kind. */
  get kind(): CredentialStoreKind {
    return this.primary.kind;
  }

  /** The keyring's account. */
  get account(): string {
    return this.primary.account;
  }

  /** False: writes go to the keyring. */
  get readOnly(): boolean {
    return this.primary.readOnly;
  }

  /** Keyring, else environment. */
  async get(service: string, options: CallOptions = {}): Promise<string | undefined> {
    let value: string | undefined;
    try {
      value = await this.primary.get(service, options);
    } catch (error) {
      const env = await this.fallback.get(service);
      if (env !== undefined) return env;
      throw error;
    }
    return value ?? await this.fallback.get(service);
  }

  /** Like `get`; the missing error names the keyring and the variable. */
  async require(service: string, options: CallOptions = {}): Promise<string> {
    const value = await this.get(service, options);
    if (value === undefined) {
      throw new CredentialMissingError(
        this.kind,
        service,
        `${missingMessage(this.kind, service, this.account)} (or set ${envVarFor(service)})`,
      );
    }
    return value;
  }

  /** Stores in the keyring. */
  set(service: string, value: string, options: CallOptions = {}): Promise<void> {
    return this.primary.set(service, value, options);
  }

  /** Deletes from the keyring. */
  delete(service: string, options: CallOptions = {}): Promise<boolean> {
    return this.primary.delete(service, options);
  }

  /** Where the value would come from. */
  async describe(service: string, options: CallOptions = {}): Promise<SecretDescription> {
    const primary = await this.primary.describe(service, options);
    if (primary.present) return primary;
    const env = await this.fallback.describe(service);
    if (env.present) {
      return {
        ...env,
        warning: primary.error
          ? `${env.warning} (the keyring could not be asked: ${primary.error})`
          : env.warning,
      };
    }
    return primary;
  }
}

/** Options for {@linkcode openCredentialStore}. */
export interface OpenCredentialStoreOptions extends BackendOptions {
  /** `credential_store` from the settings (default `auto`). */
  setting?: string;
  /** Where `ASCIINEMA_CREDENTIAL_STORE` and `ASCIINEMA_*` are read (default `Deno.env`). */
  source?: EnvSource;
  /** Platform (default `Deno.build.os`). */
  os?: string;
  /** Whether `secret-tool` exists (default: looked up on PATH). */
  hasSecretTool?: boolean;
}

/** Parses a store name; throws for anything else. */
export function parseStoreSetting(value: string, from: string): CredentialStoreSetting {
  const normalized = value.trim().toLowerCase();
  if (["auto", "keychain", "secret-service", "env"].includes(normalized)) {
    return normalized as CredentialStoreSetting;
  }
  throw new Error(
    `${from} is ${JSON.stringify(value)}; allowed: auto, keychain, secret-service, env`,
  );
}

/** The backend `auto` picks on this machine. */
export async function autoStoreKind(
  options: { os?: string; hasSecretTool?: boolean } = {},
): Promise<CredentialStoreKind> {
  const os = options.os ?? Deno.build.os;
  if (os === "darwin") return "keychain";
  if (os === "linux") {
    const has = options.hasSecretTool ?? await commandExists("secret-tool");
    if (has) return "secret-service";
  }
  return "env";
}

/**
 * Opens the credential store chosen by `ASCIINEMA_CREDENTIAL_STORE` (wins)
 * or `credential_store` (settings), `auto` by default.
 */
export async function openCredentialStore(
  options: OpenCredentialStoreOptions = {},
): Promise<CredentialStore> {
  const source = options.source ?? Deno.env;
  const fromEnv = source.get(STORE_ENV);
  const setting = fromEnv && fromEnv.trim()
    ? parseStoreSetting(fromEnv, STORE_ENV)
    : parseStoreSetting(options.setting ?? "auto", "credential_store");
  const backend: BackendOptions = {
    account: options.account ?? defaultAccount(source),
    timeoutMs: options.timeoutMs,
    env: options.env,
  };
  const env = new EnvStore({ ...backend, source });
  const kind = setting === "auto" ? await autoStoreKind(options) : setting;
  const primary = kind === "keychain"
    ? new KeychainStore(backend)
    : kind === "secret-service"
    ? new SecretServiceStore(backend)
    : env;
  if (setting === "auto" && primary !== env) return new FallbackStore(primary, env);
  return primary;
}

/** Describes every known secret (the `status` hook); never throws, never reveals a value. */
export function describeSecrets(
  store: CredentialStore,
  options: CallOptions = {},
): Promise<SecretDescription[]> {
  return Promise.all(SECRETS.map(({ service }) => store.describe(service, options)));
}
