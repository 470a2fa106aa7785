/**
 * Building a recording's text index: render its bytes (from the branch or a
 * local file), write the index format as the lines come, compress on the
 * fly, and seal the result with the payload codec — ready to commit as
 * `recordings/<id>/text.zst` (lib/text/index_format.ts).
 *
 * @module
 */
import { encodeDerivedPayload, type PayloadCodec, PLAIN_CODEC, ZstdWriter } from "./codec.ts";
import type { CastHeader } from "./events.ts";
import {
  encodeIndexHeader,
  encodeIndexLine,
  type IndexMeta,
  indexTime,
  textIndexPathOnBranch,
} from "./index_format.ts";
import { type ByteFeed, renderFeed } from "./render.ts";

/** A built index, sealed for the branch. */
export interface BuiltIndex {
  /** Path on the branch (with the codec's suffix). */
  path: string;
  /** The bytes to commit. */
  bytes: Uint8Array;
  /** Lines of text in it. */
  lines: number;
  /** Its first line. */
  meta: IndexMeta;
}

/** Options of {@linkcode buildTextIndex}. */
export interface BuildIndexOptions {
  /** Recording id. */
  id: string;
  /** Bytes the feed gives (the whole recording); a feed that gives another amount fails. */
  bytes: number;
  /** Seals the payload (default plain). */
  codec?: PayloadCodec;
}

function metaOf(id: string, bytes: number, header: CastHeader | undefined): IndexMeta {
  return {
    id,
    bytes,
    cols: header?.cols ?? 80,
    rows: header?.rows ?? 24,
    ...(header?.timestamp === undefined ? {} : { timestamp: header.timestamp }),
  };
}

/** Renders `feed` into a sealed text index. Throws when the feed fails or is short. */
export async function buildTextIndex(
  feed: ByteFeed,
  options: BuildIndexOptions,
): Promise<BuiltIndex> {
  const writer = new ZstdWriter();
  let started = false;
  let lines = 0;
  const summary = await renderFeed(feed, (batch, header) => {
    if (!started) {
      writer.write(encodeIndexHeader(metaOf(options.id, options.bytes, header)));
      started = true;
    }
    let text = "";
    for (const line of batch) text += encodeIndexLine({ t: indexTime(line.us), text: line.text });
    writer.write(text);
    lines += batch.length;
  });
  if (summary.bytes !== options.bytes) {
    await writer.finish().catch(() => {});
    throw new Error(
      `rendered ${summary.bytes} bytes of ${options.id}, expected ${options.bytes}`,
    );
  }
  const meta = metaOf(options.id, options.bytes, summary.header);
  if (!started) writer.write(encodeIndexHeader(meta));
  const codec = options.codec ?? PLAIN_CODEC;
  const sealed = await encodeDerivedPayload(await writer.finish(), codec);
  return {
    path: textIndexPathOnBranch(options.id, sealed.suffix),
    bytes: sealed.bytes,
    lines,
    meta,
  };
}

/** Feeds bytes `[0, bytes)` of the file at `path` (the daemon's finished `.cast`). */
export function fileFeed(path: string, bytes: number): ByteFeed {
  return async (sink) => {
    using file = await Deno.open(path, { read: true });
    const buffer = new Uint8Array(1 << 20);
    let left = bytes;
    while (left > 0) {
      const n = await file.read(buffer.subarray(0, Math.min(buffer.length, left)));
      if (n === null) throw new Error(`${path} ends ${left} bytes early`);
      left -= n;
      await sink(buffer.slice(0, n));
    }
  };
}
