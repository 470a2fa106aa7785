/**
 * Named failpoints for fault tests: with `ASCIINEMA_FAILPOINT=<name>` (or
 * `<name>:<n>` for the n-th time that step is reached) the daemon kills
 * itself with SIGKILL at that step, as a crash or a power cut would, without
 * flushing or cleaning up anything. The variable counts only in a daemon
 * started with the hidden `run` flag {@linkcode FAILPOINT_FLAG}, which no
 * service definition and no `start` ever passes (the tests and the torture
 * harness do): in the production daemon it is inert. Disarmed it costs one
 * comparison.
 *
 * @module
 */

/** The hidden `daemon.ts run` flag that lets `ASCIINEMA_FAILPOINT` arm a failpoint (tests only). */
export const FAILPOINT_FLAG = "--failpoints";

/** Every failpoint the daemon has, in the order a chunk meets them. */
export const FAILPOINTS = [
  "cut.after-compress",
  "cut.after-spool",
  "cut.after-checkpoint",
  "publish.after-commit",
  "publish.after-push",
  "publish.after-checkpoint",
  "finish.after-manifest",
  "finish.after-move",
] as const;

/** A failpoint name. */
export type Failpoint = typeof FAILPOINTS[number];

interface Armed {
  name: string;
  remaining: number;
}

function armedFromEnv(): Armed | null {
  let spec: string | undefined;
  try {
    spec = Deno.env.get("ASCIINEMA_FAILPOINT");
  } catch {
    return null; // no env permission: never armed
  }
  if (!spec) return null;
  const [name, count] = spec.split(":");
  const n = Number(count ?? "1");
  return { name, remaining: Number.isInteger(n) && n > 0 ? n : 1 };
}

let allowed = false;
let armed: Armed | null | undefined;

/** Lets `ASCIINEMA_FAILPOINT` arm a failpoint in this process (`run` with {@linkcode FAILPOINT_FLAG}). */
export function allowFailpoints(): void {
  allowed = true;
  armed = undefined;
}

/** Kills this process at `name` when failpoints are allowed and the environment arms that one. */
export function failpoint(name: Failpoint): void {
  if (!allowed) return;
  if (armed === undefined) armed = armedFromEnv();
  if (!armed || armed.name !== name) return;
  armed.remaining--;
  if (armed.remaining > 0) return;
  Deno.kill(Deno.pid, "SIGKILL");
}
