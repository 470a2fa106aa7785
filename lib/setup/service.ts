/**
 * Setup and the service: what is installed already (step 2), installing and
 * starting the service with a wait for a healthy heartbeat (step 7), and
 * `setup.ts --uninstall`. The service itself is lib/service/backend.ts's
 * (launchd, systemd `--user` or detached; compiled binary or `deno run`).
 *
 * Uninstalling stops the daemon, removes the service definition and, only
 * when asked, the stored credentials. It never touches recordings
 * (`active/`, `done/`), the spool, checkpoints, clones (`repos/`), logs or
 * config.json.
 *
 * @module
 */
import { findLegacyAgents, type FoundAgent, launchAgentsDir } from "../../launchd/plist.ts";
import { Systemctl } from "../../systemd/systemctl.ts";
import {
  type CredentialStore,
  describeSecrets,
  type SecretDescription,
  SECRETS,
} from "../credentials/mod.ts";
import { errorMessage, exists, type HomePaths, readRawSettings, waitUntil } from "../sys/mod.ts";
import {
  chooseBackend,
  definitionPath,
  serviceDefinition,
  serviceState,
  type StartOutcome,
  startService,
  stopService,
} from "../service/mod.ts";
import {
  collectStatus,
  renderStatus,
  type ServiceState,
  type StatusReport,
} from "../status/mod.ts";

/** What setup found of an earlier installation. */
export interface ExistingInstall {
  /** The service manager's view (undefined: no service and no daemon). */
  service?: ServiceState;
  /** Service definition files on disk (LaunchAgent plist, systemd unit). */
  definitionFiles: string[];
  /** Every known secret: where it is and whether it is present. */
  secrets: SecretDescription[];
  /** LaunchAgents of the bash version (`idle-chunker-daemon.sh`). */
  legacyAgents: FoundAgent[];
  /** config.json's contents (empty when absent or unreadable). */
  config: Record<string, unknown>;
}

/** Options shared by the functions here. */
export interface SetupServiceOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Environment (HOME, USER, PATH, XDG_CONFIG_HOME); default `Deno.env`. */
  env?: { get(key: string): string | undefined };
  /** Platform (default `Deno.build.os`). */
  os?: string;
  /** Lines for people. */
  say?: (line: string) => void;
}

/** The service definition files this platform may have installed. */
export function definitionFilesFor(options: SetupServiceOptions): string[] {
  const os = options.os ?? Deno.build.os;
  const serviceOptions = { paths: options.paths, env: options.env, os };
  if (os === "darwin") return [definitionPath("launchd", serviceOptions)];
  if (os === "linux") return [definitionPath("systemd", serviceOptions)];
  return [];
}

/** Looks for an earlier installation: service, definition files, credentials, bash LaunchAgents. */
export async function detectExisting(
  options: SetupServiceOptions & { store?: CredentialStore },
): Promise<ExistingInstall> {
  const env = options.env ?? Deno.env;
  const home = env.get("HOME");
  const [service, secrets, legacyAgents, config] = await Promise.all([
    serviceState({ paths: options.paths, env, os: options.os }),
    options.store ? describeSecrets(options.store) : Promise.resolve([]),
    home ? findLegacyAgents(launchAgentsDir(home)) : Promise.resolve([]),
    readRawSettings(options.paths.config).catch(() => ({})),
  ]);
  const definitionFiles: string[] = [];
  for (const file of definitionFilesFor(options)) {
    if (await exists(file, { lstat: true })) definitionFiles.push(file);
  }
  return { service, definitionFiles, secrets, legacyAgents, config };
}

/** True when anything of an earlier installation is there. */
export function existingFound(existing: ExistingInstall): boolean {
  return Boolean(
    existing.service?.installed || existing.service?.running ||
      existing.definitionFiles.length || existing.legacyAgents.length ||
      existing.secrets.some((secret) => secret.present && secret.store !== "env"),
  );
}

/** Lines describing what was found (never a secret's value). */
export function describeExisting(existing: ExistingInstall): string[] {
  const lines: string[] = [];
  const service = existing.service;
  if (service) {
    lines.push(
      `service: ${service.manager}, ${service.installed ? "installed" : "not installed"}, ${
        service.running ? `running${service.pid ? ` (pid ${service.pid})` : ""}` : "not running"
      }${service.detail ? ` — ${service.detail}` : ""}`,
    );
  }
  for (const file of existing.definitionFiles) lines.push(`service definition: ${file}`);
  for (const agent of existing.legacyAgents) {
    lines.push(
      `bash version's LaunchAgent: ${agent.path} (runs idle-chunker-daemon.sh; it is replaced)`,
    );
  }
  for (const secret of existing.secrets) {
    if (secret.present) {
      const purpose = SECRETS.find((known) => known.service === secret.service)?.purpose ??
        secret.service;
      lines.push(`stored: ${purpose} (${secret.service}, ${secret.store})`);
    } else if (secret.present === null && secret.error) {
      lines.push(`could not check ${secret.service}: ${secret.error}`);
    }
  }
  if (typeof existing.config.repo_url === "string") {
    lines.push(`config.json: repo_url ${existing.config.repo_url}`);
  }
  return lines;
}

/** Deletes every stored secret; returns the services deleted. Read-only stores are skipped. */
export async function deleteCredentials(
  store: CredentialStore,
  say: (line: string) => void = () => {},
): Promise<string[]> {
  if (store.readOnly) {
    say(`The credential store is ${store.kind} (read-only): unset ASCIINEMA_* variables yourself.`);
    return [];
  }
  const deleted: string[] = [];
  for (const { service } of SECRETS) {
    if (await store.delete(service)) deleted.push(service);
  }
  return deleted;
}

/** Options for {@linkcode installService}. */
export interface InstallServiceOptions extends SetupServiceOptions {
  /** Detached mode whatever the platform (containers, tests). */
  detach?: boolean;
  /** Compile the daemon when possible (default true); false: a current binary or `deno run`. */
  compile?: boolean;
  /** Print the launchd/systemd definition before installing it. */
  showDefinition?: boolean;
  /** How long to wait for a healthy heartbeat (default 15 s). */
  healthTimeoutMs?: number;
  /** Secrets hook for the status shown at the end. */
  secrets?: () => Promise<SecretDescription[]>;
}

/** What {@linkcode installService} did. */
export interface InstallServiceResult {
  /** The start outcome. */
  start: StartOutcome;
  /** The status report after the wait. */
  report: StatusReport;
  /** True when the heartbeat was healthy within the wait. */
  healthy: boolean;
}

/**
 * Installs and starts the service (restarting a running daemon so it reads
 * the new config.json), waits up to 15 s for a healthy heartbeat, and
 * returns the status report.
 */
export async function installService(
  options: InstallServiceOptions,
): Promise<InstallServiceResult> {
  const say = options.say ?? (() => {});
  const env = options.env ?? Deno.env;
  const base = { paths: options.paths, env, os: options.os, say };
  const compile = options.compile === false ? "never" as const : "auto" as const;
  const backend = options.detach ? "detached" : await chooseBackend(base);
  if (options.showDefinition && backend !== "detached") {
    const definition = await serviceDefinition(backend, { ...base, compile });
    say(`The ${backend} definition (${definition.path}):`);
    for (const line of definition.text.trimEnd().split("\n")) say(line);
  }
  const before = await serviceState(base);
  if (before?.running) {
    say("Restarting the running daemon so it reads the new settings.");
    const stopped = await stopService({ ...base, timeoutMs: 10_000 });
    for (const problem of stopped.problems) say(`warning: ${problem}`);
  }
  const start = await startService({ ...base, detach: options.detach, compile });
  const hooks = {
    paths: options.paths,
    serviceState: () => serviceState(base),
    secrets: options.secrets,
  };
  if (start.status === "failed") {
    return { start, report: await collectStatus(hooks), healthy: false };
  }
  const report = await waitUntil(
    () => collectStatus(hooks),
    (report) => report.verdict === "healthy",
    { timeoutMs: options.healthTimeoutMs ?? 15_000, intervalMs: 300 },
  );
  return { start, report, healthy: report.verdict === "healthy" };
}

/** The status text for people (no colour). */
export function statusText(report: StatusReport): string {
  return renderStatus(report, { color: false });
}

/** Options for {@linkcode uninstall}. */
export interface UninstallOptions extends SetupServiceOptions {
  /** The credential store (needed with `deleteCredentials`). */
  store?: CredentialStore;
  /** Also delete the stored credentials. */
  deleteCredentials?: boolean;
  /** systemctl driver (tests). */
  systemctl?: Systemctl;
}

/** What {@linkcode uninstall} did. */
export interface UninstallResult {
  /** True when a daemon was running and was stopped. */
  stopped: boolean;
  /** Definition files removed. */
  removed: string[];
  /** Credentials deleted. */
  deletedCredentials: string[];
  /** Problems met (the rest went on). */
  problems: string[];
}

/**
 * Stops the service, removes its definition and (when asked) the
 * credentials. Recordings, spool, checkpoints, clones, logs and config.json
 * stay.
 */
export async function uninstall(options: UninstallOptions): Promise<UninstallResult> {
  const say = options.say ?? (() => {});
  const env = options.env ?? Deno.env;
  const os = options.os ?? Deno.build.os;
  const base = { paths: options.paths, env, os, say, systemctl: options.systemctl };
  const result: UninstallResult = {
    stopped: false,
    removed: [],
    deletedCredentials: [],
    problems: [],
  };
  const stop = await stopService({ ...base, timeoutMs: 10_000 });
  result.stopped = stop.wasRunning;
  result.problems.push(...stop.problems);
  for (const file of definitionFilesFor(base)) {
    if (!(await exists(file, { lstat: true }))) continue;
    try {
      await Deno.remove(file);
      result.removed.push(file);
      say(`Removed ${file}.`);
    } catch (error) {
      result.problems.push(`could not remove ${file}: ${errorMessage(error)}`);
    }
  }
  if (os === "linux" && result.removed.length) {
    const systemctl = options.systemctl ?? new Systemctl();
    if (await systemctl.available()) {
      await systemctl.daemonReload().catch((error) =>
        result.problems.push(`systemctl --user daemon-reload: ${errorMessage(error)}`)
      );
    }
  }
  if (options.deleteCredentials) {
    if (!options.store) {
      result.problems.push("no credential store to delete the credentials from");
    } else {
      try {
        result.deletedCredentials = await deleteCredentials(options.store, say);
      } catch (error) {
        result.problems.push(`could not delete the credentials: ${errorMessage(error)}`);
      }
    }
  }
  return result;
}
