/**
 * The text of recordings: rendering output through a terminal emulator, the
 * committed text index (format, building, reading), search across every
 * recording of the known remotes (or local `.cast` files), and following a
 * recording for playback.
 *
 * @module
 */
export * from "./bounded_regex.ts";
export * from "./branch_text.ts";
export * from "./codec.ts";
export * from "./events.ts";
export * from "./index_build.ts";
export * from "./index_format.ts";
export * from "./lines.ts";
export * from "./local_text.ts";
export * from "./match.ts";
export * from "./render.ts";
export * from "./search.ts";
export * from "./remotes.ts";
export * from "./reindex.ts";
export * from "./playback.ts";
export * from "./follow.ts";
