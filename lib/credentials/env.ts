/**
 * The `env` backend: `ASCIINEMA_GITHUB_PAT`, `ASCIINEMA_PUSHOVER_APP`,
 * `ASCIINEMA_PUSHOVER_USER`, `ASCIINEMA_NTFY_TOKEN`; read-only, and flagged so
 * that `status` can warn that the secret lives in the environment.
 *
 * @module
 */
import {
  type BackendOptions,
  BaseStore,
  type CallOptions,
  CredentialError,
  type EnvSource,
  envVarFor,
  found,
  type SecretDescription,
  SETUP_COMMAND,
} from "./base.ts";

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
