/**
 * Bounds on an age header before any identity is tried against it (pure
 * scan, then a stream that gives the bytes back): a crafted chunk with
 * 20,000 recipient stanzas made every reader try each one (17 s of X25519
 * per chunk). Ours carry one stanza per recipient in `encryption.recipients`;
 * a header with more than {@linkcode MAX_AGE_STANZAS} stanzas, or longer than
 * {@linkcode MAX_AGE_HEADER_BYTES} without its `---` line, is refused as
 * corrupt.
 *
 * @module
 */
import { concatBytes } from "../sys/mod.ts";

/** Most recipient stanzas a header may have (one per recipient; teams stay far below). */
export const MAX_AGE_STANZAS = 128;

/** Most bytes a header may take before its `---` line (128 X25519 stanzas take about 14 KiB). */
export const MAX_AGE_HEADER_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const MAGIC = new TextEncoder().encode("age-encryption.org/");
const STANZA = new TextEncoder().encode("-> ");
const END = new TextEncoder().encode("---");

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * What the first bytes of an age file say about its header: `complete`
 * (within bounds, or not an age header at all: the decrypter reports that),
 * `incomplete` (more bytes are needed to tell), or the reason it is refused.
 */
export function scanAgeHeader(bytes: Uint8Array): "complete" | "incomplete" | { refused: string } {
  const magic = Math.min(bytes.length, MAGIC.length);
  if (!startsWith(MAGIC.subarray(0, magic), 0, bytes.subarray(0, magic))) return "complete";
  let stanzas = 0;
  let line = 0;
  const limit = Math.min(bytes.length, MAX_AGE_HEADER_BYTES);
  for (let at = 0; at < limit; at++) {
    if (bytes[at] !== NEWLINE) continue;
    if (startsWith(bytes, line, STANZA) && ++stanzas > MAX_AGE_STANZAS) {
      return { refused: `its age header has more than ${MAX_AGE_STANZAS} recipient stanzas` };
    }
    line = at + 1;
    if (startsWith(bytes, line, END)) return "complete";
  }
  if (bytes.length >= MAX_AGE_HEADER_BYTES) {
    return { refused: `its age header is longer than ${MAX_AGE_HEADER_BYTES} bytes` };
  }
  return "incomplete";
}

/**
 * Reads `input` until its header can be judged by {@linkcode scanAgeHeader};
 * returns the refusal, or a stream of every byte of `input` (the header
 * read included) for the decrypter.
 */
export async function boundedAgeStream(
  input: ReadableStream<Uint8Array>,
): Promise<{ refused: string } | { stream: ReadableStream<Uint8Array> }> {
  const reader = input.getReader();
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  while (true) {
    const verdict = scanAgeHeader(head);
    if (typeof verdict === "object") {
      await reader.cancel().catch(() => {});
      return verdict;
    }
    if (verdict === "complete" || ended) break;
    const next = await reader.read();
    if (next.done) {
      ended = true;
      continue;
    }
    head = concatBytes([head, next.value]);
  }
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
      if (ended) controller.close();
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
  return { stream };
}
