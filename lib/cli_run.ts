/**
 * `daemon.ts run`: the daemon in the foreground (what the service runs), or
 * `run --once` to cut and push everything now and exit.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { Engine } from "./engine/mod.ts";
import { pidAlive } from "./process.ts";
import { readHealth } from "./health.ts";
import { createNotificationPolicy } from "./notifier.ts";
import { openCredentialStore } from "./credentials.ts";
import { createAuthResolver } from "./git_auth.ts";
import { clearGitHubControlMasters } from "./ssh_control.ts";
import { PublishError } from "./publisher.ts";
import { log, setupLogging, shutdownLogging } from "./log.ts";
import { ensureHome, type HomePaths, homePaths } from "./paths.ts";
import { claimPidfile, releasePidfile } from "./pidfile.ts";
import { missingNetPermissions } from "./permissions.ts";
import { loadSettings, SettingsError } from "./settings.ts";

/** Runs the daemon until a signal (or once); returns the exit code. */
export async function runDaemon(options: { once?: boolean } = {}): Promise<number> {
  const paths = homePaths();
  await ensureHome(paths);
  await setupLogging({ logFile: paths.logFile, console: true });
  // One daemon per home: two processes must never cut the same files.
  const claim = await claimPidfile(paths);
  if (!claim.ok) {
    const message = `another daemon is already running for ${paths.home}${
      claim.pid ? ` (pid ${claim.pid})` : ""
    }; see \`deno task daemon-status\``;
    log("daemon").error(message);
    console.error(`asciinema-chunker: ${message}`);
    await shutdownLogging();
    return 3;
  }
  try {
    return await runClaimed(paths, options);
  } finally {
    await releasePidfile(paths);
  }
}

async function runClaimed(paths: HomePaths, options: { once?: boolean }): Promise<number> {
  let settings;
  try {
    settings = await loadSettings(paths.config);
  } catch (error) {
    if (error instanceof SettingsError) {
      log("daemon").error("Invalid settings, not starting:\n{message}", { message: error.message });
      console.error(`asciinema-chunker: invalid settings, not starting:\n${error.message}`);
      await shutdownLogging();
      return 2;
    }
    throw error;
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
    // Auth retries come every retry_max_seconds: re-read the token on each (at most 5 min apart).
    rereadIntervalMs: Math.min(5 * 60_000, settings.retry_max_seconds * 1000),
    wrapError: (error) => new PublishError(error.unavailable ? "auth" : "config", error.message),
  });
  const policy = createNotificationPolicy(settings, {
    getSecret: (service) => store.get(service).catch(() => undefined),
  });
  const chunker = new Engine({
    paths,
    settings,
    authFor: auth.authFor,
    onEvent: (event) => {
      auth.observe(event);
      void policy.handleEvent(event);
    },
  });
  if (options.once) {
    const ok = await chunker.runOnce();
    await shutdownLogging();
    return ok ? 0 : 1;
  }
  const stopped = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  const onSignal = () => stopped.resolve();
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // Stale GitHub SSH ControlMasters break pushes over SSH: close them (never deletes sockets).
  void clearGitHubControlMasters({ signal: chunker.signal }).catch(() => {});
  await chunker.start();
  if (
    previous && previous.status !== "stopped" && previous.pid !== Deno.pid &&
    !(await pidAlive(previous.pid))
  ) {
    log("daemon").warn("The previous daemon (pid {pid}) ended without a clean stop", {
      pid: previous.pid,
    });
    void policy.crashRestart(
      `The daemon (pid ${previous.pid}) ended without a clean stop; last heartbeat ${previous.heartbeat}. It is running again and catching up.`,
    );
  }
  const retry = setInterval(() => void policy.tick(), 60_000);
  await stopped.promise;
  clearInterval(retry);
  for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  await chunker.stop();
  await shutdownLogging();
  return 0;
}

/** The `run` subcommand. */
export function runCommand() {
  return new Command("run")
    .description("run the daemon in the foreground (what the service runs)")
    .option("--once", "cut every complete line now, push, and exit (0 only if all is pushed)")
    .action(async (options) => {
      Deno.exit(await runDaemon({ once: options.once }));
    });
}
