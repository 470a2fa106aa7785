/**
 * Reading a branch back on any machine: the branch source (which remote, which
 * clone), the chunk stream (decrypting age chunks), restore, verify, and the
 * remote look-up.
 *
 * @module
 */
export { type DecryptOptions, manifestBytes } from "./chunk_stream.ts";
export { streamRecordingBytes } from "./recording_bytes.ts";
export {
  knownRemotes,
  readableRemotes,
  recordingRemote,
  remoteKey,
  RemoteLookupError,
  type RemoteLookupOptions,
  resolveRemote,
} from "./remote_lookup.ts";
export {
  type ListedRecording,
  listKnownRemotes,
  listRecordings,
  type ListResult,
  type RemoteListing,
  RestoreError,
  restoreRecording,
} from "./restore.ts";
export { type Decompressed } from "./restore_stream.ts";
export {
  BranchSourceError,
  type BranchSourceOptions,
  type BranchView,
  openBranch,
  readBranchRecordings,
  resolveBranchRemote,
  storeAuthResolver,
} from "./source.ts";
export { checkLayout } from "./layout.ts";
export { loadManifest, verifyBranch } from "./verify.ts";
