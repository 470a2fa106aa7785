/**
 * Running the daemon under the OS: the service backend choice, what a service
 * runs (binary or `deno run`), compile, the permission list, the pidfile,
 * detached start, daemon startup, macOS refusals and the service stamp.
 * The launchd/ and systemd/ drivers stay at the top level.
 *
 * @module
 */
export * from "./backend.ts";
export {
  type Backend,
  buildSpec,
  chooseBackend,
  type DefinitionOptions,
  definitionPath,
  type ServiceDefinition,
  serviceDefinition,
  type ServiceOptions,
  type StartOptions,
  type StartOutcome,
  type StopOutcome,
} from "./base.ts";
export {
  binaryIsCurrent,
  type BuildInfo,
  buildInfoPath,
  type CommandLine,
  compileCommand,
  type CompileCommandOptions,
  type CompileOptions,
  type CompileResult,
  DENORT_HINT,
  resolveProgram,
  type ResolveProgramOptions,
  sourceFingerprint,
} from "./compile.ts";
export * from "./daemon_startup.ts";
export * from "./detach.ts";
export * from "./macos_preflight.ts";
export * from "./permissions.ts";
export * from "./pidfile.ts";
export * from "./program.ts";
export * from "./stamp.ts";
