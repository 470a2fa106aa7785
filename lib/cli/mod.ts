/**
 * The subcommands of daemon.ts, one file each, and their shared options.
 *
 * @module
 */
export * from "./logs.ts";
export * from "./play.ts";
export * from "./reindex.ts";
export * from "./restore.ts";
export * from "./run.ts";
export * from "./search.ts";
export * from "./serve.ts";
export * from "./service.ts";
export * from "./status.ts";
export * from "./text.ts";
export * from "./options.ts";
export * from "./output.ts";
