/**
 * The daemon core: watcher, tracker, pure planner, bounded cut passes,
 * per-remote publish queues, finishing, and health as a pure view.
 * See docs/architecture.md for the parts and the planner's rules.
 *
 * @module
 */
export { Engine } from "./engine.ts";
export type { EngineEvent, EngineOptions } from "./options.ts";
export { type Clock, systemClock } from "./clock.ts";
export { type Action, plan, type PlanInput } from "./planner.ts";
export { allowFailpoints, type Failpoint, FAILPOINT_FLAG, FAILPOINTS } from "./failpoint.ts";
