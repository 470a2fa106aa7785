/**
 * One recording: its `.json` (`config.ts`), its id (`id.ts`), asciinema's
 * command lines, which remote it goes to (`target.ts`: the one rule,
 * {@linkcode remoteOf}), and `bootstrap.ts`'s work (`record.ts`): the
 * daemon's state before, the recorder, and the backup's progress after.
 *
 * @module
 */
export {
  buildRecArgs,
  captureInputFlag,
  detectAsciinema,
  parseAsciinemaVersion,
} from "./asciinema_cli.ts";
export {
  createRecordingConfig,
  markRecordingEnded,
  parseRecordingConfig,
  readRecordingConfig,
  type RecordingConfig,
  writeRecordingConfig,
} from "./config.ts";
export {
  allocateRecordingId,
  FALLBACK_WORKSPACE,
  formatIdTimestamp,
  isRecordingId,
  makeRecordingId,
  type RandomSource,
  recordingIdProblem,
  sanitizeWorkspace,
} from "./id.ts";
export { buildCli } from "./record_cli.ts";
export { record } from "./record.ts";
export { remoteOf } from "./target.ts";
export { restoreCommandLine } from "./backup_progress.ts";
