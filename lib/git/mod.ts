/**
 * Git, hermetically: the git runner, token auth, remote URL rules, SSH
 * ControlMaster clean-up, the publisher (clone, fast-import commits, push;
 * bare repositories created atomically), the
 * branch index (chunks, trailers, manifests through plumbing), and the
 * public-repository guard (visibility policy and its GitHub API call).
 *
 * @module
 */
export {
  anonymousNote,
  AuthSetupError,
  basicAuthHeader,
  classifyGitError,
  createAuthResolver,
  gitAuthFor,
  MissingTokenError,
  tokenAllowedFor,
  tokenAuth,
  TokenCache,
  tokenHostEntry,
  tokenScopeOf,
} from "./auth.ts";
export { ensureEmbeddedRemote } from "./bare_repo.ts";
export { canPipeBlobs, pipeBlobsInto } from "./blob_pipe.ts";
export { BlobMissingError, BlobReader, BlobTooLargeError, feedBlocks } from "./blob_reader.ts";
export {
  type BranchIndex,
  type BranchReadOptions,
  type ChunkEntry,
  listBranchChunks,
  loadChunkDetails,
  type Manifest,
  ManifestError,
  parseManifest,
  readBranchIndex,
  readManifest,
  resolveTip,
} from "./branch_index.ts";
export { parseChunkTrailers } from "./chunk_history.ts";
export {
  type Claimant,
  folderCandidates,
  type FolderView,
  hostTag,
  ownership,
  placeFolder,
} from "./claim.ts";
export { type DaemonEvent, type ErrorKind } from "./daemon_event.ts";
export { commitFiles, pushCommit } from "./derived_commit.ts";
export {
  chunkCommitMessage,
  type ChunkItem,
  chunkSumCommand,
  type ManifestItem,
  quoteFastImportPath,
} from "./fast_import.ts";
export { fetchVisibility } from "./github_api.ts";
export { git, type GitAuth, gitChecked, gitEnv, spawnGit } from "./hermetic.ts";
export {
  type CloneOwner,
  isPartialClone,
  type RemoteNotice,
  remoteRefusal,
  RepoClone,
} from "./publisher.ts";
export {
  applyUrlRewrites,
  parseUrlRewrites,
  plaintextRefusal,
  type Route,
  routeOf,
  type RouteOptions,
  type UrlRewrite,
} from "./remote_route.ts";
export {
  displayUrl,
  isLoopbackHost,
  normalizeHost,
  parseRemoteUrl,
  RemoteUrlError,
  type RepoName,
  repoNameOf,
  withoutCredentials,
} from "./remote_url.ts";

export {
  checkResumePoint,
  type ResumeCandidate,
  resumeCandidates,
  type ResumePoint,
  resumePointFor,
} from "./resume_point.ts";
export { clearGitHubControlMasters } from "./ssh_control.ts";
export { type AuthResolver, PublishError, type RemoteTarget, repoSlug } from "./target.ts";
export {
  decideVisibility,
  type GitHubRepo,
  githubRepoOf,
  PUBLIC_FIX,
  REFUSED_RECHECK_MS,
  repoFullName,
  UNKNOWN_RECHECK_MS,
  type Visibility,
  VISIBILITY_RECHECK_MS,
  type VisibilityAnswer,
  type VisibilityDecision,
  visibilityDue,
} from "./visibility.ts";
export {
  countObjects,
  DEFAULT_UPKEEP,
  geometricRollup,
  type ObjectCounts,
  parseCountObjects,
  upkeepDue,
} from "./upkeep.ts";
