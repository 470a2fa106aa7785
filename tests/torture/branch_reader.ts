/**
 * An independent reader of the bare remote for the oracle: git plumbing
 * (`ls-tree`, `cat-file --batch`) and `zstd -d`, nothing from lib/. It knows
 * only the documented layout: `chunks/<chunk id>/<seq>_<start>-<end>.cast.zst`,
 * `recordings/<chunk id>/manifest.json` and each chunk's record
 * `recordings/<chunk id>/chunks/<seq>_<start>-<end>`.
 *
 * @module
 */
import { command } from "./proc.ts";
import { readBlobs, unzstdEach } from "../support/remote_blobs.ts";
import { gitEnv } from "./remote.ts";

/** One chunk file on the branch. */
export interface BranchChunk {
  /** Its path. */
  path: string;
  /** Sequence number. */
  seq: number;
  /** Byte range start. */
  start: number;
  /** Byte range end (exclusive). */
  end: number;
  /** Decompressed bytes, or null when zstd failed. */
  raw: Uint8Array | null;
}

/** Everything on the branch, by chunk id. */
export interface BranchContents {
  /** Chunks per chunk id, sorted by seq. */
  chunks: Map<string, BranchChunk[]>;
  /** Manifest text per chunk id. */
  manifests: Map<string, string>;
  /** Chunk records per chunk id: text by `<seq>_<start>-<end>`. */
  records: Map<string, Map<string, string>>;
  /** Paths that fit neither layout. */
  strays: string[];
}

const CHUNK = /^chunks\/(.+)\/(\d{6,})_(\d+)-(\d+)\.cast\.zst$/;
const MANIFEST = /^recordings\/(.+)\/manifest\.json$/;
const RECORD = /^recordings\/(.+)\/chunks\/(\d{6,}_\d+-\d+)$/;
const decoder = new TextDecoder();

/** Reads `branch` of the bare repository `gitDir` (empty when the branch does not exist). */
export async function readBranch(gitDir: string, branch: string): Promise<BranchContents> {
  const contents: BranchContents = {
    chunks: new Map(),
    manifests: new Map(),
    records: new Map(),
    strays: [],
  };
  const listing = await command("git", {
    args: ["ls-tree", "-r", "-z", "--full-tree", `refs/heads/${branch}`],
    env: { ...gitEnv(), GIT_DIR: gitDir },
    timeoutMs: 20_000,
  });
  if (listing.code !== 0) return contents;
  const entries = decoder.decode(listing.stdout).split("\0").filter(Boolean).map((line) => {
    const tab = line.indexOf("\t");
    return { oid: line.slice(0, tab).split(" ")[2], path: line.slice(tab + 1) };
  });
  const blobs = await readBlobs(gitDir, [...new Set(entries.map((entry) => entry.oid))]);
  // Every chunk decompressed on its own, by one zstd for the lot.
  const packed: { chunk: BranchChunk; blob: Uint8Array }[] = [];
  for (const { oid, path } of entries) {
    const chunk = CHUNK.exec(path);
    const manifest = MANIFEST.exec(path);
    const record = RECORD.exec(path);
    if (record) {
      const records = contents.records.get(record[1]) ?? new Map<string, string>();
      records.set(record[2], decoder.decode(blobs.get(oid)!));
      contents.records.set(record[1], records);
    } else if (chunk) {
      const [, id, seq, start, end] = chunk;
      const list = contents.chunks.get(id) ?? [];
      const found: BranchChunk = {
        path,
        seq: Number(seq),
        start: Number(start),
        end: Number(end),
        raw: null,
      };
      list.push(found);
      packed.push({ chunk: found, blob: blobs.get(oid)! });
      contents.chunks.set(id, list);
    } else if (manifest) {
      contents.manifests.set(manifest[1], decoder.decode(blobs.get(oid)!));
    } else {
      contents.strays.push(path);
    }
  }
  const raws = await unzstdEach(packed.map((one) => one.blob));
  packed.forEach((one, i) => one.chunk.raw = raws[i]);
  for (const list of contents.chunks.values()) list.sort((a, b) => a.seq - b.seq);
  return contents;
}
