/**
 * `daemon.ts status`: is the daemon running, are recordings safe, and what
 * to do next. Built from health.json, the service manager (through an
 * injected hook), the credential store (through an injected hook), the
 * settings and the last log lines. {@linkcode collectStatus} gathers the
 * report (also printed as JSON), {@linkcode renderStatus} shows it to people.
 *
 * Running means: the service manager says so when one is installed;
 * otherwise health.json's pid is alive, its heartbeat is younger than three
 * intervals and its status is not `stopped`. A dead pid or a stale
 * heartbeat means not running, whatever health.json says.
 *
 * @module
 */
import { daemonLiveness, readHealth } from "./health.ts";
import { formatLocalTime, renderLogEntry } from "./log_entry.ts";
import { tailLog } from "./log_view.ts";
import { describeUrl, notifySettings } from "../notify/mod.ts";
import {
  errorMessage,
  formatDuration,
  loadSettings,
  readConfigFile,
  type Settings,
  SettingsSchema,
} from "../sys/mod.ts";
import { secretsNeeded } from "./secrets_needed.ts";
import { NTFY_TOKEN, PUSHOVER_APP, PUSHOVER_USER, SECRETS } from "../credentials/mod.ts";

import {
  credentialStoreSecretsHook,
  type NotifierStatus,
  type RecordingStatus,
  type RemoteStatus,
  type SecretPresence,
  type SecretStatus,
  type ServiceState,
  STATUS_SCHEMA_VERSION,
  type StatusOptions,
  type StatusReport,
  type Verdict,
} from "./report.ts";

function ageSeconds(iso: string | null | undefined, now: number): number | null {
  if (!iso) return null;
  const time = Date.parse(iso);
  if (!Number.isFinite(time)) return null;
  return Math.max(0, Math.round((now - time) / 1000));
}

/**
 * Seconds after which unpushed data counts as "behind": a chunk may wait
 * for the idle threshold or the maximum chunk age, then the grace period
 * for a push to get through.
 */
function behindThresholdSeconds(settings: Settings): number {
  const notify = notifySettings(settings);
  return Math.max(settings.idle_threshold, settings.max_chunk_seconds) +
    notify.failure_grace_seconds + 60;
}

/** Gathers everything `status` shows. Never throws for a missing or broken file. */
export async function collectStatus(options: StatusOptions): Promise<StatusReport> {
  const now = options.now ?? Date.now();
  const paths = options.paths;
  const problems: string[] = [];
  const next: string[] = [];

  let settings = options.settings;
  let configError: string | null = null;
  if (!settings) {
    try {
      settings = await loadSettings(paths.config);
    } catch (error) {
      configError = errorMessage(error);
      settings = SettingsSchema.parse({});
    }
  }
  const health = await readHealth(paths.health);

  let service: ServiceState | undefined;
  let serviceError: string | null = null;
  if (options.serviceState) {
    try {
      service = await options.serviceState();
    } catch (error) {
      serviceError = errorMessage(error);
    }
  }
  const managed = Boolean(service?.installed);
  const pid = (managed ? service?.pid : undefined) ?? health?.pid ?? null;
  const liveness = await daemonLiveness(health, {
    now,
    pid,
    isAlive: options.pidAlive,
    defaultIntervalSeconds: settings.heartbeat_seconds,
  });
  const {
    pidAlive,
    heartbeatAgeSeconds: heartbeatAge,
    heartbeatStale,
    intervalSeconds: interval,
  } = liveness;
  const running = managed && service ? service.running : liveness.running;

  if (configError) problems.push(`config.json is invalid: ${configError}`);
  if (serviceError) problems.push(`could not ask the service manager: ${serviceError}`);
  if (!running) {
    if (!health) {
      problems.push("the daemon has never run here (no health.json)");
    } else if (managed) {
      problems.push(`the ${service?.manager} service is installed but not running`);
    } else if (health.status === "stopped") {
      problems.push(
        `the daemon was stopped at ${
          Number.isFinite(Date.parse(health.last_update))
            ? formatLocalTime(new Date(health.last_update))
            : health.last_update
        }`,
      );
    } else if (pidAlive === false) {
      problems.push(
        `the daemon (pid ${health.pid}) is gone without a clean stop: it crashed or was killed`,
      );
    } else if (heartbeatStale) {
      problems.push(
        `no heartbeat for ${
          heartbeatAge === null ? "ever" : formatDuration(heartbeatAge * 1000)
        } (expected every ${interval} s): the daemon is stuck or gone`,
      );
    }
  } else if (heartbeatStale) {
    problems.push(
      health
        ? `the service runs but its heartbeat is ${
          formatDuration((heartbeatAge ?? 0) * 1000)
        } old (expected every ${interval} s): stuck?`
        : "the service runs but has not written health.json yet",
    );
  }

  const behind = behindThresholdSeconds(settings);
  const recordings: RecordingStatus[] = [];
  const finished: RecordingStatus[] = [];
  for (const [id, rec] of Object.entries(health?.recordings ?? {})) {
    // The oldest byte not on the remote (cut or not), from daemons that report it.
    const since = rec.oldest_unpushed_at !== undefined
      ? rec.oldest_unpushed_at
      : rec.oldest_pending_at;
    const oldestAge = ageSeconds(since, now);
    const item: RecordingStatus = {
      id,
      chunk_id: rec.chunk_id,
      state: rec.state,
      size: rec.size,
      cut_offset: rec.cut_offset,
      bytes_pushed: rec.pushed_offset,
      bytes_pending: Math.max(0, rec.size - rec.pushed_offset),
      spool_chunks: rec.spool_chunks,
      spool_bytes: rec.spool_bytes,
      oldest_pending_at: since,
      oldest_pending_age_seconds: oldestAge,
      remote: rec.remote,
      branch: rec.branch,
      last_error: rec.last_error,
    };
    (rec.state === "ended" ? finished : recordings).push(item);
    if (!running) continue;
    if (rec.state === "held" || rec.state === "error") {
      problems.push(`recording ${id} is ${rec.state}: ${rec.last_error ?? "see the log"}`);
    } else if (oldestAge !== null && oldestAge > behind) {
      problems.push(
        `recording ${id} is behind: data ${formatDuration(oldestAge * 1000)} old is not pushed yet`,
      );
    }
  }

  const remotes: RemoteStatus[] = [];
  for (const [key, remote] of Object.entries(health?.remotes ?? {})) {
    remotes.push({
      key,
      url: remote.url,
      branch: remote.branch,
      last_push: remote.last_push,
      last_error: remote.last_error,
      error_kind: remote.error_kind,
      failing_since: remote.failing_since,
      failing_seconds: ageSeconds(remote.failing_since, now),
      next_retry_at: remote.next_retry_at,
      queued_chunks: remote.queued_chunks,
      ...(remote.visibility ? { visibility: remote.visibility } : {}),
    });
    if (running && remote.last_error) {
      const since = remote.failing_since
        ? ` for ${formatDuration((ageSeconds(remote.failing_since, now) ?? 0) * 1000)}`
        : "";
      problems.push(
        `pushes to ${remote.url} (${remote.branch}) are failing${since} (${
          remote.error_kind ?? "error"
        }): ${remote.last_error}; ${remote.queued_chunks} chunk(s) queued`,
      );
      if (remote.error_kind === "auth") {
        next.push("store a new token: deno task daemon-setup");
      }
    }
  }
  if (running && health && (health.status === "degraded" || health.status === "error")) {
    const listed = problems.some((problem) => problem.includes(health.message));
    if (!listed) problems.push(`daemon reports ${health.status}: ${health.message}`);
  }

  // Secrets and notifiers: only those the configuration needs are asked about and shown (an
  // optional one the store did answer for is shown too); none needed, the store is not opened.
  const notify = notifySettings(settings);
  const needed = secretsNeeded({
    notify,
    raw: (await readConfigFile(paths.config)).raw,
    remotes: [
      ...(settings.repo_url ? [settings.repo_url] : []),
      ...Object.values(health?.remotes ?? {}).map((remote) => remote.url),
    ],
    needsToken: options.remoteNeedsToken ?? (() => true),
    env: options.env ?? Deno.env,
  });
  let presence: SecretPresence[] = [];
  if (needed.size > 0) {
    try {
      presence = await (options.secrets ?? credentialStoreSecretsHook(options.paths))();
    } catch (error) {
      const message = errorMessage(error);
      presence = SECRETS.map(({ service }) => ({
        service,
        present: null,
        store: null,
        error: message,
      }));
    }
  }
  const shown = (service: string) =>
    needed.has(service) ||
    presence.some((item) => item.service === service && item.present !== null);
  const secrets: SecretStatus[] = SECRETS.filter(({ service }) => shown(service)).map((
    { service, purpose },
  ) => {
    const found = presence.find((item) => item.service === service) ??
      { service, present: null, store: null, error: "not checked" };
    return {
      service,
      purpose,
      present: found.present,
      store: found.present ? found.store : null,
      ...(found.error ? { error: found.error } : {}),
      warning: found.present && found.store === "env"
        ? "kept in an environment variable: any process of this user can read it; " +
          "move it to the keychain with deno task daemon-setup"
        : null,
    };
  });
  for (const secret of presence) {
    if (!SECRETS.some((known) => known.service === secret.service)) {
      secrets.push({
        ...secret,
        purpose: "",
        warning: secret.present && secret.store === "env"
          ? "kept in an environment variable"
          : null,
      });
    }
  }
  const notifiers: NotifierStatus[] = [];
  {
    const app = secrets.find((secret) => secret.service === PUSHOVER_APP);
    const user = secrets.find((secret) => secret.service === PUSHOVER_USER);
    let configured: boolean | null;
    let detail: string;
    if (!notify.enabled || !notify.pushover.enabled) {
      configured = false;
      detail = "disabled in config.json (notify)";
    } else if (app?.present && user?.present) {
      configured = true;
      detail = `sends to ${describeUrl(notify.pushover.api_url)}`;
    } else if (app?.present === false || user?.present === false) {
      configured = false;
      detail = "no app token or user key stored: deno task daemon-setup";
    } else if (!needed.has(PUSHOVER_APP)) {
      // Not turned on by setup and no key in the environment: its keys are not looked up.
      configured = false;
      detail = "not set up: deno task daemon-setup";
    } else {
      configured = null;
      detail = "could not check the credential store";
    }
    notifiers.push({ name: "pushover", configured, detail });
    const token = secrets.find((secret) => secret.service === NTFY_TOKEN);
    notifiers.push(
      notify.enabled && notify.ntfy.url
        ? {
          name: "ntfy",
          configured: true,
          detail: `sends to ${describeUrl(notify.ntfy.url)}${
            token?.present ? " with an access token" : ""
          }`,
        }
        : {
          name: "ntfy",
          configured: false,
          detail: notify.enabled ? "set notify.ntfy.url in config.json" : "disabled in config.json",
        },
    );
  }
  if (!notifiers.some((notifier) => notifier.configured !== false)) {
    next.push("no notifier configured: you will not hear about failures (deno task daemon-setup)");
  }

  let logTail: string[] = [];
  try {
    logTail = (await tailLog(paths.logFile, { lines: 5 })).map((entry) =>
      renderLogEntry(entry, { color: false })
    );
  } catch {
    // unreadable log: nothing to show
  }

  const verdict: Verdict = !running ? "not_running" : problems.length > 0 ? "degraded" : "healthy";
  if (!running) {
    if (!managed && !health) next.unshift("set it up and start it: deno task daemon-setup");
    else if (!managed) {
      next.unshift(
        "see why it stopped: deno task daemon-logs --errors; " +
          "install it as a service so it restarts: deno task daemon-setup",
      );
    } else next.unshift("see why it stopped: deno task daemon-logs --errors");
  } else if (verdict === "degraded") {
    next.push("details: deno task daemon-logs --errors");
  }
  if (running && !managed) {
    next.push(
      "not installed as a service: it will not come back after a reboot (deno task daemon-setup)",
    );
  }

  return {
    schema: STATUS_SCHEMA_VERSION,
    generated_at: new Date(now).toISOString(),
    verdict,
    exit_code: verdict === "healthy" ? 0 : verdict === "degraded" ? 1 : 2,
    problems,
    next_steps: [...new Set(next)],
    service: {
      manager: managed ? service?.manager ?? "unknown" : "none",
      installed: managed,
      running,
      source: managed ? "manager" : "health",
      pid,
      pid_alive: pidAlive,
      detail: service?.detail ?? null,
    },
    daemon: {
      health_found: Boolean(health),
      status: health?.status ?? null,
      message: health?.message ?? null,
      heartbeat: health?.heartbeat ?? null,
      heartbeat_age_seconds: heartbeatAge,
      heartbeat_stale: heartbeatStale,
      heartbeat_interval_seconds: interval,
      started_at: health?.started_at ?? null,
      last_push: health?.last_push ?? null,
      chunks_pushed: health?.chunks_pushed ?? 0,
      last_error: health?.last_error ?? null,
    },
    config_error: configError,
    recordings,
    finished_waiting: finished,
    remotes,
    secrets,
    notifiers,
    log_tail: logTail,
  };
}
