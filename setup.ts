#!/usr/bin/env -S deno run --allow-all
/**
 * Guided setup of asciinema-chunker (`deno task daemon-setup`), and its
 * unattended form (`setup.ts --yes --repo URL --pat-stdin ...`). See
 * lib/setup/wizard.ts for the steps and lib/setup/cli.ts for the flags.
 *
 * @module
 */
import { main } from "./lib/setup/cli.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
