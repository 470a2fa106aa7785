/**
 * `deno task daemon`: runs `daemon.ts run` in the foreground with the
 * daemon's narrow permissions (the same flags as the compiled binary and the
 * service definitions, from lib/service/permissions.ts), since a task string cannot
 * compute them. Arguments are passed on (`deno task daemon --once`);
 * SIGINT/SIGTERM/SIGHUP are forwarded and the exit status is the daemon's.
 *
 * @module
 */
import { resolveHome, termSafe } from "../sys/mod.ts";
import { permissionsForHome } from "./permissions.ts";
import { denoRunProgram } from "./program.ts";

/** The daemon's command line for a home (program first). */
export async function foregroundArgv(home: string, extraArgs: string[] = []): Promise<string[]> {
  const { flags, warnings } = await permissionsForHome(home);
  for (const warning of warnings) console.error(termSafe(`warning: ${warning}`));
  return [...denoRunProgram(flags).argv, ...extraArgs];
}

/** Runs the daemon with the narrow flags; returns its exit code. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const [command, ...rest] = await foregroundArgv(resolveHome(), args);
  const child = new Deno.Command(command, {
    args: rest,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const forwarders = signals.map((signal) => {
    const forward = () => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    };
    Deno.addSignalListener(signal, forward);
    return [signal, forward] as const;
  });
  const status = await child.status;
  for (const [signal, forward] of forwarders) Deno.removeSignalListener(signal, forward);
  if (!status.signal) return status.code;
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (numbers[status.signal] ?? 1);
}

// Run as a script (`deno task daemon`): its one exit.
if (import.meta.main) Deno.exit(await main());
