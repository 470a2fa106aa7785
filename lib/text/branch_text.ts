/**
 * A recording's text as read from its branch: the committed index
 * (`recordings/<id>/text.zst`) when the recording is finished and the index
 * is this version and covers all of it, else rendered from the chunks
 * (recordings in progress: up to the last pushed byte). Both give the same
 * lines: the index is the renderer's output, stored.
 *
 * @module
 */
import { errorMessage } from "../sys/mod.ts";
import {
  type BranchView,
  type DecryptOptions,
  loadManifest,
  manifestBytes,
  streamRecordingBytes,
} from "../branch/mod.ts";
import type { BranchIndex, Manifest } from "../git/mod.ts";
import { decodeDerivedPayload, type PayloadCodec } from "./codec.ts";
import {
  INDEX_NAME,
  IndexDecoder,
  IndexFormatError,
  type IndexLine,
  type IndexMeta,
  indexTime,
  type LineFilter,
  maxIndexBytes,
} from "./index_format.ts";
import { buildTextIndex, type BuiltIndex } from "./index_build.ts";
import { renderFeed } from "./render.ts";

/** A committed text index on the branch. */
export interface IndexFile {
  /** Path on the branch. */
  path: string;
  /** Its blob. */
  blob: string;
}

/** The text index of `id` committed on the branch (plain or sealed), if any. */
export function findTextIndex(index: BranchIndex, id: string): IndexFile | undefined {
  const files = index.files.get(id);
  if (!files) return undefined;
  for (const [name, file] of files) {
    if (name === INDEX_NAME || name.startsWith(`${INDEX_NAME}.`)) return file;
  }
  return undefined;
}

/** What the lines come with: where they were read and what the recording is. */
export interface TextInfo {
  /** Recording id. */
  id: string;
  /** The committed index, or rendered from the chunks. */
  source: "index" | "rendered";
  /** The manifest, when the recording ended. */
  manifest?: Manifest;
  /** Start of the recording (Unix seconds), from its header, when known. */
  timestamp?: number;
}

/** Options of {@linkcode readRecordingText}. */
export interface ReadTextOptions {
  /** Receives the lines in order (with what is known about the recording). */
  onLines: (lines: IndexLine[], info: TextInfo) => Promise<void>;
  /** Read the committed index when there is a usable one (default true). */
  useIndex?: boolean;
  /** Identities for encrypted chunks, manifests and indexes (looked up when one is met). */
  identities?: DecryptOptions["identities"];
  /**
   * Regions of the index that need not be decoded (see `LineFilter`); each
   * skipped region goes to `onSkip` instead of `onLines`. Rendered text is
   * never filtered.
   */
  filter?: LineFilter;
  /** Receives what the filter skipped: how many lines, and the ones at its ends. */
  onSkip?: (
    skipped: { count: number; head: IndexLine[]; tail: IndexLine[] },
    info: TextInfo,
  ) => Promise<void>;
  /** Abort. */
  signal?: AbortSignal;
}

/** What {@linkcode readRecordingText} read. */
export interface TextResult extends TextInfo {
  /** Lines delivered. */
  lines: number;
  /** Why the index was not used although there is one. */
  note?: string;
}

/** Reads the index `file`: checks its first line against the manifest before any line goes out. */
async function readIndex(
  view: BranchView,
  file: IndexFile,
  info: TextInfo,
  options: ReadTextOptions,
): Promise<{ lines: number } | { unusable: string }> {
  let opened: Uint8Array;
  try {
    // Sealed like a manifest when chunks are encrypted: opened the same way.
    opened = await manifestBytes(view.reader, { ...file, encrypted: file.path.endsWith(".age") }, {
      identities: options.identities,
      maxBytes: maxIndexBytes(info.manifest?.total_bytes ?? 0),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { unusable: `its index cannot be opened (${errorMessage(error)})` };
  }
  const decoder = new IndexDecoder();
  const text = new TextDecoder();
  let meta: IndexMeta | undefined;
  let count = 0;
  const deliver = async (lines: IndexLine[]) => {
    if (lines.length === 0) return;
    count += lines.length;
    await options.onLines(lines, { ...info, timestamp: meta?.timestamp });
  };
  const blocks = decodeDerivedPayload(opened, {
    maxBytes: maxIndexBytes(info.manifest?.total_bytes ?? 0),
  });
  try {
    const filter = options.onSkip ? options.filter : undefined;
    for await (const block of blocks) {
      options.signal?.throwIfAborted();
      const batch = decoder.push(text.decode(block, { stream: true }), filter);
      if (!meta && decoder.meta) {
        meta = decoder.meta;
        const expected = info.manifest?.total_bytes;
        if (meta.id !== info.id || meta.bytes !== expected) {
          return {
            unusable: `its index covers ${meta.bytes} bytes of ${JSON.stringify(meta.id)}, ` +
              `the recording has ${expected}`,
          };
        }
      }
      await deliver(batch.lines);
      if (batch.skipped) {
        count += batch.skipped.count;
        await options.onSkip!(batch.skipped, { ...info, timestamp: meta?.timestamp });
      }
    }
    const last = decoder.end();
    meta ??= decoder.meta;
    await deliver(last);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (count === 0) {
      return { unusable: `its index cannot be read (${errorMessage(error)})` };
    }
    throw new IndexFormatError(
      `${file.path} is damaged after ${count} lines (${errorMessage(error)}): ` +
        `rebuild it with \`daemon.ts reindex --force --id ${info.id}\``,
    );
  }
  return { lines: count };
}

/** Renders `id` from its chunks; returns the lines delivered. */
async function renderFromChunks(
  view: BranchView,
  info: TextInfo,
  options: ReadTextOptions,
): Promise<number> {
  let count = 0;
  await renderFeed(
    (sink) =>
      streamRecordingBytes(view, info.id, {
        sink,
        signal: options.signal,
        identities: options.identities,
      }),
    async (lines, header) => {
      count += lines.length;
      await options.onLines(
        lines.map((line) => ({ t: indexTime(line.us), text: line.text })),
        { ...info, timestamp: header.timestamp },
      );
    },
  );
  return count;
}

/**
 * Reads recording `id`'s text from `view` into `options.onLines`. Throws a
 * `RestoreError` when its chunks cannot be read, `CastFormatError` when they
 * are not a recording, `IndexFormatError` when its index breaks mid-way.
 */
export async function readRecordingText(
  view: BranchView,
  id: string,
  options: ReadTextOptions,
): Promise<TextResult> {
  const { manifest } = await loadManifest(view.index, id, view.reader, {
    identities: options.identities,
  });
  const info: TextInfo = { id, source: "index", manifest };
  const file = manifest && options.useIndex !== false ? findTextIndex(view.index, id) : undefined;
  let note: string | undefined;
  if (file) {
    const read = await readIndex(view, file, info, options);
    if ("lines" in read) return { ...info, lines: read.lines };
    note = `${id}: ${read.unusable}; rendered from its chunks instead`;
  }
  const rendered: TextInfo = { ...info, source: "rendered" };
  const lines = await renderFromChunks(view, rendered, options);
  return { ...rendered, lines, ...(note ? { note } : {}) };
}

/** Renders `id` from the branch into a sealed index (for `reindex`); needs its manifest. */
export async function buildIndexFromBranch(
  view: BranchView,
  id: string,
  options: { codec?: PayloadCodec; signal?: AbortSignal } & DecryptOptions = {},
): Promise<BuiltIndex> {
  const { manifest, problem, locked } = await loadManifest(view.index, id, view.reader, options);
  if (!manifest) {
    throw new Error(
      problem ?? locked ??
        `${id} has no manifest yet (still recording): its index is built when it ends`,
    );
  }
  return await buildTextIndex(
    (sink) =>
      streamRecordingBytes(view, id, {
        sink,
        signal: options.signal,
        identities: options.identities,
      }),
    { id, bytes: manifest.total_bytes, codec: options.codec },
  );
}
