/**
 * Process-level plumbing every other folder builds on: external commands with
 * timeouts, atomic private writes, the home layout, process liveness, fs helpers,
 * the package's errors, logging with redaction, formatting, and `config.json`.
 *
 * @module
 */
export * from "./async.ts";
export * from "./atomic.ts";
export * from "./bytes.ts";
export * from "./clock.ts";
export * from "./errors.ts";
export * from "./exec.ts";
export * from "./fs.ts";
export * from "./git_names.ts";
export * from "./format.ts";
export * from "./host.ts";
export * from "./log.ts";
export * from "./number_option.ts";
export * from "./paths.ts";
export * from "./process.ts";
export * from "./redact.ts";
export * from "./settings.ts";
export * from "./terminal_text.ts";
