/**
 * Chunk and manifest commits written by one `git fast-import`: the commit
 * messages with their `Cast-*` trailers, path quoting, and streaming the
 * spool files into it (chunks are zstd or age already: stored as they are).
 *
 * @module
 */
import { errorMessage, timeoutSignal } from "../sys/mod.ts";
import {
  chunkPathOnBranch,
  chunkSumPathOnBranch,
  formatChunkSum,
  manifestPathOnBranch,
  readRange,
} from "../chunk/mod.ts";
import { GIT_IDENTITY, spawnGit } from "./hermetic.ts";
import { PublishError } from "./target.ts";

/** A chunk to commit: its spool file and its place in the recording. */
export interface ChunkItem {
  /** Chunk id (folder on the branch). */
  id: string;
  /** Sequence number. */
  seq: number;
  /** Range start. */
  start: number;
  /** Range end. */
  end: number;
  /** sha256 of the raw bytes (never written to the branch for an encrypted chunk). */
  sha256: string;
  /** Encrypted with age (`.cast.zst.age`): no plaintext hash in its commit. */
  encrypted?: boolean;
  /** Spool file. */
  file: string;
  /** The spool file's blob, already in the clone (lib/git/blob_stage.ts): named, not streamed. */
  blob?: string;
}

/** A manifest to commit when a recording ends. */
export interface ManifestItem {
  /** Chunk id. */
  id: string;
  /** The manifest document. */
  manifest: Record<string, unknown>;
  /** The manifest encrypted with age: committed as `manifest.json.age` instead. */
  sealed?: Uint8Array;
}

/** C-style quoting of a path for git fast-import. */
export function quoteFastImportPath(path: string): string {
  let out = '"';
  for (const ch of path) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (code < 0x20 || code === 0x7f) out += "\\" + code.toString(8).padStart(3, "0");
    else out += ch;
  }
  return out + '"';
}

/** The commit message of a chunk, with its trailers. */
export function chunkCommitMessage(item: Omit<ChunkItem, "file">): string {
  return [
    `chunk ${item.id} #${item.seq} [${item.start}, ${item.end})`,
    "",
    `Cast-Id: ${item.id}`,
    `Cast-Seq: ${item.seq}`,
    `Cast-Range: ${item.start}-${item.end}`,
    // An encrypted chunk's plaintext hash stays on this machine (DESIGN.md invariant 14).
    ...(item.encrypted ? [] : [`Cast-Sha256: ${item.sha256}`]),
    "",
  ].join("\n");
}

const encoder = new TextEncoder();

/**
 * The fast-import command that adds a chunk's record beside its recording
 * (lib/chunk/chunk_sum.ts): its sha256 (none for an encrypted chunk) and
 * `committed`, the time of the chunk's commit, so readers need no history.
 */
export function chunkSumCommand(item: Omit<ChunkItem, "file">, committed: number): string {
  // ASCII only (hex and digits): its length in characters is its length in bytes.
  const body = formatChunkSum({ sha256: item.encrypted ? undefined : item.sha256, committed });
  return `M 100644 inline ${quoteFastImportPath(chunkSumPathOnBranch(item.id, item))}\n` +
    `data ${body.length}\n${body}\n`;
}

/**
 * The start of one fast-import commit on `ref`: the daemon's committer
 * identity with the time now (or `time`, Unix seconds; shown to people),
 * the message, and `from` when a parent is given. File commands follow it.
 */
export function commitHeader(
  ref: string,
  commit: { message: string; parent?: string; time?: number },
): string {
  const now = commit.time ?? Math.floor(Date.now() / 1000);
  return `commit ${ref}\n` +
    `committer ${GIT_IDENTITY.name} <${GIT_IDENTITY.email}> ${now} +0000\n` +
    `data ${encoder.encode(commit.message).length}\n${commit.message}\n` +
    (commit.parent ? `from ${commit.parent}\n` : "");
}

/** What {@linkcode writeCommits} commits. */
export interface WriteCommitsOptions {
  /** Daemon-owned git config (GIT_CONFIG_GLOBAL). */
  globalConfig?: string;
  /** Shutdown signal. */
  signal?: AbortSignal;
  /** The branch ref the commits go on. */
  ref: string;
  /** Its tip now (the first commit's parent), or undefined for a new branch. */
  parent?: string;
  /** Chunks, one commit each, in order. */
  chunks: ChunkItem[];
  /** Manifests, one commit each, after the chunks. */
  manifests: ManifestItem[];
}

/**
 * Writes the commits with one `git fast-import`, its timeout growing with
 * the bytes; throws {@linkcode PublishError} (`disk`) when it fails.
 */
export async function writeCommits(gitDir: string, options: WriteCommitsOptions): Promise<void> {
  const { chunks: todo, manifests: manifestTodo, parent } = options;
  let total = 0;
  for (const chunk of todo) if (!chunk.blob) total += (await Deno.stat(chunk.file)).size;
  const limit = timeoutSignal(
    120_000 + Math.ceil(total / (1 << 20)) * 2000,
    options.signal,
  );
  const process = spawnGit(gitDir, {
    // Chunks are zstd frames already: store them as they are. zlib on top
    // (core.compression: the pack, and the loose objects fast-import writes
    // for batches under fastimport.unpackLimit = 100 objects) and the delta
    // search against the previous blob (below --big-file-threshold) cost
    // more than zstd itself and save nothing.
    args: [
      "-c",
      "core.compression=0",
      "fast-import",
      "--quiet",
      "--done",
      "--big-file-threshold=64k",
    ],
    globalConfig: options.globalConfig,
    signal: limit.signal,
  });
  const writer = process.stdin.getWriter();
  const stderr = new Response(process.stderr).text();
  const stdout = new Response(process.stdout).text();
  let first = true;
  const header = (message: string, time?: number) => {
    const text = commitHeader(options.ref, { message, parent: first ? parent : undefined, time });
    first = false;
    return text;
  };
  try {
    for (const chunk of todo) {
      const now = Math.floor(Date.now() / 1000);
      if (chunk.blob) {
        await writer.write(encoder.encode(
          header(chunkCommitMessage(chunk), now) + chunkSumCommand(chunk, now) +
            `M 100644 ${chunk.blob} ${quoteFastImportPath(chunkPathOnBranch(chunk.id, chunk))}\n`,
        ));
        continue;
      }
      const info = await Deno.stat(chunk.file);
      await writer.write(encoder.encode(
        header(chunkCommitMessage(chunk), now) + chunkSumCommand(chunk, now) +
          `M 100644 inline ${quoteFastImportPath(chunkPathOnBranch(chunk.id, chunk))}\n` +
          `data ${info.size}\n`,
      ));
      let copied = 0;
      const file = await Deno.open(chunk.file, { read: true });
      try {
        // One reused buffer: writer.write resolves once its bytes are written.
        for await (const block of readRange(file, 0, info.size)) {
          copied += block.length;
          await writer.write(block);
        }
        if ((await file.read(new Uint8Array(1))) !== null) copied++;
      } finally {
        file.close();
      }
      if (copied !== info.size) throw new Error(`${chunk.file} changed while committing`);
      await writer.write(encoder.encode("\n"));
    }
    for (const item of manifestTodo) {
      const body = item.sealed ?? encoder.encode(JSON.stringify(item.manifest, null, 2) + "\n");
      const path = manifestPathOnBranch(item.id, { encrypted: item.sealed !== undefined });
      await writer.write(encoder.encode(
        header(`manifest ${item.id}\n\nCast-Id: ${item.id}\n`) +
          `M 100644 inline ${quoteFastImportPath(path)}\n` +
          `data ${body.length}\n`,
      ));
      await writer.write(body);
      await writer.write(encoder.encode("\n"));
    }
    await writer.write(encoder.encode("done\n"));
    await writer.close();
  } catch (error) {
    await writer.abort().catch(() => {});
    await process.status;
    limit.clear();
    // A broken pipe only says fast-import died: what it said is the reason.
    const said = (await stderr.catch(() => "")).trim().slice(0, 500);
    throw new PublishError("disk", `git fast-import failed: ${said || errorMessage(error)}`);
  }
  const [status, errText] = await Promise.all([process.status, stderr, stdout]);
  limit.clear();
  if (!status.success) {
    throw new PublishError("disk", `git fast-import failed: ${errText.trim().slice(0, 500)}`);
  }
}
