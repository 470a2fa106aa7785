/**
 * The text of recordings: rendering output through a terminal emulator, the
 * committed text index (format, building, reading), search across every
 * recording of the known remotes (or local `.cast` files), and following a
 * recording for playback.
 *
 * @module
 */
export { REGEX_TIME_LIMIT_MS } from "./bounded_regex.ts";
export { readRecordingText } from "./branch_text.ts";
export {
  decodeDerivedPayload,
  derivedPayloadCodec,
  encodeDerivedPayload,
  type PayloadCodec,
  PayloadTooLargeError,
  sealingFor,
  ZstdWriter,
} from "./codec.ts";
export {
  CastFormatError,
  type CastHeader,
  EventParser,
  LineSplitter,
  parseCastHeader,
  parseResize,
} from "./events.ts";
export { buildTextIndex, type BuiltIndex, fileFeed } from "./index_build.ts";
export {
  decodeIndexHeader,
  encodeIndexHeader,
  encodeIndexLine,
  escapeText,
  INDEX_VERSION,
  IndexDecoder,
  IndexFormatError,
  type IndexLine,
  indexTime,
  MAX_INDEX_LINE,
  textIndexPathOnBranch,
} from "./index_format.ts";
export { LineCollector, type RowReader, type TextLine } from "./lines.ts";
export {
  isLocalCast,
  LocalCastError,
  notBackedUpReason,
  readLocalText,
  searchFiles,
} from "./local_text.ts";
export {
  compileMatcher,
  formatMatchJson,
  formatMatchText,
  formatOffset,
  formatTextLine,
  type Match,
  type MatchPlace,
  MatchScanner,
  needsSeparator,
  PatternError,
} from "./match.ts";
export { CastRenderer, renderFeed } from "./render.ts";
export { closestIds, searchRecordings } from "./search.ts";
export { searchedRemotes } from "./remotes.ts";
export { reindexRecordings } from "./reindex.ts";
export { PlaybackStream } from "./playback.ts";
export { type FollowOptions, followRecording } from "./follow.ts";
