/**
 * The engine's start: the checkpoints in `state/` (an unreadable one is set
 * aside as `<name>.broken`), and each generation's spool reconciled with its
 * checkpoint (a leftover chunk adopted only when it verifies against the
 * same file).
 *
 * @module
 */
import { join } from "node:path";
import { type HomePaths, log } from "../../sys/mod.ts";
import { loadAllStates, type RecordingState } from "../../chunk/mod.ts";
import { reconcileSpool } from "./spool.ts";

/** What {@linkcode loadCheckpoints} found. */
export interface LoadedCheckpoints {
  /** Unfinished generations, oldest generation first. */
  live: RecordingState[];
  /** Ids of finished generations. */
  finished: string[];
  /** Per file id, its current generation (the newest not superseded). */
  current: Map<string, string>;
}

/** Loads the checkpoints and reconciles every unfinished generation's spool. */
export async function loadCheckpoints(
  paths: HomePaths,
  options: { signal: AbortSignal; wall: () => Date },
): Promise<LoadedCheckpoints> {
  const logger = log("daemon");
  const { states, errors } = await loadAllStates(paths.state);
  for (const [name, error] of errors) {
    logger.warn("Checkpoint {name} is unreadable ({error}); set aside as {name}.broken", {
      name,
      error: error.message,
    });
    await Deno.rename(join(paths.state, name), join(paths.state, `${name}.broken`))
      .catch(() => {});
  }
  const loaded: LoadedCheckpoints = { live: [], finished: [], current: new Map() };
  for (const state of states.sort((a, b) => a.generation - b.generation)) {
    if (state.done) {
      loaded.finished.push(state.id);
      continue;
    }
    loaded.live.push(state);
    if (!state.superseded) loaded.current.set(state.source, state.id);
  }
  for (const state of loaded.live) {
    const castPath = loaded.current.get(state.source) === state.id
      ? join(paths.active, `${state.source}.cast`)
      : undefined;
    const report = await reconcileSpool(castPath, state, {
      spoolDir: paths.spool,
      stateDir: paths.state,
      signal: options.signal,
      wall: options.wall,
    });
    if (report.adopted || report.deleted.length) {
      logger.info("Reconciled spool of {id}: adopted {adopted}, deleted {deleted}", {
        id: state.id,
        adopted: report.adopted,
        deleted: report.deleted.length,
      });
    }
  }
  return loaded;
}
