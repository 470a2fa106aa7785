/**
 * `daemon.ts status` for people: the {@linkcode StatusReport} of
 * lib/status/collect.ts as plain text, coloured only when asked. Secrets a store
 * could not check are grouped under that store's one explanation. Every
 * string of the report (ids, URLs, remotes' error text, health fields) has
 * its controls escaped by `termSafe` before it is laid out.
 *
 * @module
 */
import { formatBytes, redact, termSafe } from "../sys/mod.ts";
import { formatLocalTime } from "./log_entry.ts";
import { formatDuration } from "../sys/mod.ts";
import type { RecordingStatus, SecretStatus, StatusReport } from "./report.ts";

const PAINT = {
  reset: "\x1b[0m",
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  red: "\x1b[31m",
} as const;

/** Options for {@linkcode renderStatus}. */
export interface RenderStatusOptions {
  /** ANSI colours. */
  color?: boolean;
}

function when(iso: string | null, now: number): string {
  if (!iso) return "never";
  const time = Date.parse(iso);
  if (!Number.isFinite(time)) return iso;
  const delta = now - time;
  const relative = delta >= 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
  return `${formatLocalTime(new Date(time))} (${relative})`;
}

/**
 * The secrets section: one line per secret checked; the secrets a store could
 * not check come after that store's explanation, given once (not once per
 * secret).
 */
function secretLines(
  secrets: SecretStatus[],
  paint: (text: string, color: keyof typeof PAINT) => string,
): string[] {
  const lines: string[] = [];
  const line = (secret: SecretStatus, state: string, indent = "  ") => {
    lines.push(
      `${indent}${secret.service.padEnd(24)} ${state}${
        secret.purpose ? `  ${secret.purpose}` : ""
      }`,
    );
    if (secret.warning) lines.push(`${indent}    ${paint(`warning: ${secret.warning}`, "yellow")}`);
  };
  if (secrets.length === 0) return ["  none needed by this configuration"];
  const unchecked = new Map<string, SecretStatus[]>();
  for (const secret of secrets) {
    if (secret.present === null) {
      const why = secret.error ?? "not checked";
      unchecked.set(why, [...(unchecked.get(why) ?? []), secret]);
    } else line(secret, secret.present ? `stored (${secret.store})` : "not stored");
  }
  for (const [why, group] of unchecked) {
    lines.push(
      `  ${
        paint(
          `could not check ${group.length === 1 ? "this secret" : "these secrets"}: ${why}`,
          "yellow",
        )
      }`,
    );
    for (const secret of group) line(secret, "unknown", "    ");
  }
  return lines;
}

/** `report` with every string in it redacted and escaped for a terminal. */
function escaped(report: StatusReport): StatusReport {
  return JSON.parse(
    JSON.stringify(report),
    (_key, value) => typeof value === "string" ? termSafe(redact(value)) : value,
  );
}

/** The report for people: plain text, coloured only when asked. */
export function renderStatus(raw: StatusReport, options: RenderStatusOptions = {}): string {
  const report = escaped(raw);
  const color = options.color ?? false;
  const paint = (text: string, ...styles: (keyof typeof PAINT)[]) =>
    color ? `${styles.map((style) => PAINT[style]).join("")}${text}${PAINT.reset}` : text;
  const now = Date.parse(report.generated_at);
  const lines: string[] = [];
  const verdictText = {
    healthy: paint("healthy", "bold", "green"),
    degraded: paint("DEGRADED", "bold", "yellow"),
    not_running: paint("NOT RUNNING", "bold", "red"),
  }[report.verdict];
  lines.push(`asciinema-chunker: ${verdictText}`);
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(11)} ${value}`);
  const svc = report.service;
  row(
    "service",
    svc.installed
      ? `${svc.manager}: installed, ${svc.running ? "running" : "not running"}${
        svc.pid ? ` (pid ${svc.pid})` : ""
      }${svc.detail ? `; ${svc.detail}` : ""}`
      : `not installed as a service; daemon ${
        svc.running ? `running (pid ${svc.pid})` : "not running"
      }`,
  );
  const d = report.daemon;
  if (d.health_found) {
    row("health", `${d.status}: ${d.message}`);
    row(
      "heartbeat",
      `${when(d.heartbeat, now)}, every ${d.heartbeat_interval_seconds} s${
        d.heartbeat_stale ? paint(" (stale)", "red") : ""
      }`,
    );
    row("last push", `${when(d.last_push, now)}; ${d.chunks_pushed} chunk(s) pushed in all`);
  } else {
    row("health", "no health.json yet");
  }
  if (report.problems.length > 0) {
    lines.push("", paint("Problems:", "bold"));
    for (const problem of report.problems) lines.push(`  - ${problem}`);
  }
  const recordingLine = (rec: RecordingStatus) => {
    const pending = rec.oldest_pending_age_seconds === null
      ? "everything pushed"
      : `oldest unpushed byte ${formatDuration(rec.oldest_pending_age_seconds * 1000)} old`;
    lines.push(
      `  ${rec.id}  ${rec.state}: ${formatBytes(rec.size)}, pushed ${
        formatBytes(rec.bytes_pushed)
      }, spool ${rec.spool_chunks} chunk(s) (${formatBytes(rec.spool_bytes)}), ${pending}`,
    );
    if (rec.last_error) lines.push(`      ${paint(rec.last_error, "yellow")}`);
  };
  lines.push("", paint(`Active recordings (${report.recordings.length}):`, "bold"));
  if (report.recordings.length === 0) lines.push("  none");
  for (const rec of report.recordings) recordingLine(rec);
  if (report.finished_waiting.length > 0) {
    lines.push("", paint("Finished, waiting to be pushed and moved to done/:", "bold"));
    for (const rec of report.finished_waiting) recordingLine(rec);
  }
  if (report.remotes.length > 0) {
    lines.push("", paint("Remotes:", "bold"));
    for (const remote of report.remotes) {
      const state = remote.last_error
        ? paint(
          `failing${
            remote.failing_seconds !== null
              ? ` for ${formatDuration(remote.failing_seconds * 1000)}`
              : ""
          } (${remote.error_kind ?? "error"})`,
          "red",
        )
        : "ok";
      lines.push(
        `  ${remote.url} ${remote.branch}${
          remote.visibility ? ` (GitHub: ${remote.visibility})` : ""
        }: ${state}; last push ${when(remote.last_push, now)}; ${remote.queued_chunks} queued${
          remote.next_retry_at ? `; next try ${when(remote.next_retry_at, now)}` : ""
        }`,
      );
    }
  }
  lines.push("", paint("Secrets:", "bold"), ...secretLines(report.secrets, paint));
  lines.push("", paint("Notifiers:", "bold"));
  for (const notifier of report.notifiers) {
    const state = notifier.configured === true
      ? "configured"
      : notifier.configured === false
      ? "not configured"
      : "unknown";
    lines.push(`  ${notifier.name.padEnd(9)} ${state}: ${notifier.detail}`);
  }
  lines.push("", paint("Recent log:", "bold"));
  if (report.log_tail.length === 0) lines.push("  (empty)");
  for (const line of report.log_tail) lines.push(`  ${line}`);
  if (report.next_steps.length > 0) {
    lines.push("", paint("Next:", "bold"));
    for (const step of report.next_steps) lines.push(`  ${step}`);
  }
  return lines.join("\n") + "\n";
}
