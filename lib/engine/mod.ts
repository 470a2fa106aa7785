/**
 * The daemon core: watch and plan, bounded cut passes, per-remote publish
 * queues, finishing, health and the text index, one sub-folder each. See
 * docs/architecture.md for the parts and the planner's rules.
 *
 * @module
 */
export { Engine } from "./engine.ts";
export {
  allowFailpoints,
  type EngineEvent,
  type EngineOptions,
  FAILPOINT_FLAG,
  FAILPOINTS,
} from "./core/mod.ts";
