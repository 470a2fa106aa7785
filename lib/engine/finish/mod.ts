/**
 * Finish: moving a finished recording to `done/` and marking it done.
 *
 * @module
 */
export { finishRecording, ownsFile } from "./finish.ts";
