/**
 * A recording's bytes straight from the branch, in order, for readers that
 * render or follow it (`text`, `search`, `reindex`, `play --follow`): the
 * chunks go through the restore's own checked path (lib/branch/verify.ts
 * scanRecording: each chunk through lib/branch/chunk_stream.ts, decrypted
 * when encrypted, then `zstd -d`, checked against its `Cast-Sha256`), so
 * whatever restore reads, these read too. A
 * recording without a manifest is still being written: it reads up to the
 * last pushed byte.
 *
 * @module
 */
import { loadChunkDetails, type Manifest } from "../git/mod.ts";
import type { BranchView } from "./source.ts";
import { RestoreError } from "./restore.ts";
import { loadManifest, scanRecording } from "./verify.ts";
import type { DecryptOptions } from "./chunk_stream.ts";
import { problemSummary } from "./layout.ts";

/** Options of {@linkcode streamRecordingBytes}. */
export interface StreamBytesOptions {
  /** Receives the bytes in order. */
  sink: (block: Uint8Array) => Promise<void>;
  /** Start at this chunk boundary (the bytes before it were read already). */
  from?: number;
  /** Stop after the chunk holding this byte (the rest is not read). */
  until?: number;
  signal?: AbortSignal;
  /** Identities for encrypted chunks and manifests (looked up when one is met). */
  identities?: DecryptOptions["identities"];
}

/** What {@linkcode streamRecordingBytes} read. */
export interface StreamedBytes {
  /** Where the bytes on the branch end (the last pushed byte). */
  end: number;
  /** Chunks on the branch. */
  chunks: number;
  /** The manifest, when the recording ended. */
  manifest?: Manifest;
}

/**
 * Streams recording `id` of `view` into `options.sink`. Throws a
 * `RestoreError`: `not_found` without chunks or manifest, `damaged` (nothing
 * more is read) when a chunk is missing, corrupt or does not match its
 * checksum.
 */
export async function streamRecordingBytes(
  view: BranchView,
  id: string,
  options: StreamBytesOptions,
): Promise<StreamedBytes> {
  const entries = view.index.chunks.get(id) ?? [];
  if (entries.length === 0 && !view.index.manifests.has(id)) {
    throw new RestoreError(
      "not_found",
      `There is no recording ${JSON.stringify(id)} on the branch: run \`daemon.ts list\` to see ` +
        "the recordings there.",
    );
  }
  await loadChunkDetails(view.index, view.reader, { ids: [id], signal: options.signal });
  const { manifest, problem, locked } = await loadManifest(view.index, id, view.reader, {
    identities: options.identities,
  });
  const report = await scanRecording(id, {
    entries,
    manifest,
    manifestProblem: problem ?? locked,
    reader: view.reader,
    sink: options.sink,
    stopOnProblem: true,
    wholeFileHash: false,
    from: options.from,
    until: options.until,
    signal: options.signal,
    identities: options.identities,
  });
  if (report.problems.length) {
    throw new RestoreError(
      "damaged",
      `${id} cannot be read intact from the branch: ${problemSummary(report.problems)}`,
      report.problems,
    );
  }
  return { end: report.bytes, chunks: entries.length, manifest };
}
