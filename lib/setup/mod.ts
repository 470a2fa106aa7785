/**
 * The guided setup and its unattended form: the answers, preflight, GitHub
 * checks, service install, the prompter and the wizard as a list of steps.
 *
 * @module
 */
export * from "./answers.ts";
export { readStdinLine, setupCommand, STDIN_TIMEOUT_MS } from "./cli.ts";
export * from "./github.ts";
export * from "./preflight.ts";
export * from "./service.ts";
export * from "./wizard.ts";
