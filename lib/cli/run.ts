/**
 * `daemon.ts run`: the daemon in the foreground (what the service runs), or
 * `run --once` to cut and push everything now and exit.
 *
 * @module
 */
import { exitWith } from "./output.ts";
import { Command, Option } from "@commander-js/extra-typings";
import { allowFailpoints, Engine, FAILPOINT_FLAG } from "../engine/mod.ts";
import {
  disableCoreDumps,
  type HomePaths,
  homePaths,
  log,
  pidAlive,
  type Settings,
  shutdownLogging,
} from "../sys/mod.ts";
import { readHealth } from "../status/mod.ts";
import { createNotificationPolicy } from "../notify/mod.ts";
import { openCredentialStore } from "../credentials/mod.ts";
import {
  clearGitHubControlMasters,
  createAuthResolver,
  PublishError,
  tokenScopeOf,
} from "../git/mod.ts";
import { missingNetPermissions, prepareDaemon, releasePidfile } from "../service/mod.ts";

/** Runs the daemon until a signal (or once); returns the exit code. */
export async function runDaemon(options: { once?: boolean } = {}): Promise<number> {
  const paths = homePaths();
  // Home, logging, pidfile, config.json; under launchd/systemd it waits out
  // another daemon or an invalid config.json instead of exiting 3 or 2.
  const prepared = await prepareDaemon(paths, { once: options.once });
  if (!prepared.ok) return prepared.code;
  try {
    return await runClaimed(paths, prepared.settings, options);
  } finally {
    await releasePidfile(paths);
  }
}

async function runClaimed(
  paths: HomePaths,
  settings: Settings,
  options: { once?: boolean },
): Promise<number> {
  // Before any secret is read: a crash must not write the token to a core file.
  const core = await disableCoreDumps();
  if (core.status === "failed") {
    log("daemon").warn("Could not turn core dumps off: {reason}", { reason: core.reason });
  } else if (core.status === "unavailable") {
    log("daemon").debug("Core dumps not turned off here: {reason}", { reason: core.reason });
  }
  const unreachable = await missingNetPermissions(settings);
  if (unreachable.length) {
    log("daemon").warn(
      "Notifications to {hosts} cannot be sent: this daemon was started without network permission for them; run `deno task daemon-start` again to reinstall it with the current config.json",
      { hosts: unreachable.join(", ") },
    );
  }
  const previous = await readHealth(paths.health);
  const store = await openCredentialStore({ setting: settings.credential_store });
  const auth = createAuthResolver({
    store,
    scope: tokenScopeOf(settings),
    // Auth retries come every retry_max_seconds: re-read the token on each (at most 5 min apart).
    rereadIntervalMs: Math.min(5 * 60_000, settings.retry_max_seconds * 1000),
    wrapError: (error) => new PublishError(error.unavailable ? "auth" : "config", error.message),
  });
  const policy = createNotificationPolicy(settings, {
    getSecret: (service) => store.get(service).catch(() => undefined),
  });
  const engine = new Engine({
    paths,
    settings,
    authFor: auth.authFor,
    tokenFor: auth.tokenFor,
    onEvent: (event) => {
      auth.observe(event);
      // A notice that cannot be sent is the policy's to log; it never ends the daemon.
      policy.handleEvent(event).catch(() => {});
    },
  });
  if (options.once) {
    const ok = await engine.runOnce();
    await shutdownLogging();
    return ok ? 0 : 1;
  }
  const stopped = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  const onSignal = () => stopped.resolve();
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // Stale GitHub SSH ControlMasters break pushes over SSH: close them (never deletes sockets).
  void clearGitHubControlMasters({ signal: engine.signal }).catch(() => {});
  await engine.start();
  if (
    previous && previous.status !== "stopped" && previous.pid !== Deno.pid &&
    !(await pidAlive(previous.pid))
  ) {
    log("daemon").warn("The previous daemon (pid {pid}) ended without a clean stop", {
      pid: previous.pid,
    });
    policy.crashRestart(
      `The daemon (pid ${previous.pid}) ended without a clean stop; last heartbeat ${previous.heartbeat}. It is running again and catching up.`,
    ).catch(() => {});
  }
  const retry = setInterval(() => policy.tick().catch(() => {}), 60_000);
  await stopped.promise;
  clearInterval(retry);
  for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  await engine.stop();
  await shutdownLogging();
  return 0;
}

/** `daemon.ts run`: the daemon in the foreground (what the service starts). */
export function runCommand() {
  return new Command("run")
    .description("run the daemon in the foreground (what the service runs)")
    .option("--once", "cut every complete line now, push, and exit (0 only if all is pushed)")
    .addOption(
      new Option(FAILPOINT_FLAG, "tests only: let ASCIINEMA_FAILPOINT arm a failpoint").hideHelp(),
    )
    .action(async (options) => {
      if (options.failpoints) allowFailpoints();
      return exitWith(await runDaemon({ once: options.once }));
    });
}
