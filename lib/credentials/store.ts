/**
 * Opening the credential store: `credential_store` in config.json or
 * `ASCIINEMA_CREDENTIAL_STORE` (the environment wins) picks a backend; `auto`
 * (default) is the keychain on macOS, the Secret Service on Linux when
 * `secret-tool` is installed, else `env`; with a keyring, `auto` falls back to
 * the environment variable when it is set and the keyring has no secret or
 * cannot be reached (see fallback.ts).
 *
 * @module
 */
import { commandExists, KindedError } from "../sys/mod.ts";
import {
  type BackendOptions,
  type CallOptions,
  type CredentialStore,
  type CredentialStoreKind,
  type CredentialStoreSetting,
  defaultAccount,
  type EnvSource,
  type SecretDescription,
  SECRETS,
  STORE_ENV,
} from "./base.ts";
import { EnvStore } from "./env.ts";
import { FallbackStore } from "./fallback.ts";
import { KeychainStore } from "./keychain.ts";
import { SecretServiceStore } from "./secret_service.ts";

/** Service of the daemon's git token. */
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

/** A store name that is not one: the message names the setting (`from`), not the value. */
export class StoreSettingError extends KindedError<"setting"> {
  /** Creates the error (kind `setting`: the setting names no store). */
  constructor(message: string) {
    super("setting", message);
  }
}

/**
 * Parses a store name; throws a {@linkcode StoreSettingError} for anything
 * else. The value is quoted only when it looks like a misspelt name (letters
 * and dashes): a token pasted into the wrong variable is never printed.
 */
function parseStoreSetting(value: string, from: string): CredentialStoreSetting {
  const normalized = value.trim().toLowerCase();
  if (["auto", "keychain", "secret-service", "env"].includes(normalized)) {
    return normalized as CredentialStoreSetting;
  }
  const shown = /^[A-Za-z-]{1,24}$/.test(value.trim()) ? ` (${JSON.stringify(value.trim())})` : "";
  throw new StoreSettingError(
    `${from} is not a credential store name${shown}; allowed: auto, keychain, secret-service, env`,
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
