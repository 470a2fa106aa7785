/**
 * The text index: a finished recording's index rendered off the tick, committed and pushed in its
 * remote's queue.
 *
 * @module
 */
export { TextIndexer } from "./text_index.ts";
