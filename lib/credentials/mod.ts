/**
 * Where secrets live: one interface (base.ts), one backend a file (the macOS
 * keychain, the Secret Service, the environment), the fallback of `auto`,
 * and the store that picks one (missing vs unavailable).
 *
 * @module
 */
export {
  type BackendOptions,
  type CallOptions,
  CredentialError,
  CredentialMissingError,
  type CredentialStore,
  type CredentialStoreKind,
  type CredentialStoreSetting,
  CredentialUnavailableError,
  defaultAccount,
  type EnvSource,
  envVarFor,
  GITHUB_PAT,
  NTFY_TOKEN,
  PUSHOVER_APP,
  PUSHOVER_USER,
  type SecretDescription,
  SECRETS,
  SETUP_COMMAND,
  STORE_ENV,
} from "./base.ts";
export * from "./keychain.ts";
export * from "./secret_service.ts";
export * from "./env.ts";
export * from "./fallback.ts";
export * from "./store.ts";
