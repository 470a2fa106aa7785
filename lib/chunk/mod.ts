/**
 * What one chunk is: the asciicast header and newline rules, deterministic chunk
 * names, per-generation checkpoints, and streaming zstd compression.
 *
 * @module
 */
export {
  checkHeader,
  checkHeaderBytes,
  endsWithExitEventSync,
  firstNewlineEnd,
  lastNewlineEnd,
} from "./asciicast.ts";
export {
  chunkPathOnBranch,
  formatChunkName,
  manifestPathOnBranch,
  parseChunkName,
} from "./chunk_name.ts";
export {
  CHUNK_SUM_MAX_BYTES,
  CHUNK_SUMS_FOLDER,
  chunkSumName,
  chunkSumPathOnBranch,
  formatChunkSum,
  parseChunkSum,
  parseChunkSumName,
} from "./chunk_sum.ts";
export {
  type Fingerprint,
  folderOf,
  loadAllStates,
  loadState,
  newState,
  type PendingChunk,
  type RecordingState,
  saveState,
  statePath,
} from "./state.ts";
export {
  compressRange,
  decompressDigest,
  readRange,
  returnBlock,
  sha256Range,
  spawnZstd,
  takeBlock,
  zstdTimeoutMs,
} from "./zstd.ts";
