/**
 * `auto` with a keyring: the keyring first, the environment variable when the
 * keyring has nothing or cannot be reached.
 *
 * @module
 */
import {
  type CallOptions,
  type CredentialStore,
  type CredentialStoreKind,
  envVarFor,
  requireSecret,
  type SecretDescription,
} from "./base.ts";
import { EnvStore } from "./env.ts";

/**
 * `auto` with a keyring: the keyring first; the environment variable when the
 * keyring has nothing or cannot be reached and the variable is set.
 */
export class FallbackStore implements CredentialStore {
  /** The keyring. */
  readonly primary: CredentialStore;
  /** The environment. */
  readonly fallback: EnvStore;

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
  require(service: string, options: CallOptions = {}): Promise<string> {
    return requireSecret(this, service, { ...options, hint: ` (or set ${envVarFor(service)})` });
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
