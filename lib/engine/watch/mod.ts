/**
 * Watch and plan: file events to ids, the facts about one file, and the pure planner that turns
 * facts, checkpoint and time into the next action.
 *
 * @module
 */
export {
  ABSENT,
  type Action,
  type CutReason,
  type FileFacts,
  newProgress,
  plan,
  type PlanLimits,
  type Progress,
} from "./planner.ts";
export { configEndStamp, newMemo, readFacts, type TrackerMemo } from "./tracker.ts";
export { Watcher } from "./watcher.ts";
