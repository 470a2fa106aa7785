/**
 * Cut: bounded cut passes on one handle into the spool (zstd, age), the fingerprint of what was cut,
 * checkpoint writes serialized per generation, and the startup reconciliation of spool and checkpoint.
 *
 * @module
 */
export { loadCheckpoints } from "./checkpoints.ts";
export { takeCutSha256 } from "./cut_hash.ts";
export { cutPass, spoolFileFor } from "./cut_pass.ts";
export { fileIdentityMismatch, fingerprintAt, fingerprintMismatch } from "./identity.ts";
export { digestPathFor, sealSpooledChunk } from "./sealed_chunk.ts";
export { serialStateUpdate, type StateChange, type StateUpdate } from "./state_writer.ts";
