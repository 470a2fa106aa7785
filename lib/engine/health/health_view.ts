/**
 * The health document as a pure function of a snapshot of the engine: what
 * each recording and remote is doing, and one overall status with the
 * sentence a person needs (DESIGN.md invariant 7).
 *
 * @module
 */
import type { Health, RecordingHealth, RemoteHealth } from "../../status/mod.ts";
import type { RecordingState } from "../../chunk/mod.ts";
import type { RemoteSnapshot } from "../publish/mod.ts";

/** One recording (a generation, or a file not backed up) as the engine sees it. */
export interface RecordingSnapshot {
  /** The key in health.json: the file's id, or the chunk id of an older generation. */
  key: string;
  /** Its checkpoint, when it has one. */
  state?: RecordingState;
  /** This generation owns the file in `active/`. */
  current: boolean;
  /** Size of the file when last looked at. */
  size: number;
  /** Why its chunks are held (its `.json` is invalid), or null. */
  held: string | null;
  /** Why it is not published yet though nothing is wrong with it (its branch is unread), or null. */
  waiting: string | null;
  /** Why it is not backed up at all, or null. */
  problem: string | null;
  /** A note for people (waiting for a header), or null. */
  note: string | null;
  /** The last failed cut or finish, or null. */
  error: string | null;
  /** Wall time (ISO) since when bytes wait to be cut, or null. */
  pendingSince: string | null;
  /** Wall time (ISO) of the oldest byte not on the remote (cut or not), or null. */
  unpushedSince: string | null;
  /** Where its chunks go (display URL without credentials), or null. */
  remote: { url: string; branch: string; key: string } | null;
}

/** Everything the health document is made of. */
export interface HealthSnapshot {
  /** Wall time now. */
  now: Date;
  /** Daemon pid. */
  pid: number;
  /** When this process started. */
  startedAt: Date;
  /** Settings shown. */
  settings: { idle_threshold: number; zstd_level: number; heartbeat_seconds: number };
  /** Chunks pushed over the daemon's lifetime. */
  chunksPushed: number;
  /** Last push anywhere (ISO) or null. */
  lastPush: string | null;
  /** The most recent error anywhere. */
  lastError: string | null;
  /** Recordings. */
  recordings: RecordingSnapshot[];
  /** Remotes. */
  remotes: RemoteSnapshot[];
}

function recordingHealth(
  rec: RecordingSnapshot,
  remoteError: string | null,
  now: Date,
): RecordingHealth {
  const state = rec.state;
  const since = rec.unpushedSince ? Date.parse(rec.unpushedSince) : NaN;
  return {
    chunk_id: state?.id ?? rec.key,
    size: rec.current || !state ? rec.size : state.cut_offset,
    cut_offset: state?.cut_offset ?? 0,
    pushed_offset: state?.pushed_offset ?? 0,
    spool_chunks: state?.pending.length ?? 0,
    spool_bytes: state?.pending.reduce((sum, chunk) => sum + chunk.bytes, 0) ?? 0,
    oldest_pending_at: state?.pending[0]?.cut_at ?? rec.pendingSince,
    oldest_unpushed_at: rec.unpushedSince,
    unpushed_age_seconds: Number.isFinite(since)
      ? Math.max(0, Math.round((now.getTime() - since) / 100) / 10)
      : null,
    state: rec.held
      ? "held"
      : rec.problem || rec.error
      ? "error"
      : state && (state.final || !rec.current)
      ? "ended"
      : "recording",
    remote: rec.remote?.url ?? "",
    branch: rec.remote?.branch ?? "",
    last_error: rec.problem ?? rec.held ?? rec.error ?? rec.waiting ?? remoteError ?? rec.note,
    ...(rec.waiting ? { waiting: rec.waiting } : {}),
  };
}

/** The overall status and its sentence. */
function verdict(
  recordings: Record<string, RecordingHealth>,
  remotes: Record<string, RemoteHealth>,
  serious: string[],
): { status: Health["status"]; message: string } {
  const failing = Object.values(remotes).filter((remote) => remote.last_error);
  const needsPerson = failing.find((remote) =>
    remote.error_kind === "auth" || remote.error_kind === "config"
  );
  if (needsPerson?.error_kind === "auth") {
    return {
      status: "error",
      message:
        "the remote rejected the token (or it cannot be read): store a new one with `deno task daemon-setup`; chunks are kept in the spool",
    };
  }
  if (needsPerson) {
    return { status: "error", message: `${needsPerson.last_error}; chunks are kept in the spool` };
  }
  if (failing.length) {
    return {
      status: "degraded",
      message: `pushing fails (${failing[0].error_kind}): ${
        failing[0].last_error
      }; chunks are kept in the spool`,
    };
  }
  const bad = Object.values(recordings).filter((rec) =>
    rec.state === "held" || rec.state === "error"
  );
  if (bad.length) {
    return {
      status: "degraded",
      message: `${bad.length} recording(s) need attention: ${bad[0].last_error}`,
    };
  }
  const waiting = Object.values(recordings).filter((rec) => rec.waiting);
  if (waiting.length) {
    return {
      status: "degraded",
      message: `${waiting.length} recording(s) wait for their remote's branch: ${
        waiting[0].waiting
      }`,
    };
  }
  if (serious.length) return { status: "degraded", message: serious[0] };
  const count = Object.keys(recordings).length;
  const queued = Object.values(remotes).reduce((sum, remote) => sum + remote.queued_chunks, 0);
  return {
    status: "ok",
    message: queued > 0
      ? `${count} recording(s); ${queued} chunk(s) cut and waiting for their push`
      : `${count} recording(s), all backed up as they go`,
  };
}

/** Builds health.json from a snapshot; `override` forces status and message (start, stop). */
export function buildHealth(
  snapshot: HealthSnapshot,
  override: { status?: Health["status"]; message?: string } = {},
): Health {
  const remotes: Record<string, RemoteHealth> = {};
  for (const remote of snapshot.remotes) {
    remotes[remote.key] = {
      url: remote.url,
      branch: remote.branch,
      last_push: remote.lastPush,
      last_error: remote.lastError,
      error_kind: remote.errorKind,
      failing_since: remote.failingSince,
      next_retry_at: remote.nextRetryAt,
      queued_chunks: 0,
      ...(remote.visibility ? { visibility: remote.visibility } : {}),
      ...(remote.notice ? { notice: remote.notice.text } : {}),
    };
  }
  const recordings: Record<string, RecordingHealth> = {};
  for (const rec of snapshot.recordings) {
    const remote = rec.remote ? remotes[rec.remote.key] : undefined;
    if (remote && rec.state) remote.queued_chunks += rec.state.pending.length;
    recordings[rec.key] = recordingHealth(rec, remote?.last_error ?? null, snapshot.now);
  }
  const serious = snapshot.remotes.filter((remote) => remote.notice?.serious)
    .map((remote) => `${remote.url} (${remote.branch}): ${remote.notice!.text}`);
  const computed = verdict(recordings, remotes, serious);
  const now = snapshot.now.toISOString();
  return {
    status: override.status ?? computed.status,
    message: override.message || computed.message,
    last_update: now,
    last_push: snapshot.lastPush,
    chunks_pushed: snapshot.chunksPushed,
    pid: snapshot.pid,
    idle_threshold: snapshot.settings.idle_threshold,
    zstd_level: snapshot.settings.zstd_level,
    heartbeat: now,
    heartbeat_interval_seconds: snapshot.settings.heartbeat_seconds,
    started_at: snapshot.startedAt.toISOString(),
    recordings,
    remotes,
    last_error: snapshot.lastError,
  };
}
