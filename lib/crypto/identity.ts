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
const IDENTITY_HINT = "pass --identity FILE (an age identity file: AGE-SECRET-KEY-1… " +
  `lines), set ${AGE_IDENTITY_ENV}, or store it with \`deno task daemon-setup\``;

const IDENTITY = /^AGE-SECRET-KEY-1[0-9A-Z]+$/;

/** The start of a key, in whatever case. */
const KEY_LIKE = /^age-secret-key-/i;

/**
 * The identity text in an environment value written another way, as people
 * paste it: surrounding whitespace, quotes (`"AGE-…"`, `'AGE-…'` from a
 * `.env` file), a whole `export ASCIINEMA_AGE_IDENTITY=AGE-…` line, lower
 * case (Bech32 is case-insensitive). Returns undefined for a value that
 * names no key (a path). Whether the result is a usable key is
 * {@linkcode parseIdentityFile}'s to say.
 */
export function keyFromEnvValue(value: string): string | undefined {
  let text = value.trim();
  const assignment = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*/.exec(text);
  if (assignment) text = text.slice(assignment[0].length).trim();
  text = text.replace(/;$/, "").trim();
  for (const quote of ['"', "'"]) {
    if (text.length >= 2 && text.startsWith(quote) && text.endsWith(quote)) {
      text = text.slice(1, -1).trim();
    }
  }
  const lines = text.split(/\r?\n/);
  const first = lines.find((line) => line.trim() && !line.trim().startsWith("#"))?.trim();
  if (!first || !KEY_LIKE.test(first)) return undefined;
  return lines.map((line) => KEY_LIKE.test(line.trim()) ? line.trim().toUpperCase() : line)
    .join("\n");
}

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
    if (fromEnv) return { identities: await identitiesFromEnv(fromEnv), source: AGE_IDENTITY_ENV };
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

/**
 * The identities of `ASCIINEMA_AGE_IDENTITY`: a key in any of the forms of
 * {@linkcode keyFromEnvValue}, else the path of an identity file. Messages
 * name the variable, never its value (a key mangled beyond recognition is
 * still a key).
 */
async function identitiesFromEnv(value: string): Promise<string[]> {
  const key = keyFromEnvValue(value);
  if (key !== undefined) {
    registerSecret(value);
    for (const line of key.split("\n")) registerSecret(line);
    try {
      return parseIdentityFile(key, AGE_IDENTITY_ENV);
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      throw new IdentityError(
        "invalid",
        `${AGE_IDENTITY_ENV} holds something like a key, but not a usable age X25519 identity ` +
          `(AGE-SECRET-KEY-1…, 74 characters): set it to the key alone, or to the path of an ` +
          `identity file`,
      );
    }
  }
  const text = await identityText(
    value,
    (error) =>
      `${AGE_IDENTITY_ENV} is neither an age identity (AGE-SECRET-KEY-1…) nor the path of a ` +
      `readable identity file (${fileProblem(error)})`,
  );
  return parseIdentityFile(text, `the file ${AGE_IDENTITY_ENV} names`);
}

/** An identity file's text; else a `missing` {@linkcode IdentityError}: `problem(error)` and the hint. */
async function identityText(path: string, problem: (error: unknown) => string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new IdentityError("missing", `${problem(error)}: ${IDENTITY_HINT}`);
  }
}

/** Why a file could not be read, without its path (which Deno's messages carry). */
function fileProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "a directory";
  return error instanceof Error ? error.name : "unreadable";
}

async function readIdentityFile(path: string, what: string): Promise<string[]> {
  const text = await identityText(
    path,
    (error) => `${what} ${path} cannot be read (${errorMessage(error)})`,
  );
  return parseIdentityFile(text, path);
}
