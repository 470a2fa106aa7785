/**
 * Between steps 6 and 7: the summary of what setup will do and, in a
 * terminal, the question whether to apply it.
 *
 * @module
 */
import { displayUrl } from "../../git/mod.ts";
import { SetupCancelled } from "../answers.ts";
import type { SetupPlan, SetupRun } from "../context.ts";
import { encryptionSummary } from "./encryption.ts";

/** Prints what setup is about to do. */
function summarize(run: SetupRun, plan: SetupPlan): void {
  run.say("");
  run.say("Summary:");
  run.say(`  repository     ${displayUrl(plan.repoUrl)}, branch ${plan.branch}`);
  if (plan.token) {
    run.say(
      `  token          ${plan.login ? `${plan.login}'s, ` : ""}${
        plan.storeToken
          ? `to be stored in the ${run.store.kind} credential store`
          : "already stored"
      }`,
    );
  }
  const notices = [
    plan.pushover ? "Pushover" : undefined,
    plan.ntfyUrl ? `ntfy ${plan.ntfyUrl}` : undefined,
  ].filter(Boolean);
  run.say(`  encryption     ${encryptionSummary(run, plan)}`);
  run.say(`  notifications  ${notices.length ? notices.join(", ") : "none"}`);
  run.say(`  chunking       ${plan.idle} s idle, zstd level ${plan.zstd}`);
  run.say(
    `  service        ${
      run.flags.service === false
        ? "not installed (--no-service)"
        : run.flags.detach
        ? "detached"
        : "installed and started"
    }`,
  );
  if (plan.fresh) run.say("  fresh install  the stored credentials are deleted first");
}

/** The review: interactive runs may show the service definition and must confirm. */
export async function reviewStep(run: SetupRun, plan: SetupPlan): Promise<void> {
  const { prompter, flags } = run;
  if (prompter && flags.service !== false && !flags.detach && !run.showDefinition) {
    run.showDefinition = await prompter.confirm(
      "Show the service definition (launchd plist or systemd unit) before installing it?",
      false,
    );
  }
  summarize(run, plan);
  if (prompter && !(await prompter.confirm("Apply these settings?", true))) {
    throw new SetupCancelled();
  }
}
