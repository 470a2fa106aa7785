/**
 * What one chunk is: the asciicast header and newline rules, deterministic chunk
 * names, per-generation checkpoints, and streaming zstd compression.
 *
 * @module
 */
export * from "./asciicast.ts";
export * from "./chunk_name.ts";
export * from "./chunk_sum.ts";
export * from "./state.ts";
export * from "./zstd.ts";
