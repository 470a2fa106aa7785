#!/usr/bin/env -S deno run --allow-all
/**
 * Guided setup of asciinema-chunker (`deno task daemon-setup`), and its
 * unattended form (`setup.ts --yes --repo URL --pat-stdin ...`). See
 * lib/setup/wizard.ts for the steps and lib/setup/cli.ts for the flags.
 *
 * @module
 */
import { main } from "./lib/setup/cli.ts";
import { printFatal } from "./lib/cli/output.ts";

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    code = printFatal(error, "setup"); // one line, never a stack trace
  }
  Deno.exit(code);
}
