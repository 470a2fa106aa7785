/**
 * Publish: one `Remote` per remote and branch (target, clone, queue, snapshot), the engine's side of
 * them (which generations have work, when, one batch), the public-repository guard, and where a
 * recording without a checkpoint resumes.
 *
 * @module
 */
export { earliest } from "./push_timing.ts";
export { RemoteWork } from "./remote_work.ts";
export { type Remote, type Remotes, type RemoteSnapshot } from "./remotes.ts";
export { lookUp, type LookupAnswer } from "./resume.ts";
export { VisibilityGate } from "./visibility_gate.ts";
