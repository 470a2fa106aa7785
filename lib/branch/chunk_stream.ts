/**
 * The one place where chunks are read back: the zstd frames of a chunk on
 * the branch, decrypted first when it is an age chunk (`.cast.zst.age`),
 * and a manifest's bytes, decrypted when it is `manifest.json.age`. Restore,
 * verify and list read through here, and so does anything else that reads
 * chunks. The identity is looked up only when something encrypted is met
 * (lib/crypto/identity.ts); its errors name `--identity`.
 *
 * @module
 */
import { type BlobReader, type ChunkEntry, feedBlocks } from "../git/mod.ts";
import { decryptBytes, DecryptError, decryptStream, type Identities } from "../crypto/mod.ts";
import { errorMessage, KindedError } from "../sys/mod.ts";

/**
 * A chunk that cannot be read as plaintext: `identity` (no identity at
 * hand), `no-match` (the identity cannot decrypt it), `corrupt` (damaged
 * ciphertext). The message names the chunk and the fix.
 */
export class ChunkDecryptError extends KindedError<"identity" | "no-match" | "corrupt"> {}

/** What reading needs to decrypt: the identities (absent: none at hand). */
export interface DecryptOptions {
  /** Identities, looked up on first use. */
  identities?: Identities;
}

function label(entry: Pick<ChunkEntry, "seq" | "start" | "end">): string {
  return `chunk #${entry.seq} (bytes ${entry.start}-${entry.end})`;
}

async function identitiesFor(what: string, options: DecryptOptions): Promise<string[]> {
  if (!options.identities) {
    throw new ChunkDecryptError(
      "identity",
      `${what} is encrypted (age) and no identity was given: pass --identity FILE`,
    );
  }
  try {
    return await options.identities.get();
  } catch (error) {
    throw new ChunkDecryptError("identity", `${what}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

function shaped(what: string, error: unknown): unknown {
  if (!(error instanceof DecryptError)) return error;
  const fix = error.kind === "no-match"
    ? "; pass --identity with a key it was encrypted to (its recipients may have changed)"
    : "";
  return new ChunkDecryptError(error.kind, `${what} cannot be decrypted: ${error.message}${fix}`, {
    cause: error,
  });
}

/** The blob of a chunk as a stream (blocks copied: the reader reuses its buffer). */
function blobStream(reader: BlobReader, blob: string): {
  stream: ReadableStream<Uint8Array>;
  close: () => Promise<void>;
} {
  const blocks = reader.stream(blob);
  return {
    stream: new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await blocks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value.slice());
      },
      async cancel() {
        await blocks.return(undefined);
      },
    }),
    // Skips what was not read, so the reader stays in step for the next blob.
    close: async () => {
      await blocks.return(undefined);
    },
  };
}

/**
 * Yields the zstd frames of one chunk: its blob as it is, or decrypted when
 * the chunk is encrypted. Throws a {@linkcode ChunkDecryptError} (naming the
 * chunk and `--identity`) when it cannot be decrypted; stopping early is safe.
 */
export async function* chunkFrames(
  reader: BlobReader,
  entry: Pick<ChunkEntry, "seq" | "start" | "end" | "blob" | "encrypted">,
  options: DecryptOptions = {},
): AsyncGenerator<Uint8Array> {
  if (!entry.encrypted) {
    yield* reader.stream(entry.blob);
    return;
  }
  const what = label(entry);
  const identities = await identitiesFor(what, options);
  const blob = blobStream(reader, entry.blob);
  try {
    for await (const block of decryptStream(blob.stream, identities)) yield block;
  } catch (error) {
    throw shaped(what, error);
  } finally {
    await blob.close();
  }
}

/**
 * Writes the zstd frames of `entries`, in order, to a decoder's standard
 * input and closes it. A decoder that stops reading (zstd rejecting a
 * corrupt frame) is not an error: the rest is still read, so `reader`
 * stays in step. A read or decryption error aborts the input and is thrown.
 */
export async function feedChunks(
  reader: BlobReader,
  entries: readonly Pick<ChunkEntry, "seq" | "start" | "end" | "blob" | "encrypted">[],
  stdin: WritableStream<Uint8Array>,
  options: DecryptOptions = {},
): Promise<void> {
  await feedBlocks(
    (async function* () {
      for (const entry of entries) yield* chunkFrames(reader, entry, options);
    })(),
    stdin,
  );
}

/** The most a manifest blob may be (a manifest is a few hundred bytes): a larger one is not read. */
export const MAX_MANIFEST_BYTES = 1 << 20;

/**
 * The bytes of a manifest blob (or another small sealed payload: pass its
 * `maxBytes`), decrypted when it is `….age`; a blob above `maxBytes`
 * (default {@linkcode MAX_MANIFEST_BYTES}) is refused before it is read.
 */
export async function manifestBytes(
  reader: BlobReader,
  found: { path: string; blob: string; encrypted?: boolean },
  options: DecryptOptions & { maxBytes?: number } = {},
): Promise<Uint8Array> {
  const bytes = await reader.read(found.blob, { maxBytes: options.maxBytes ?? MAX_MANIFEST_BYTES });
  if (!found.encrypted) return bytes;
  const identities = await identitiesFor(found.path, options);
  try {
    return await decryptBytes(bytes, identities);
  } catch (error) {
    throw shaped(found.path, error);
  }
}
