/**
 * What the daemon is doing: the `health.json` document, collecting the status
 * report, rendering it as text, and the log view behind `daemon.ts logs`.
 *
 * @module
 */
export { collectStatus } from "./collect.ts";
export {
  type SecretsHook,
  type ServiceState,
  type ServiceStateHook,
  type StatusReport,
  type Verdict,
} from "./report.ts";
export {
  daemonLiveness,
  type Health,
  readHealth,
  type RecordingHealth,
  type RemoteHealth,
  writeHealth,
} from "./health.ts";
export { type LogEntry, parseLogLine, parseSince, renderLogEntry } from "./log_entry.ts";
export { followLog, type FollowOptions, readLinesBackward, tailLog } from "./log_view.ts";
export { renderStatus } from "./render.ts";
