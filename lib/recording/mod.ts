/**
 * One recording: its `.json` (`config.ts`), its id (`id.ts`), asciinema's
 * command lines, which remote it goes to (`target.ts`: the one rule,
 * {@linkcode remoteOf}), and `bootstrap.ts`'s work (`record.ts`): the
 * daemon's state before, the recorder, and the backup's progress after.
 *
 * @module
 */
export * from "./asciinema_cli.ts";
export * from "./config.ts";
export * from "./id.ts";
export { buildCli } from "./record_cli.ts";
export { type BootstrapOptions, record } from "./record.ts";
export { remoteOf } from "./target.ts";
export { restoreCommandLine } from "./backup_progress.ts";
