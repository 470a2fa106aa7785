/**
 * The guided setup and its unattended form: the answers, preflight, GitHub
 * checks, service install, the prompter and the wizard as a list of steps
 * (`steps/`, one file each).
 *
 * @module
 */
export {
  checkBranch,
  checkHttpUrl,
  checkIdle,
  checkNtfyUrl,
  checkZstd,
  EXIT_USAGE,
  SetupCancelled,
  type SetupFlags,
} from "./answers.ts";

export type { Draft, SetupRun } from "./context.ts";
export { checkPushAccess, ensureBranch } from "./git_access.ts";
export { checkGitHubToken } from "./github.ts";
export { preflight } from "./preflight.ts";
export { type Choice, type Prompter } from "./prompter.ts";
export { describeExisting, detectExisting, existingFound, uninstall } from "./service.ts";
export { runSetup, runSteps, type SetupStep } from "./wizard.ts";
export { setupCommand } from "./cli.ts";
