/**
 * The generations the engine works on: checkpoints of unfinished
 * generations by id and by recording, and the ids of finished ones (reserved
 * for good). Every change is told to one listener, so indexes built on top
 * (which remote has work) stay current at the cost of the change, never of
 * a walk over every checkpoint.
 *
 * @module
 */
import type { RecordingState } from "../../chunk/mod.ts";

/** Unfinished generations, indexed, and the finished ids. */
export class Generations {
  #byId = new Map<string, RecordingState>();
  #bySource = new Map<string, Set<RecordingState>>();
  #finished = new Set<string>();
  #listener: (state: RecordingState, removed: boolean) => void = () => {};

  /** Sets the one listener of changes (a generation added, changed or removed). */
  listen(listener: (state: RecordingState, removed: boolean) => void): void {
    this.#listener = listener;
  }

  /** The generation `id`, if unfinished. */
  get(id: string): RecordingState | undefined {
    return this.#byId.get(id);
  }

  /** True when `id` is unfinished. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Every unfinished generation. */
  values(): IterableIterator<RecordingState> {
    return this.#byId.values();
  }

  /** How many are unfinished. */
  get size(): number {
    return this.#byId.size;
  }

  /** The unfinished generations of recording (file id) `source`. */
  of(source: string): RecordingState[] {
    return [...this.#bySource.get(source) ?? []];
  }

  /** True when recording `source` has an unfinished generation. */
  hasSource(source: string): boolean {
    return (this.#bySource.get(source)?.size ?? 0) > 0;
  }

  /** Adds (or replaces) a generation. */
  set(state: RecordingState): void {
    const old = this.#byId.get(state.id);
    if (old && old !== state) this.#bySource.get(old.source)?.delete(old);
    this.#byId.set(state.id, state);
    let set = this.#bySource.get(state.source);
    if (!set) this.#bySource.set(state.source, set = new Set());
    set.add(state);
    this.#listener(state, false);
  }

  /** A generation changed in place (its checkpoint was written). */
  touched(state: RecordingState): void {
    if (this.#byId.get(state.id) === state) this.#listener(state, false);
  }

  /** Removes a generation (finished). */
  delete(id: string): void {
    const state = this.#byId.get(id);
    if (!state) return;
    this.#byId.delete(id);
    const set = this.#bySource.get(state.source);
    set?.delete(state);
    if (set?.size === 0) this.#bySource.delete(state.source);
    this.#listener(state, true);
  }

  /** Marks `id` finished (reserved: never used for another generation). */
  finish(id: string): void {
    this.#finished.add(id);
  }

  /** True when `id` is taken: unfinished or finished. */
  taken(id: string): boolean {
    return this.#byId.has(id) || this.#finished.has(id);
  }
}
