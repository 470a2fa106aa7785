/**
 * Running the daemon under the OS: the service backend choice, what a service
 * runs (binary or `deno run`), compile, the permission list, the pidfile,
 * detached start, daemon startup, macOS refusals and the service stamp.
 * The launchd/ and systemd/ drivers stay at the top level.
 *
 * @module
 */
export { serviceState, startService, stopService } from "./backend.ts";
export {
  type Backend,
  chooseBackend,
  definitionPath,
  serviceDefinition,
  type StartOutcome,
} from "./base.ts";
export {
  binaryIsCurrent,
  buildInfoPath,
  compileCommand,
  DENORT_HINT,
  resolveProgram,
  sourceFingerprint,
} from "./compile.ts";
export { prepareDaemon, STDERR_KEEP_BYTES, trimLogFile } from "./daemon_startup.ts";
export { detachedArgv, REDIRECT_SCRIPT } from "./detach.ts";
export {
  ALLOW_PROTECTED_ENV,
  protectedFolderOf,
  protectedFolderProblem,
} from "./macos_preflight.ts";
export {
  DAEMON_ENV_VARS,
  daemonPermissionFlags,
  daemonRunPaths,
  daemonTools,
  missingNetPermissions,
  notifyHosts,
  permissionsForHome,
  toolLookupPaths,
} from "./permissions.ts";
export { claimPidfile, inspectPidfile, releasePidfile } from "./pidfile.ts";
export { binaryPath, DENO_CONFIG, type ServiceSpec } from "./program.ts";
