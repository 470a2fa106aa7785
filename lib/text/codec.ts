/**
 * Encoding a derived payload (the text index) for the branch and back:
 * zstd in-process (node:zlib, the same frames the `zstd` tool reads: an
 * index can be checked with `git cat-file blob … | zstd -d`), then the
 * payload codec — the one hook where encryption plugs in. The daemon and
 * `reindex` both seal through {@linkcode encodeDerivedPayload} with the
 * codec {@linkcode sealingFor} picks from the recording (its encryption and
 * recipients) before the local settings; readers
 * open a sealed payload like a manifest (lib/branch/chunk_stream.ts) and
 * decompress it through {@linkcode decodeDerivedPayload}.
 *
 * @module
 */
import * as zlib from "node:zlib";
import { KindedError, type Settings, timeoutSignal } from "../sys/mod.ts";
import { encryptBytes } from "../crypto/mod.ts";
import { spawnZstd, zstdTimeoutMs } from "../chunk/mod.ts";

/** How a derived payload is sealed for the branch (plain, or encrypted to the recipients). */
export interface PayloadCodec {
  /** Added to the file name on the branch (`""` plain, `".age"` encrypted). */
  suffix: string;
  /** Seals the (compressed) payload. */
  encode(bytes: Uint8Array): Promise<Uint8Array>;
}

/** No sealing: the compressed payload as it is. */
export const PLAIN_CODEC: PayloadCodec = {
  suffix: "",
  encode: (bytes) => Promise.resolve(bytes),
};

/**
 * The codec for payloads derived from a recording with the local settings
 * only (a recording that is not encrypted): with `encryption.recipients`
 * the payload is sealed, `age(zstd(text))` named `….age`; without, plain.
 * For a recording that may be encrypted, ask {@linkcode sealingFor}.
 */
export function derivedPayloadCodec(settings?: Settings): PayloadCodec {
  return codecFor(settings?.encryption?.recipients ?? []);
}

function codecFor(recipients: readonly string[]): PayloadCodec {
  if (recipients.length === 0) return PLAIN_CODEC;
  return { suffix: ".age", encode: (bytes) => encryptBytes(bytes, recipients) };
}

/** What is known of a recording's encryption, for {@linkcode sealingFor}. */
export interface RecordingSealing {
  /** Some chunk or its manifest is encrypted. */
  encrypted: boolean;
  /** The recipients it was sealed to, when known (its checkpoint or manifest). */
  recipients?: readonly string[];
}

/** What may be used when the recording's own recipients are not known. */
export interface LocalSealing {
  /** `encryption.recipients` of the local config.json. */
  recipients?: readonly string[];
  /** Recipients of the identities at hand (`--identity`): whoever runs this can read it back. */
  identityRecipients?: readonly string[];
}

/**
 * How anything derived from a recording is sealed (DESIGN.md invariant 14):
 * it follows the recording, never the local settings of the moment. An
 * encrypted recording's payload is sealed to its own recipients, else to the
 * local config's, else to the identity's; with none of them it is refused
 * (`{refuse}` says why and what to do) — never written in clear. A plain
 * recording's payload is sealed when the local config encrypts, else plain.
 */
export function sealingFor(
  recording: RecordingSealing,
  local: LocalSealing = {},
): { codec: PayloadCodec } | { refuse: string } {
  const own = recording.recipients ?? [];
  if (own.length) return { codec: codecFor(own) };
  const configured = local.recipients ?? [];
  if (!recording.encrypted) return { codec: codecFor(configured) };
  const fallback = configured.length ? configured : local.identityRecipients ?? [];
  if (fallback.length) return { codec: codecFor(fallback) };
  return {
    refuse: "its chunks are encrypted and the recipients to seal its text index to are not " +
      "known: set encryption.recipients in config.json (or pass --identity) and run " +
      "`daemon.ts reindex` again; it is never written in clear",
  };
}

/** zstd level of derived payloads (text compresses well; decoding speed does not depend on it). */
const LEVEL = 9;

/**
 * Compresses text as it comes (zstd, streaming): memory holds the
 * compressed output, never the whole text.
 */
export class ZstdWriter {
  #stream = zlib.createZstdCompress({
    params: { [zlib.constants.ZSTD_c_compressionLevel]: LEVEL },
  });
  #parts: Uint8Array[] = [];
  #done: Promise<void>;
  #encoder = new TextEncoder();

  /** Starts the compressor. */
  constructor() {
    this.#stream.on("data", (block: Uint8Array) => this.#parts.push(block));
    this.#done = new Promise((resolve, reject) => {
      this.#stream.on("end", resolve);
      this.#stream.on("error", reject);
    });
  }

  /** Adds text. */
  write(text: string): void {
    if (text) this.#stream.write(this.#encoder.encode(text));
  }

  /** Ends the frame; returns it. */
  async finish(): Promise<Uint8Array> {
    this.#stream.end();
    await this.#done;
    const out = new Uint8Array(this.#parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** Seals a compressed payload with `codec`; returns the bytes and the name suffix. */
export async function encodeDerivedPayload(
  compressed: Uint8Array,
  codec: PayloadCodec = PLAIN_CODEC,
): Promise<{ bytes: Uint8Array; suffix: string }> {
  return { bytes: await codec.encode(compressed), suffix: codec.suffix };
}

/** Payloads bigger than this decompress in a `zstd` process beside the reader (another core). */
const PROCESS_BYTES = 1 << 20;
/** Blocks handed on at once (smaller pipe reads are gathered up to this). */
const BLOCK_BYTES = 1 << 20;

/** Decompresses `data` in a `zstd -d` process, yielding its output in blocks of about 1 MiB. */
async function* zstdProcess(data: Uint8Array): AsyncGenerator<Uint8Array> {
  const limit = timeoutSignal(zstdTimeoutMs(data.length * 20));
  const child = spawnZstd(["-d", "-q", "-c"], { signal: limit.signal });
  const writer = child.stdin.getWriter();
  const fed = writer.write(data).then(() => writer.close()).catch(() => {});
  const stderr = new Response(child.stderr).text().catch(() => "");
  let parts: Uint8Array[] = [];
  let size = 0;
  const gathered = () => {
    const out = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    parts = [];
    size = 0;
    return out;
  };
  try {
    for await (const block of child.stdout) {
      parts.push(block);
      size += block.length;
      if (size >= BLOCK_BYTES) yield gathered();
    }
    if (size) yield gathered();
    await fed;
    const status = await child.status;
    if (!status.success) {
      throw new Error(limit.timedOut() ? "zstd timed out" : `zstd: ${(await stderr).trim()}`);
    }
  } finally {
    try {
      child.kill();
    } catch {
      // ended already
    }
    await child.status.catch(() => {});
    limit.clear();
  }
}

/**
 * Yields the decompressed bytes of an (opened) payload in blocks:
 * in-process for small payloads, through a `zstd` process for big ones (it
 * decompresses on another core while the reader scans); past `maxBytes` it
 * stops with a {@linkcode PayloadTooLargeError}.
 */
export async function* decodeDerivedPayload(
  opened: Uint8Array,
  options: { maxBytes?: number } = {},
): AsyncGenerator<Uint8Array> {
  const max = options.maxBytes ?? Infinity;
  let total = 0;
  const blocks = opened.length > PROCESS_BYTES
    ? zstdProcess(opened)
    : zlib.createZstdDecompress({ chunkSize: BLOCK_BYTES }).end(opened);
  for await (const block of blocks as AsyncIterable<Uint8Array>) {
    total += block.length;
    // Stopped where it passes what the recording can give (a zstd bomb, a hostile branch).
    if (total > max) throw new PayloadTooLargeError(max);
    yield block;
  }
}

/** A derived payload decompresses to more than its recording can give. */
export class PayloadTooLargeError extends KindedError<"too-large"> {
  /** Creates the error for a bound of `max` bytes. */
  constructor(max: number) {
    super(
      "too-large",
      `it decompresses to more than ${max} bytes, more than its recording can give`,
    );
  }
}
