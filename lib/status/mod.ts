/**
 * What the daemon is doing: the `health.json` document, collecting the status
 * report, rendering it as text, and the log view behind `daemon.ts logs`.
 *
 * @module
 */
export * from "./collect.ts";
export * from "./report.ts";
export * from "./health.ts";
export * from "./log_entry.ts";
export * from "./log_view.ts";
export * from "./render.ts";
