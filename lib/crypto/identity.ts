/**
 * Finding the age identity that decrypts recordings, for everything that
 * reads chunks (`restore`, `verify`, `list`): `--identity FILE` (age's
 * identity file format: `AGE-SECRET-KEY-1…` lines, `#` comments), else the
 * environment variable `ASCIINEMA_AGE_IDENTITY` (the identity itself, or the
 * path of an identity file), else the credential store (service
 * `asciinema-age-identity`). Looked up only when something encrypted is met,
 * so plain recordings never touch the keyring. Identities are registered for
 * redaction and never appear in a message.
 *
 * @module
 */
import { Decrypter } from "age-encryption";
import { errorMessage, KindedError, registerSecret } from "../sys/mod.ts";

/** Credential-store service of the age identity. */
export const AGE_IDENTITY = "asciinema-age-identity";

/** Environment variable with the identity (or the path of an identity file). */
export const AGE_IDENTITY_ENV = "ASCIINEMA_AGE_IDENTITY";

/** Why no identity is at hand: `missing` (none given or stored), `invalid` (not an identity file). */
export type IdentityErrorKind = "missing" | "invalid";

/** No usable identity; the message names `--identity` and the other ways. */
export class IdentityError extends KindedError<IdentityErrorKind> {}

/** The ways to give an identity, for messages. */
export const IDENTITY_HINT = "pass --identity FILE (an age identity file: AGE-SECRET-KEY-1… " +
  `lines), set ${AGE_IDENTITY_ENV}, or store it with \`deno task daemon-setup\``;

const IDENTITY = /^AGE-SECRET-KEY-1[0-9A-Z]+$/;

function usable(identity: string): boolean {
  try {
    new Decrypter().addIdentity(identity);
    return true;
  } catch {
    return false;
  }
}

/**
 * The identities of an age identity file (`#` comments and blank lines
 * skipped). Throws an `invalid` {@linkcode IdentityError} naming the line,
 * never its content.
 */
export function parseIdentityFile(text: string, source: string): string[] {
  const identities: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (!IDENTITY.test(line) || !usable(line)) {
      throw new IdentityError(
        "invalid",
        `${source}, line ${index + 1}: not an age X25519 identity (AGE-SECRET-KEY-1…)`,
      );
    }
    registerSecret(line);
    identities.push(line);
  }
  if (identities.length === 0) {
    throw new IdentityError("invalid", `${source} holds no identity (AGE-SECRET-KEY-1… lines)`);
  }
  return identities;
}

/** Options for {@linkcode Identities}. */
export interface IdentitiesOptions {
  /** `--identity FILE`. */
  file?: string;
  /** Environment (default `Deno.env`). */
  env?: { get(key: string): string | undefined };
  /**
   * Reads the stored identity (service {@linkcode AGE_IDENTITY}); undefined
   * when none is stored. Throws when the store cannot be asked.
   */
  stored?: () => Promise<string | undefined>;
}

/**
 * The identities for decryption, found on first use and then kept. `get()`
 * throws an {@linkcode IdentityError} naming `--identity` when none is found.
 */
export class Identities {
  #options: IdentitiesOptions;
  #found?: Promise<{ identities: string[]; source: string }>;

  /** Creates the finder; nothing is read yet. */
  constructor(options: IdentitiesOptions = {}) {
    this.#options = options;
  }

  /** The identities (looked up on the first call). */
  async get(): Promise<string[]> {
    return (await this.#lookup()).identities;
  }

  /** Where the identities came from (for messages), after a successful `get()`. */
  async source(): Promise<string> {
    return (await this.#lookup()).source;
  }

  #lookup(): Promise<{ identities: string[]; source: string }> {
    this.#found ??= this.#find();
    return this.#found;
  }

  async #find(): Promise<{ identities: string[]; source: string }> {
    const { file } = this.#options;
    if (file) return { identities: await readIdentityFile(file, "--identity"), source: file };
    const fromEnv = (this.#options.env ?? Deno.env).get(AGE_IDENTITY_ENV)?.trim();
    if (fromEnv) {
      if (fromEnv.startsWith("AGE-SECRET-KEY-")) {
        return {
          identities: parseIdentityFile(fromEnv, AGE_IDENTITY_ENV),
          source: AGE_IDENTITY_ENV,
        };
      }
      return {
        identities: await readIdentityFile(fromEnv, AGE_IDENTITY_ENV),
        source: `${AGE_IDENTITY_ENV} (${fromEnv})`,
      };
    }
    let stored: string | undefined;
    let why = "";
    try {
      stored = await this.#options.stored?.();
    } catch (error) {
      why = ` (the credential store could not be asked: ${errorMessage(error)})`;
    }
    if (stored) {
      const source = `the credential store (${AGE_IDENTITY})`;
      return { identities: parseIdentityFile(stored, source), source };
    }
    throw new IdentityError(
      "missing",
      `the recording is encrypted (age) and no identity was found${why}: ${IDENTITY_HINT}`,
    );
  }
}

async function readIdentityFile(path: string, what: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new IdentityError(
      "missing",
      `${what} ${path} cannot be read (${errorMessage(error)}): ${IDENTITY_HINT}`,
    );
  }
  return parseIdentityFile(text, path);
}
