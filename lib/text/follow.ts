/**
 * Following a recording on its branch while it is being made elsewhere
 * (`play --follow`): read what is there, then fetch the branch every few
 * seconds and hand on the chunks that arrived, until the manifest says the
 * recording ended and every byte was read. Fetches go into one scratch
 * repository, so each one transfers only what is new; chunks are read
 * through the restore's checked path (lib/branch/recording_bytes.ts).
 *
 * A fetch that fails (the network, the remote) is retried at the next poll;
 * a chunk that cannot be read once its bytes started flowing ends the follow
 * (what was handed on cannot be taken back).
 *
 * @module
 */
import {
  type BranchSourceOptions,
  openBranch,
  RestoreError,
  streamRecordingBytes,
} from "../branch/mod.ts";
import { BlobReader, readBranchIndex } from "../git/mod.ts";
import { delay, errorMessage } from "../sys/mod.ts";

/** Options of {@linkcode followRecording}. */
export interface FollowOptions extends BranchSourceOptions {
  /** Receives the bytes in order; `live` for those that arrived after the first read. */
  onBytes: (block: Uint8Array, live: boolean) => Promise<void>;
  /** Time between fetches (default 2 s). */
  intervalMs?: number;
  /** Asked before each fetch: true ends the follow (the player quit). */
  stopped?: () => boolean;
  /** A fetch failed; the follow goes on (default: nothing). */
  onRetry?: (message: string) => void;
  /** Start at this chunk boundary (default 0: the whole recording). */
  from?: number;
  /** Called after each read of the branch: what it held was handed on. */
  onRead?: () => void;
}

/** How a follow ended. */
export interface FollowResult {
  /** Bytes handed on. */
  bytes: number;
  /** The recording ended and every byte was read. */
  complete: boolean;
}

/**
 * Follows recording `id` (options.id) until it ended and was read whole, the
 * player stopped, or the signal fired. Throws a `BranchSourceError` or
 * `RestoreError` when the first read fails (nothing was handed on).
 */
export async function followRecording(
  id: string,
  options: FollowOptions,
): Promise<FollowResult> {
  const scratch = await Deno.makeTempDir({ prefix: "asciinema-follow-" });
  let have = options.from ?? 0;
  let first = true;
  try {
    while (!options.signal?.aborted && !options.stopped?.()) {
      let flowing = false;
      try {
        const source = await openBranch({ ...options, id, scratch });
        try {
          const index = await readBranchIndex(source.gitDir, source.ref, {
            ids: [id],
            deepen: source.deepen,
            signal: options.signal,
          });
          if (index) {
            const reader = BlobReader.open(source.gitDir, { signal: options.signal });
            try {
              const read = await streamRecordingBytes({ index, reader }, id, {
                from: have,
                signal: options.signal,
                identities: options.identities,
                sink: async (block) => {
                  flowing = true;
                  have += block.length;
                  await options.onBytes(block, !first);
                },
              });
              options.onRead?.();
              if (read.manifest && have >= read.manifest.total_bytes) {
                return { bytes: have, complete: true };
              }
            } finally {
              await reader.close();
            }
          } else if (first) {
            throw new RestoreError(
              "not_found",
              `${source.branch} of ${source.url} does not exist: nothing was backed up there yet.`,
            );
          }
        } finally {
          await source.close();
        }
      } catch (error) {
        if (first || flowing || options.signal?.aborted) throw error;
        if (error instanceof RestoreError && error.kind === "damaged") throw error;
        options.onRetry?.(errorMessage(error));
      }
      first = false;
      await delay(options.intervalMs ?? 2000, { signal: options.signal });
    }
    return { bytes: have, complete: false };
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}
