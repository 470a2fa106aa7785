/**
 * Where secrets live: one interface (base.ts), one backend a file (the macOS
 * keychain, the Secret Service, the environment), the fallback of `auto`,
 * and the store that picks one (missing vs unavailable).
 *
 * @module
 */
export {
  CredentialError,
  CredentialMissingError,
  type CredentialStore,
  CredentialUnavailableError,
  envVarFor,
  GITHUB_PAT,
  NTFY_TOKEN,
  PUSHOVER_APP,
  PUSHOVER_USER,
  type SecretDescription,
  SECRETS,
  SETUP_COMMAND,
} from "./base.ts";
export { KeychainStore, quoteSecurityArg } from "./keychain.ts";
export { SecretServiceStore } from "./secret_service.ts";
export { EnvStore, envWarning } from "./env.ts";
export { FallbackStore } from "./fallback.ts";
export { autoStoreKind, describeSecrets, openCredentialStore, StoreSettingError } from "./store.ts";
