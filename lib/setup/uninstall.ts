/**
 * `setup.ts --uninstall`: removes the service; recordings, spool, clones, logs
 * and config.json stay, and the credentials too unless asked.
 *
 * @module
 */
import { EXIT_FAILED, SetupCancelled } from "./answers.ts";
import type { SetupRun } from "./context.ts";
import { uninstall } from "./service.ts";

/** Runs the uninstall; returns the exit code. */
export async function runUninstall(run: SetupRun): Promise<number> {
  const { ctx, flags } = run;
  if (flags.deleteCredentials && run.prompter) {
    const sure = await run.prompter.confirm(
      "Delete the stored GitHub token and notification keys too?",
      false,
    );
    if (!sure) throw new SetupCancelled();
  }
  run.say("Uninstalling the service …");
  const result = await uninstall({
    paths: ctx.paths,
    env: run.env,
    os: ctx.os,
    say: run.say,
    store: run.store,
    deleteCredentials: flags.deleteCredentials,
  });
  if (!result.stopped) run.say("No daemon was running.");
  if (flags.deleteCredentials) {
    run.say(
      result.deletedCredentials.length
        ? `Deleted from the ${run.store.kind} credential store: ${
          result.deletedCredentials.join(", ")
        }.`
        : "No stored credentials to delete.",
    );
  }
  run.say(
    `Kept: recordings (${ctx.paths.active}, ${ctx.paths.done}), the spool, checkpoints, clones ` +
      `(${ctx.paths.repos}), logs and config.json.`,
  );
  if (!flags.deleteCredentials) {
    run.say("Kept the stored credentials (add --delete-credentials to delete them).");
  }
  for (const problem of result.problems) run.say(`! ${problem}`);
  return result.problems.length ? EXIT_FAILED : 0;
}
