/**
 * The guided setup and its unattended form: the answers, preflight, GitHub
 * checks, service install, the prompter and the wizard as a list of steps
 * (`steps/`, one file each).
 *
 * @module
 */
export * from "./answers.ts";
export {} from "./cli.ts";
export type { Draft, SetupContext, SetupIo, SetupPlan, SetupRun } from "./context.ts";
export * from "./git_access.ts";
export * from "./github.ts";
export * from "./preflight.ts";
export { type Choice, inquirerPrompter, type Prompter } from "./prompter.ts";
export * from "./service.ts";
export { runSetup, runSteps, type SetupStep } from "./wizard.ts";
