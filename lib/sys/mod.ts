/**
 * Process-level plumbing every other folder builds on: external commands with
 * timeouts, atomic private writes, the home layout, process liveness, fs helpers,
 * the package's errors, logging with redaction, formatting, and `config.json`.
 *
 * @module
 */
export {
  backoffMs,
  delay,
  nextRetry,
  type Retry,
  serially,
  waitUntil,
  withTimeout,
} from "./async.ts";
export {
  fsyncDir,
  isTempName,
  readJsonIfExists,
  tempPathFor,
  writeFileAtomic,
  writeJsonAtomic,
} from "./atomic.ts";
export { BlockWriter, type ByteSink, writeFully } from "./block_writer.ts";
export { concatBytes } from "./bytes.ts";
export { type Clock, steadyWall, systemClock, wallAt } from "./clock.ts";
export { errorMessage, KindedError } from "./errors.ts";
export {
  CommandError,
  type CommandErrorKind,
  commandExists,
  commandFailureKind,
  failureDetail,
  findAllOnPath,
  findOnPath,
  run,
  type RunResult,
  timeoutSignal,
} from "./exec.ts";
export { exists, statOrNull, walkFiles } from "./fs.ts";
export { branchNameProblem, remoteNameProblem } from "./git_names.ts";
export { clipText, formatBytes, formatDuration, shellQuote } from "./format.ts";
export { isLoopbackHost, isPlainHttpToRemote, normalizeHost } from "./host.ts";
export { consoleLevelFor, log, OnceLog, setupLogging, shutdownLogging } from "./log.ts";
export { numberOption } from "./number_option.ts";
export { ensureHome, ensurePrivateDir, type HomePaths, homePaths, resolveHome } from "./paths.ts";
export { disableCoreDumps, pidAlive } from "./process.ts";
export { redact, REDACTED, registerSecret } from "./redact.ts";
export {
  type ConfigFile,
  DEFAULT_BRANCH,
  isAgeRecipient,
  loadSettings,
  NotifySchema,
  type NotifySettings,
  parseSettings,
  PLAIN_HTTP_NOTIFY,
  readConfigFile,
  type Settings,
  SettingsError,
  SettingsSchema,
  updateSettings,
} from "./settings.ts";
export { killSession, runGranted, spawnInSession } from "./session_spawn.ts";
export { printLine, termSafe } from "./terminal_text.ts";
