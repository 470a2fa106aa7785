/**
 * The macOS keychain backend: `security find-generic-password -s <service> -a
 * <account> -w` reads; writing and deleting run `security -i` with the command
 * on stdin, so the secret is never in any process's argv.
 *
 * @module
 */
import { registerSecret, type RunResult } from "../sys/mod.ts";
import {
  type BackendOptions,
  BaseStore,
  type CallOptions,
  checkSecret,
  CredentialError,
  found,
  label,
  unavailableFromResult,
} from "./base.ts";

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
const SECURITY_MAX_LINE = 4095;

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
