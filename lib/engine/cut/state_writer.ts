/**
 * Serialized checkpoint updates: every change to a generation's checkpoint
 * (a cut appending a chunk, a push advancing `pushed_offset`, a finish) is
 * computed from the checkpoint as it is at that moment and written before
 * the next change to it starts, so concurrent stages never lose each
 * other's update.
 *
 * @module
 */
import { type RecordingState, saveState } from "../../chunk/mod.ts";
import { serially } from "../../sys/mod.ts";

/** A change to a checkpoint, computed from its current value. */
export type StateChange = (state: RecordingState) => RecordingState;

/** Applies a change durably, then in memory. */
export type StateUpdate = (state: RecordingState, change: StateChange) => Promise<void>;

/** An updater writing into `stateDir`, one change at a time per checkpoint. */
export function serialStateUpdate(stateDir: string): StateUpdate {
  const queue = serially();
  return (state, change) =>
    queue(async () => {
      const next = change(state);
      await saveState(stateDir, next);
      Object.assign(state, next);
    }, state.id);
}
