/**
 * The Linux Secret Service backend: `secret-tool store|lookup|clear` with the
 * attributes `service <name> account <user>`; the secret goes on stdin.
 *
 * @module
 */
import { registerSecret } from "../sys/mod.ts";
import {
  type BackendOptions,
  BaseStore,
  type CallOptions,
  checkSecret,
  CredentialUnavailableError,
  found,
  label,
  unavailableFromResult,
} from "./base.ts";

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
