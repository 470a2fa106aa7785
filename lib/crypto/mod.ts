/**
 * Encryption at rest: age encryption to X25519 recipients (chunks and
 * manifests, before they leave the machine) and finding the identity that
 * decrypts them again.
 *
 * @module
 */
export * from "./age.ts";
export * from "./age_header.ts";
export * from "./identity.ts";
