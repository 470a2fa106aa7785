/**
 * The guided setup a new user runs once (`deno task daemon-setup`), and its
 * unattended form (`--yes`, or any run whose standard input is not a
 * terminal), as the list of its eight steps (one file each in
 * lib/setup/steps/), each skipped when already done:
 *
 * 1. preflight (lib/setup/preflight.ts);
 * 2. an existing installation: reinstall keeping the credentials, fresh
 *    install (deletes them), or cancel (lib/setup/service.ts);
 * 3. repository (this directory's `origin`, a dedicated
 *    `<owner>/asciinema-recordings`, or any URL) and branch;
 * 4. the GitHub token: masked input, checked with the GitHub API (which also
 *    says whether the repository is public) and a real write check with git
 *    (lib/setup/github.ts);
 * 5. encryption (recommended): a new age key shown once and stored in the
 *    keyring, or an existing recipient, or none;
 * 6. notifications: Pushover or ntfy, with a test notice;
 * 7. chunking presets;
 * 8. install: credentials into the credential store, the orphan branch,
 *    config.json (lib/sys/settings.ts `updateSettings`: atomic, other keys
 *    kept), the service and its first healthy heartbeat.
 *
 * Nothing is written anywhere before step 8, so Ctrl-C at any prompt changes
 * nothing. Secrets are read only from a masked prompt, standard input or
 * the environment, registered for redaction at once, and stored only in the
 * credential store — never in config.json, argv or a log.
 *
 * @module
 */
import { errorMessage } from "../sys/mod.ts";
import {
  EXIT_CANCELLED,
  EXIT_FAILED,
  EXIT_USAGE,
  isPromptCancel,
  SetupCancelled,
  SetupError,
  type SetupFlags,
} from "./answers.ts";
import {
  checkAborted,
  completePlan,
  type Draft,
  openStore,
  readConfig,
  say,
  type SetupContext,
  type SetupRun,
  step,
} from "./context.ts";
import { DEFAULT_GITHUB_API } from "./github.ts";
import {
  apply,
  chunkingStep,
  encryptionStep,
  existingStep,
  notificationsStep,
  preflightStep,
  repositoryStep,
  reviewStep,
  tokenStep,
} from "./steps/mod.ts";
import { unattendedAnswers } from "./unattended.ts";
import { runUninstall } from "./uninstall.ts";

/** One numbered step: its title, and what it does to the draft (or which step to go back to). */
export interface SetupStep {
  /** The name shown as `Step N/8 · <title>`; also what `goto` names. */
  title: string;
  /** Runs the step; returns the title of a step to go back to, or nothing to go on. */
  run(run: SetupRun, draft: Draft): Promise<string | void>;
}

/** Steps 1 to 7, in order; step 8 (install) follows the review. */
export const SETUP_STEPS: readonly SetupStep[] = [
  { title: "Preflight", run: (run) => preflightStep(run) },
  { title: "Existing installation", run: existingStep },
  { title: "Repository", run: repositoryStep },
  { title: "Token", run: async (run, draft) => (await tokenStep(run, draft)) && "Repository" },
  { title: "Encryption", run: encryptionStep },
  { title: "Notifications", run: notificationsStep },
  { title: "Chunking", run: chunkingStep },
];

/** Total number of steps shown in the headers (the seven above and the install). */
const STEP_COUNT = SETUP_STEPS.length + 1;

function interactiveRun(flags: SetupFlags, ctx: SetupContext): boolean {
  return !flags.yes && ctx.io.stdinIsTerminal && ctx.io.prompter !== undefined;
}

/**
 * Runs setup; returns the exit code (0 done, 1 a check failed, 2 a missing
 * or invalid answer, 130 cancelled). Errors are printed, not thrown.
 */
export async function runSetup(flags: SetupFlags, ctx: SetupContext): Promise<number> {
  const print = (line: string) => say(ctx, line);
  try {
    return await setup(flags, ctx);
  } catch (error) {
    if (
      error instanceof SetupCancelled || isPromptCancel(error) ||
      (ctx.signal?.aborted && !(error instanceof SetupError))
    ) {
      print("");
      print("Setup cancelled: nothing was changed.");
      return EXIT_CANCELLED;
    }
    if (error instanceof SetupError) {
      print(`error: ${error.message}`);
      return error.exitCode;
    }
    print(`error: ${errorMessage(error)}`);
    return EXIT_FAILED;
  }
}

/**
 * Runs the steps in order over one draft. A step may send the wizard back
 * (the token step back to the repository when the person wants another one).
 */
export async function runSteps(
  run: SetupRun,
  draft: Draft,
  steps: readonly SetupStep[] = SETUP_STEPS,
): Promise<void> {
  let index = 0;
  while (index < steps.length) {
    const current = steps[index];
    step(run, current.title, { number: index + 1, of: STEP_COUNT });
    const back = await current.run(run, draft);
    checkAborted(run.ctx);
    const target = back ? steps.findIndex((entry) => entry.title === back) : -1;
    index = target >= 0 && target <= index ? target : index + 1;
  }
}

async function setup(flags: SetupFlags, ctx: SetupContext): Promise<number> {
  const env = ctx.env ?? Deno.env;
  const config = await readConfig(ctx.paths);
  const store = await openStore(ctx, config);
  const interactive = interactiveRun(flags, ctx);
  const run: SetupRun = {
    flags,
    ctx,
    env,
    say: (line: string) => say(ctx, line),
    prompter: interactive ? ctx.io.prompter : undefined,
    store,
    config,
    api: flags.githubApi ?? DEFAULT_GITHUB_API,
    apiExplicit: flags.githubApi !== undefined,
    showDefinition: flags.showDefinition === true,
  };
  if (flags.uninstall) return await runUninstall(run);
  const problems = flagProblems(flags);
  if (problems.length) throw new SetupError(problems.join("; "), EXIT_USAGE);
  // Unattended: every answer is known (or missing) before anything slow runs.
  const answers = interactive ? undefined : await unattendedAnswers(run);
  const draft: Draft = { ...answers, fresh: flags.fresh === true };
  await runSteps(run, draft);
  const plan = completePlan(draft);
  await reviewStep(run, plan);
  checkAborted(ctx);
  step(run, "Install", { number: STEP_COUNT, of: STEP_COUNT });
  return await apply(run, plan);
}

/** Flag combinations that make no sense (checked by the CLI before anything runs). */
export function flagProblems(flags: SetupFlags): string[] {
  const problems: string[] = [];
  if (flags.uninstall && (flags.repo || flags.patStdin || flags.fresh)) {
    problems.push("--uninstall takes no setup answers (only --delete-credentials)");
  }
  if (flags.patStdin && flags.ageIdentityStdin) {
    problems.push(
      "--pat-stdin and --age-identity-stdin both read standard input: give the token with " +
        "ASCIINEMA_GITHUB_PAT instead",
    );
  }
  if (flags.deleteCredentials && !flags.uninstall) {
    problems.push("--delete-credentials goes with --uninstall (a fresh install is --fresh)");
  }
  return problems;
}
