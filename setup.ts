#!/usr/bin/env -S deno run --allow-all
/**
 * Guided setup of asciinema-chunker (`deno task daemon-setup`), and its
 * unattended form (`setup.ts --yes --repo URL --pat-stdin ...`). See
 * lib/setup_wizard.ts for the steps and lib/setup_cli.ts for the flags.
 *
 * @module
 */
import { main } from "./lib/setup_cli.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
