/**
 * One look at a recording's file: its facts (tracker.ts) and what they mean
 * for the planner, health and the log.
 *
 * @module
 */
import { join } from "node:path";
import { log, type OnceLog } from "../sys/mod.ts";
import type { EngineCore, Recording } from "./core/mod.ts";
import { fileIdentityMismatch } from "./cut/mod.ts";
import { readFacts } from "./watch/mod.ts";

/** What {@linkcode refreshRecording} works with. */
export interface RefreshContext {
  /** The engine's shared state (a changed problem or note is shown in health at once). */
  core: EngineCore;
  /** The engine's once-per-condition log. */
  once: OnceLog;
}

/**
 * Reads the facts of one id and notes what the planner needs: growth (idle
 * time measured from the file's mtime), a fingerprint mismatch of a file
 * rewritten in place, and problems and notes for health and the log.
 */
export async function refreshRecording(rec: Recording, context: RefreshContext): Promise<void> {
  const { core, once } = context;
  const now = core.clock.now();
  const state = rec.current ? core.generations.get(rec.current) : undefined;
  const before = rec.memo.seen;
  const facts = await readFacts(rec.id, {
    activeDir: core.options.paths.active,
    memo: rec.memo,
    now,
    pidCheckMs: core.options.settings.scan_interval_seconds * 500,
    staleEnd: state?.stale_end ?? null,
  });
  rec.facts = facts;
  const seen = rec.memo.seen;
  if (seen && (!before || before.size !== seen.size || before.ino !== seen.ino)) {
    // Quiet since its last write (mtime), not since the event was noticed (events are
    // taken up in batches); found at startup, that may be long ago. A wall clock that
    // stepped makes this at most "now" or one early cut.
    const idleFor = seen.mtimeMs !== null
      ? Math.max(0, core.clock.wall().getTime() - seen.mtimeMs)
      : 0;
    rec.progress.grewAt = rec.firstSight ? now - idleFor : now - Math.min(idleFor, 1000);
  }
  // Rewritten in place without growing past the cut (or changed while the daemon was
  // down): no cut would look at it, so the fingerprint is checked here.
  const changedInPlace = seen && before && seen.mtimeMs !== before.mtimeMs &&
    state && seen.size <= state.cut_offset;
  if (state && facts.present && !facts.problem && (rec.firstSight || changedInPlace)) {
    const why = await fileIdentityMismatch(join(core.options.paths.active, `${rec.id}.cast`), state)
      .catch(() => null);
    if (why) rec.progress.mismatch = why;
  }
  rec.firstSight = false;
  const shown = `${facts.problem}|${rec.memo.note}|${rec.memo.configError}|${facts.ended}`;
  if (shown !== rec.shown) {
    rec.shown = shown;
    core.healthChanged();
  }
  if (!facts.present && !rec.current && !rec.task && !rec.resolving) {
    if (!core.generations.hasSource(rec.id)) core.recs.delete(rec.id);
  }
  if (state && facts.size > state.cut_offset) rec.progress.pendingSince ??= now;
  if (rec.memo.note !== rec.loggedNote) {
    rec.loggedNote = rec.memo.note;
    if (rec.memo.note) log("daemon").info(rec.memo.note);
  }
  if (facts.problem) once.warn(`input:${rec.id}`, facts.problem, { id: rec.id });
  else once.clear(`input:${rec.id}`);
  const held = rec.memo.configError;
  if (held) once.warn(`config:${rec.id}`, held, { id: rec.id });
  else if (once.clear(`config:${rec.id}`)) {
    log("daemon").info("{id}.json is valid again", { id: rec.id });
  }
}

/**
 * True when the file at `castPath` changed (size or mtime) since its facts
 * were read: a decision taken on them (an "idle" cut) waits for a new look.
 */
export function factsStale(rec: Recording, castPath: string): boolean {
  const seen = rec.memo.seen;
  if (!seen) return false;
  try {
    const info = Deno.lstatSync(castPath);
    return info.size !== seen.size || (info.mtime?.getTime() ?? null) !== seen.mtimeMs;
  } catch {
    return true;
  }
}
