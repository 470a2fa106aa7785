/**
 * Git, hermetically: the git runner, token auth, remote URL rules, SSH
 * ControlMaster clean-up, the publisher (clone, fast-import, push) and the
 * branch index (chunks, trailers, manifests through plumbing).
 *
 * @module
 */
export * from "./auth.ts";
export * from "./branch_index.ts";
export * from "./derived_commit.ts";
export * from "./hermetic.ts";
export * from "./publisher.ts";
export * from "./remote_url.ts";
export * from "./ssh_control.ts";
