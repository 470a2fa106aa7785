/**
 * Git, hermetically: the git runner, token auth, remote URL rules, SSH
 * ControlMaster clean-up, the publisher (clone, fast-import commits, push;
 * bare repositories created atomically), the
 * branch index (chunks, trailers, manifests through plumbing), and the
 * public-repository guard (visibility policy and its GitHub API call).
 *
 * @module
 */
export * from "./auth.ts";
export { ensureEmbeddedRemote, initBareAtomically, isCompleteBare } from "./bare_repo.ts";
export * from "./blob_reader.ts";
export * from "./branch_index.ts";
export * from "./chunk_history.ts";
export * from "./claim.ts";
export * from "./daemon_event.ts";
export * from "./derived_commit.ts";
export {
  chunkCommitMessage,
  type ChunkItem,
  chunkSumCommand,
  type ManifestItem,
  quoteFastImportPath,
} from "./fast_import.ts";
export * from "./github_api.ts";
export * from "./hermetic.ts";
export * from "./publisher.ts";
export * from "./remote_route.ts";
export * from "./remote_url.ts";
export { type FolderMove, type History } from "./replay.ts";
export * from "./resume_point.ts";
export * from "./ssh_control.ts";
export * from "./target.ts";
export * from "./visibility.ts";
export * from "./upkeep.ts";
