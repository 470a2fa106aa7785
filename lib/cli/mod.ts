/**
 * The subcommands of daemon.ts, one file each, and their shared options.
 *
 * @module
 */
export { logsCommand, runLogs } from "./logs.ts";
export { playCommand } from "./play.ts";
export { reindexCommand } from "./reindex.ts";
export { identitiesFor, listCommand, restoreCommand, verifyCommand } from "./restore.ts";
export { runCommand } from "./run.ts";
export { searchCommand } from "./search.ts";
export { serveCommand } from "./serve.ts";
export { serviceCommand, startCommand, stopCommand } from "./service.ts";
export { statusCommand } from "./status.ts";
export { textCommand } from "./text.ts";

export { EXIT_USAGE, exitWith, printFatal, printLine } from "./output.ts";
