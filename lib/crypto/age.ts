/**
 * age encryption (the `age-encryption` package, written by age's author):
 * chunks and manifests are encrypted to X25519 recipients (`age1…`), the
 * kind Debian's `age` 1.1 reads too, so `age -d -i key.txt CHUNK | zstd -d`
 * restores a chunk with standard tools. The daemon only ever holds the
 * public recipients; decryption (restore, verify, list) takes identities.
 *
 * @module
 */
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { errorMessage, isAgeRecipient, KindedError, registerSecret } from "../sys/mod.ts";
import { boundedAgeStream, scanAgeHeader } from "./age_header.ts";

/**
 * Why something could not be decrypted: `no-match` (encrypted to other
 * recipients), `corrupt` (the ciphertext was damaged or is not age).
 */
export type DecryptErrorKind = "no-match" | "corrupt";

/** A ciphertext that the identities at hand cannot decrypt. */
export class DecryptError extends KindedError<DecryptErrorKind> {}

/** True when `text` is an X25519 age recipient with a valid checksum. */
export const isX25519Recipient: (text: string) => boolean = isAgeRecipient;

/**
 * A value that should have been a recipient, as a message may show it: its
 * start when it looks like a public key (`age1…`), else nothing of it (it
 * may be the secret key, pasted into the wrong place).
 */
export function recipientShown(value: string): string {
  const text = value.trim();
  if (/^age-secret-key-/i.test(text)) return "an age identity (the secret key, not its recipient)";
  return /^age1[0-9a-z]*$/i.test(text) ? `${text.slice(0, 20)}…` : "the value given";
}

function encrypterFor(recipients: readonly string[]): Encrypter {
  if (recipients.length === 0) throw new Error("encryption needs at least one recipient");
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  return encrypter;
}

/** Encrypts a byte stream to `recipients` (streamed: 64 KiB at a time). */
export async function encryptStream(
  input: ReadableStream<Uint8Array>,
  recipients: readonly string[],
): Promise<ReadableStream<Uint8Array>> {
  return await encrypterFor(recipients).encrypt(input);
}

/** Encrypts `bytes` to `recipients`. */
export async function encryptBytes(
  bytes: Uint8Array,
  recipients: readonly string[],
): Promise<Uint8Array> {
  return await encrypterFor(recipients).encrypt(bytes);
}

function decrypterFor(identities: readonly string[]): Decrypter {
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  return decrypter;
}

function headerError(error: unknown): DecryptError {
  const message = errorMessage(error);
  if (/no identity matched/i.test(message)) {
    return new DecryptError(
      "no-match",
      "it is encrypted to other recipients than the identity given",
      { cause: error },
    );
  }
  return new DecryptError("corrupt", `it is not a readable age file (${message})`, {
    cause: error,
  });
}

/**
 * Decrypts an age stream with `identities`, block by block. The header is
 * read first (a {@linkcode DecryptError} `no-match` or `corrupt` before any
 * block); damage further on throws a `corrupt` one where it is met.
 */
export async function* decryptStream(
  input: ReadableStream<Uint8Array>,
  identities: readonly string[],
): AsyncGenerator<Uint8Array> {
  const bounded = await boundedAgeStream(input);
  if ("refused" in bounded) throw new DecryptError("corrupt", bounded.refused);
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypterFor(identities).decrypt(bounded.stream);
  } catch (error) {
    throw headerError(error);
  }
  const reader = plain.getReader();
  try {
    while (true) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        throw new DecryptError("corrupt", `it is damaged (${errorMessage(error)})`, {
          cause: error,
        });
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Decrypts `bytes` (a small file such as a manifest) with `identities`. */
export async function decryptBytes(
  bytes: Uint8Array,
  identities: readonly string[],
): Promise<Uint8Array> {
  const verdict = scanAgeHeader(bytes);
  if (typeof verdict === "object") throw new DecryptError("corrupt", verdict.refused);
  let decrypter: Decrypter;
  try {
    decrypter = decrypterFor(identities);
  } catch (error) {
    throw headerError(error);
  }
  try {
    return await decrypter.decrypt(bytes);
  } catch (error) {
    const shaped = headerError(error);
    if (shaped.kind === "no-match") throw shaped;
    throw new DecryptError("corrupt", `it is damaged (${errorMessage(error)})`, {
      cause: error,
    });
  }
}

/** A new X25519 identity (`AGE-SECRET-KEY-1…`) and its recipient (`age1…`). */
export async function newIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  registerSecret(identity);
  return { identity, recipient: await identityToRecipient(identity) };
}

/** The recipient (`age1…`) of an identity. */
export async function recipientOf(identity: string): Promise<string> {
  return await identityToRecipient(identity);
}
