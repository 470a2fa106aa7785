/**
 * Reading a branch back on any machine: the branch source (which remote, which
 * clone), the chunk stream (decrypting age chunks), restore, verify, and the
 * remote look-up.
 *
 * @module
 */
export * from "./chunk_stream.ts";
export * from "./recording_bytes.ts";
export * from "./remote_lookup.ts";
export * from "./restore.ts";
export * from "./restore_stream.ts";
export * from "./source.ts";
export * from "./layout.ts";
export * from "./verify.ts";
