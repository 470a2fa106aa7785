/**
 * What the engine's parts share: its options and events, the recordings and generations, the
 * health counters, the failpoints.
 *
 * @module
 */
export { type EngineCore, hasWork, type HealthCounters, type Recording } from "./core.ts";
export { allowFailpoints, failpoint, FAILPOINT_FLAG, FAILPOINTS } from "./failpoint.ts";
export { Generations } from "./generations.ts";
export type { EngineEvent, EngineOptions } from "./options.ts";
