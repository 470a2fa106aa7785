/**
 * Step 1, preflight: the tools the daemon needs, each with how to install it.
 *
 * @module
 */
import { SetupError } from "../answers.ts";
import { missingRequired, preflight, renderPreflight } from "../preflight.ts";
import type { SetupRun } from "../context.ts";

/** Step 1: prints the checks; a missing required tool stops setup with the install command. */
export async function preflightStep(run: SetupRun): Promise<void> {
  const checks = await preflight({ os: run.ctx.os });
  for (const line of renderPreflight(checks)) run.say(line);
  const missing = missingRequired(checks);
  if (missing.length) {
    throw new SetupError(
      `install ${missing.map((check) => check.name).join(" and ")} first (${
        missing.map((check) => check.install).join("; ")
      }), then run setup again`,
    );
  }
}
