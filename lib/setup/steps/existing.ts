/**
 * Step 2, an existing installation: reinstall keeping the credentials, fresh
 * install (deletes them), or cancel.
 *
 * @module
 */
import { SetupCancelled } from "../answers.ts";
import { describeExisting, detectExisting, existingFound } from "../service.ts";
import type { Draft, SetupRun } from "../context.ts";

/** Step 2: sets `draft.fresh` (from `--fresh` or the person's choice). */
export async function existingStep(run: SetupRun, draft: Draft): Promise<void> {
  const { ctx, flags } = run;
  const existing = await detectExisting({
    paths: ctx.paths,
    env: run.env,
    os: ctx.os,
    store: run.store,
  });
  if (!existingFound(existing)) {
    run.say("  nothing found: a first installation");
    return;
  }
  for (const line of describeExisting(existing)) run.say(`  ${line}`);
  if (run.prompter && !flags.fresh) {
    const choice = await run.prompter.select("An earlier installation was found:", [
      { name: "Reinstall, keeping the stored credentials", value: "keep" },
      { name: "Fresh install: delete the stored credentials and start over", value: "fresh" },
      { name: "Cancel (nothing is changed)", value: "cancel" },
    ]);
    if (choice === "cancel") throw new SetupCancelled();
    draft.fresh = choice === "fresh";
    return;
  }
  run.say(
    draft.fresh
      ? "Fresh install (--fresh): stored credentials are deleted first."
      : "Reinstalling, keeping the stored credentials.",
  );
}
