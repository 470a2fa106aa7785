/**
 * Encryption at rest: age encryption to X25519 recipients (chunks and
 * manifests, before they leave the machine) and finding the identity that
 * decrypts them again.
 *
 * @module
 */
export {
  decryptBytes,
  DecryptError,
  decryptStream,
  encryptBytes,
  encryptStream,
  isX25519Recipient,
  newIdentity,
  recipientOf,
  recipientShown,
} from "./age.ts";
export { MAX_AGE_HEADER_BYTES, MAX_AGE_STANZAS, scanAgeHeader } from "./age_header.ts";
export {
  AGE_IDENTITY,
  AGE_IDENTITY_ENV,
  Identities,
  IdentityError,
  keyFromEnvValue,
  parseIdentityFile,
} from "./identity.ts";
