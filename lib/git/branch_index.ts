/**
 * What a recordings branch holds, read from a git directory with plumbing
 * only (hermetic {@linkcode git}): the chunks of every recording with their
 * `Cast-Sha256` trailers, the manifests, and blob contents streamed through
 * one `git cat-file --batch`. This is what `restore`, `list` and `verify`
 * read, and what the daemon uses to rebuild a lost checkpoint
 * ({@linkcode resumePointFor}).
 *
 * Ids may hold spaces, quotes, unicode or a leading dash: every listing uses
 * `-z` output, and paths are passed after `--` as literal pathspecs.
 *
 * @module
 */
import { z } from "zod";
import { manifestPathOnBranch, parseChunkName, sha256Range } from "../chunk/mod.ts";
import { timeoutSignal } from "../sys/mod.ts";
import { git, gitEnv, GitError } from "./hermetic.ts";

/** One chunk file on the branch. */
export interface ChunkEntry {
  /** Recording (chunk folder) id. */
  id: string;
  /** Sequence number from the name. */
  seq: number;
  /** First byte of the `.cast` it holds (inclusive). */
  start: number;
  /** End of its range (exclusive). */
  end: number;
  /** Path on the branch: `chunks/<id>/<name>`. */
  path: string;
  /** Blob id of the compressed chunk. */
  blob: string;
  /** Compressed size in bytes. */
  size: number;
  /** Encrypted with age (`.cast.zst.age`): `age(zstd(bytes))`. */
  encrypted?: boolean;
  /** sha256 (hex) of the raw bytes, from the `Cast-Sha256` trailer of the chunk's commit. */
  sha256?: string;
  /** The commit that carried the trailers. */
  commit?: string;
  /** Committer time of that commit (Unix seconds). */
  committedAt?: number;
}

/** A file under `chunks/` that is not a chunk. */
export interface StrayFile {
  /** Path on the branch. */
  path: string;
  /** The recording folder it sits in, when there is one. */
  id?: string;
  /** Why it is not a chunk. */
  reason: string;
}

/** Everything a branch holds about recordings. */
export interface BranchIndex {
  /** The ref read. */
  ref: string;
  /** The commit the ref pointed to (every read used this commit). */
  tip: string;
  /** Chunks by id, sorted by sequence then start. */
  chunks: Map<string, ChunkEntry[]>;
  /** Manifest blobs by id (`recordings/<id>/manifest.json`, or `manifest.json.age` encrypted). */
  manifests: Map<string, { path: string; blob: string; encrypted?: boolean }>;
  /** Files under `chunks/` that are not chunks. */
  stray: StrayFile[];
}

/** Options for reading a branch. */
export interface BranchReadOptions {
  /** Only these recordings (default: every one on the branch). */
  ids?: string[];
  /** Daemon-owned git config (`GIT_CONFIG_GLOBAL`). */
  globalConfig?: string;
  /** Abort. */
  signal?: AbortSignal;
  /** Timeout per git call (default 120 s). */
  timeoutMs?: number;
}

/** A recording's manifest (`recordings/<id>/manifest.json`); unknown keys are kept. */
export const ManifestSchema = z.looseObject({
  id: z.string().min(1),
  total_bytes: z.number().int().min(0),
  chunks: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable().optional(),
  started: z.string().nullable().optional(),
  ended: z.string().nullable().optional(),
});

/** A parsed manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;

/** Thrown when a manifest is not valid JSON or misses fields. */
export class ManifestError extends Error {
  /** Path of the manifest on the branch. */
  readonly path: string;
  /** Creates the error. */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "ManifestError";
    this.path = path;
  }
}

/** Parses manifest bytes; throws a {@linkcode ManifestError} naming the problem. */
export function parseManifest(bytes: Uint8Array | string, path: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ManifestError(path, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(path, `${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
  }
  return parsed.data;
}

function gitOptions(gitDir: string, options: BranchReadOptions) {
  return {
    gitDir,
    globalConfig: options.globalConfig,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 120_000,
  };
}

/** The commit `ref` points to, or `undefined` when there is no such ref. */
export async function resolveTip(
  gitDir: string,
  ref: string,
  options: BranchReadOptions = {},
): Promise<string | undefined> {
  const result = await git(
    ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`],
    gitOptions(gitDir, options),
  );
  return result.success ? result.stdout.trim() : undefined;
}

function trailerKey(id: string, seq: number, start: number, end: number): string {
  return `${id}\0${seq}\0${start}\0${end}`;
}

/** Trailers of one chunk commit. */
export interface ChunkTrailers {
  /** `Cast-Id`. */
  id: string;
  /** `Cast-Seq`. */
  seq: number;
  /** `Cast-Range` start. */
  start: number;
  /** `Cast-Range` end. */
  end: number;
  /** `Cast-Sha256`, when present. */
  sha256?: string;
}

/** Reads the `Cast-*` trailers of a commit message; `undefined` unless it is a chunk commit. */
export function parseChunkTrailers(message: string): ChunkTrailers | undefined {
  const values = new Map<string, string>();
  for (const line of message.split("\n")) {
    const match = /^Cast-(Id|Seq|Range|Sha256): ?(.*)$/.exec(line);
    if (match) values.set(match[1], match[2].replace(/\r$/, ""));
  }
  const id = values.get("Id");
  const seq = values.get("Seq");
  const range = /^(\d+)-(\d+)$/.exec(values.get("Range") ?? "");
  if (!id || !seq || !/^\d+$/.test(seq) || !range) return undefined;
  const sha = values.get("Sha256")?.trim().toLowerCase();
  return {
    id,
    seq: Number(seq),
    start: Number(range[1]),
    end: Number(range[2]),
    sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined,
  };
}

function pathspecs(options: BranchReadOptions, top: "chunks" | "recordings"): string[] {
  return options.ids ? options.ids.map((id) => `${top}/${id}/`) : [`${top}/`];
}

/**
 * Reads the branch at `ref` of the repository `gitDir`: chunk names from one
 * `git ls-tree`, their trailers from one `git log`. Returns `undefined` when
 * the ref does not exist.
 */
export async function readBranchIndex(
  gitDir: string,
  ref: string,
  options: BranchReadOptions = {},
): Promise<BranchIndex | undefined> {
  const tip = await resolveTip(gitDir, ref, options);
  if (!tip) return undefined;
  const opts = gitOptions(gitDir, options);
  const index: BranchIndex = { ref, tip, chunks: new Map(), manifests: new Map(), stray: [] };
  if (options.ids?.length === 0) return index;

  const lsArgs = [
    "--literal-pathspecs",
    "ls-tree",
    "-r",
    "-l",
    "-z",
    "--full-tree",
    tip,
    "--",
    ...pathspecs(options, "chunks"),
    ...pathspecs(options, "recordings"),
  ];
  const listed = await git(lsArgs, opts);
  if (!listed.success) throw new GitError(lsArgs.slice(1), listed);
  const wanted = options.ids ? new Set(options.ids) : undefined;
  for (const record of listed.stdout.split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    if (tab < 0) continue;
    const [, type, blob, size] = record.slice(0, tab).split(/\s+/);
    const path = record.slice(tab + 1);
    const slash = path.indexOf("/");
    const top = path.slice(0, slash);
    const rest = path.slice(slash + 1);
    const idEnd = rest.indexOf("/");
    if (idEnd <= 0) {
      if (top === "chunks") index.stray.push({ path, reason: "not inside a recording folder" });
      continue;
    }
    const id = rest.slice(0, idEnd);
    const name = rest.slice(idEnd + 1);
    if (wanted && !wanted.has(id)) continue;
    if (top === "recordings") {
      if (path === manifestPathOnBranch(id) && type === "blob") {
        index.manifests.set(id, { path, blob });
      } else if (path === manifestPathOnBranch(id, { encrypted: true }) && type === "blob") {
        index.manifests.set(id, { path, blob, encrypted: true });
      }
      continue;
    }
    const range = type === "blob" && !name.includes("/") ? parseChunkName(name) : undefined;
    if (!range) {
      index.stray.push({
        path,
        id,
        reason: "not a chunk name (<seq>_<start>-<end>.cast.zst, or .cast.zst.age encrypted)",
      });
      continue;
    }
    let list = index.chunks.get(id);
    if (!list) index.chunks.set(id, list = []);
    list.push({ id, ...range, path, blob, size: Number(size) || 0 });
  }
  if (index.chunks.size === 0) return index;

  // Trailers of every chunk commit, in one call; the oldest commit naming a
  // chunk (the one that created it) wins.
  const logArgs = [
    "--literal-pathspecs",
    "log",
    "-z",
    "--format=%H%n%ct%n%B",
    tip,
    "--",
    ...pathspecs(options, "chunks"),
  ];
  const log = await git(logArgs, opts);
  if (!log.success) throw new GitError(logArgs.slice(1), log);
  const trailers = new Map<string, { sha256?: string; commit: string; committedAt: number }>();
  for (const record of log.stdout.split("\0")) {
    const first = record.indexOf("\n");
    if (first < 0) continue;
    const second = record.indexOf("\n", first + 1);
    const commit = record.slice(0, first).trim();
    const committedAt = Number(record.slice(first + 1, second < 0 ? undefined : second));
    const parsed = parseChunkTrailers(second < 0 ? "" : record.slice(second + 1));
    if (!parsed) continue;
    trailers.set(trailerKey(parsed.id, parsed.seq, parsed.start, parsed.end), {
      sha256: parsed.sha256,
      commit,
      committedAt,
    });
  }
  for (const list of index.chunks.values()) {
    for (const entry of list) {
      const found = trailers.get(trailerKey(entry.id, entry.seq, entry.start, entry.end));
      if (found) {
        entry.commit = found.commit;
        entry.committedAt = found.committedAt;
        if (found.sha256) entry.sha256 = found.sha256;
      }
    }
    list.sort((a, b) => a.seq - b.seq || a.start - b.start || a.end - b.end);
  }
  return index;
}

/**
 * The chunks of every recording on `ref` (or of `options.ids`), by id,
 * sorted by sequence. Empty when the ref does not exist.
 */
export async function listBranchChunks(
  gitDir: string,
  ref: string,
  options: BranchReadOptions = {},
): Promise<Map<string, ChunkEntry[]>> {
  return (await readBranchIndex(gitDir, ref, options))?.chunks ?? new Map();
}

/**
 * Reads `recordings/<id>/manifest.json` on `ref`; `undefined` when there is
 * none (the recording is still in progress). Throws a {@linkcode ManifestError}
 * when it is unreadable.
 */
export async function readManifest(
  gitDir: string,
  ref: string,
  id: string,
  options: BranchReadOptions = {},
): Promise<Manifest | undefined> {
  const path = manifestPathOnBranch(id);
  const result = await git(
    ["cat-file", "blob", `${ref}:${path}`],
    gitOptions(gitDir, options),
  );
  if (!result.success) {
    if (
      /does not exist|not a valid object|invalid object name|path .* does not/i.test(result.stderr)
    ) {
      return undefined;
    }
    throw new GitError(["cat-file"], result);
  }
  return parseManifest(result.stdout, path);
}

/** Where the daemon can continue a recording whose checkpoint is lost. */
export interface ResumePoint {
  /** Sequence number of the next chunk to cut (= chunks in the contiguous prefix). */
  next_seq: number;
  /** Byte offset where the next chunk starts (= end of the contiguous prefix). */
  end: number;
  /** The contiguous prefix: seq 0..next_seq-1 tiling [0, end), with their checksums. */
  chunks: { seq: number; start: number; end: number; sha256?: string }[];
  /** `Cast-Sha256` of each prefix chunk, indexed by seq (`undefined` when unknown). */
  sha256s: (string | undefined)[];
  /** Chunks on the branch that are not part of the prefix (after a gap, or duplicates). */
  beyond: ChunkEntry[];
}

/**
 * The resume point of one recording from its branch entries: the longest
 * prefix with seq 0, 1, 2, ... whose ranges tile [0, end) exactly. Entries
 * after a gap or overlap are returned in `beyond` (the daemon should log
 * them; they cannot be continued safely).
 */
export function resumePointFor(entries: readonly ChunkEntry[]): ResumePoint {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq || a.start - b.start);
  const point: ResumePoint = { next_seq: 0, end: 0, chunks: [], sha256s: [], beyond: [] };
  for (const entry of sorted) {
    if (point.beyond.length === 0 && entry.seq === point.next_seq && entry.start === point.end) {
      point.chunks.push({
        seq: entry.seq,
        start: entry.start,
        end: entry.end,
        sha256: entry.sha256,
      });
      point.sha256s.push(entry.sha256);
      point.next_seq++;
      point.end = entry.end;
    } else {
      point.beyond.push(entry);
    }
  }
  return point;
}

/** Result of {@linkcode checkResumePoint}. */
export type ResumeCheck =
  | { ok: true; checked: number }
  | { ok: false; seq?: number; start: number; end: number; reason: string };

/**
 * Checks that the local `.cast` at `castPath` really is the recording the
 * branch holds up to `point.end`: it is at least that long and each prefix
 * chunk's bytes match its `Cast-Sha256`. Use before continuing from `point`;
 * when not ok, the file is a different recording (cut it as a new generation).
 * `lastOnly` checks just the last chunk with a checksum (cheap, O(chunk)).
 */
export async function checkResumePoint(
  castPath: string,
  point: ResumePoint,
  options: { lastOnly?: boolean } = {},
): Promise<ResumeCheck> {
  let size: number;
  try {
    size = (await Deno.stat(castPath)).size;
  } catch (error) {
    return {
      ok: false,
      start: 0,
      end: point.end,
      reason: `cannot read: ${(error as Error).message}`,
    };
  }
  if (size < point.end) {
    return {
      ok: false,
      start: size,
      end: point.end,
      reason: `the file has ${size} bytes, the branch already holds ${point.end}`,
    };
  }
  let chunks = point.chunks.filter((chunk) => chunk.sha256);
  if (options.lastOnly) chunks = chunks.slice(-1);
  for (const chunk of chunks) {
    const actual = await sha256Range(castPath, chunk.start, chunk.end);
    if (actual !== chunk.sha256) {
      return {
        ok: false,
        seq: chunk.seq,
        start: chunk.start,
        end: chunk.end,
        reason: `bytes ${chunk.start}-${chunk.end} differ from chunk #${chunk.seq} on the branch`,
      };
    }
  }
  return { ok: true, checked: chunks.length };
}

/** Buffered reads from a byte stream: lines and exact lengths. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: Uint8Array = new Uint8Array(0);

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    const { value, done } = await this.#reader.read();
    if (done) return false;
    if (this.#buffer.length === 0) {
      this.#buffer = value;
    } else {
      const joined = new Uint8Array(this.#buffer.length + value.length);
      joined.set(this.#buffer);
      joined.set(value, this.#buffer.length);
      this.#buffer = joined;
    }
    return true;
  }

  /** The next line without its newline; `undefined` at the end of the stream. */
  async readLine(): Promise<string | undefined> {
    while (true) {
      const newline = this.#buffer.indexOf(10);
      if (newline >= 0) {
        const line = new TextDecoder().decode(this.#buffer.subarray(0, newline));
        this.#buffer = this.#buffer.subarray(newline + 1);
        return line;
      }
      if (!(await this.#fill())) return undefined;
    }
  }

  /** Up to `max` (> 0) bytes; throws at the end of the stream. */
  async read(max: number): Promise<Uint8Array> {
    if (this.#buffer.length === 0 && !(await this.#fill())) {
      throw new Error("git cat-file output ended early");
    }
    const part = this.#buffer.subarray(0, Math.min(max, this.#buffer.length));
    this.#buffer = this.#buffer.subarray(part.length);
    return part;
  }

  /** Skips `length` bytes. */
  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) left -= (await this.read(left)).length;
  }

  /** Stops reading. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Options for {@linkcode BlobReader.open}. */
export interface BlobReaderOptions {
  /** Daemon-owned git config (`GIT_CONFIG_GLOBAL`). */
  globalConfig?: string;
  /** Abort. */
  signal?: AbortSignal;
  /** Kill `git cat-file` after this long (default 10 min; size it to the data). */
  timeoutMs?: number;
}

/**
 * Streams blobs out of a repository through one `git cat-file --batch`
 * process, one blob at a time, without holding a blob in memory.
 */
export class BlobReader {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ByteReader;
  #stderr: Promise<string>;
  #limit: ReturnType<typeof timeoutSignal>;
  #busy = false;
  #broken = false;

  private constructor(gitDir: string, options: BlobReaderOptions) {
    this.#limit = timeoutSignal(options.timeoutMs ?? 600_000, options.signal);
    this.#child = new Deno.Command("git", {
      args: ["cat-file", "--batch"],
      env: { ...gitEnv({ globalConfig: options.globalConfig }), GIT_DIR: gitDir },
      clearEnv: true,
      cwd: gitDir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: this.#limit.signal,
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = new ByteReader(this.#child.stdout);
    this.#stderr = new Response(this.#child.stderr).text().catch(() => "");
  }

  /** Starts `git cat-file --batch` in `gitDir`. */
  static open(gitDir: string, options: BlobReaderOptions = {}): BlobReader {
    return new BlobReader(gitDir, options);
  }

  /**
   * Yields the bytes of blob `sha` in blocks. Throws when the object is
   * missing. Stopping early is safe: the rest of the blob is skipped.
   */
  async *stream(sha: string): AsyncGenerator<Uint8Array> {
    if (this.#busy) throw new Error("BlobReader: one blob at a time");
    if (this.#broken) throw new Error("git cat-file is no longer usable");
    if (!/^[0-9a-f]{40,64}$/.test(sha)) throw new Error(`not an object id: ${sha}`);
    this.#busy = true;
    let left = -1;
    try {
      try {
        await this.#writer.write(new TextEncoder().encode(`${sha}\n`));
      } catch {
        // The process is gone: the header read below says why.
      }
      const header = await this.#reader.readLine();
      if (header === undefined) {
        this.#broken = true;
        const why = this.#limit.timedOut()
          ? "timed out"
          : this.#limit.signal.aborted
          ? "was stopped"
          : "ended";
        throw new Error(`git cat-file ${why}: ${(await this.#stderr).trim()}`);
      }
      const match = /^([0-9a-f]+) (\S+) (\d+)$/.exec(header);
      if (!match) throw new Error(`object ${sha} is missing from the repository`);
      left = Number(match[3]);
      if (match[2] !== "blob") throw new Error(`object ${sha} is a ${match[2]}, not a blob`);
      while (left > 0) {
        const part = await this.#reader.read(left);
        left -= part.length;
        yield part;
      }
    } finally {
      // Keep the stream in step: skip what was not read, and the newline.
      if (left >= 0 && !this.#broken) {
        try {
          await this.#reader.skip(left + 1);
        } catch (error) {
          this.#broken = true;
          // deno-lint-ignore no-unsafe-finally
          throw error;
        }
      }
      this.#busy = false;
    }
  }

  /** The whole blob (for small ones such as manifests). */
  async read(sha: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let length = 0;
    for await (const block of this.stream(sha)) {
      parts.push(block.slice());
      length += block.length;
    }
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return bytes;
  }

  /** Ends the process. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel();
    await this.#child.status.catch(() => {});
    await this.#stderr;
    this.#limit.clear();
  }
}

/**
 * Writes blobs `blobs`, in order, to a decoder's standard input and closes
 * it. A decoder that stops reading (zstd rejecting a corrupt frame) is not
 * an error: the rest is still read, so `reader` stays in step for the next
 * blob. A read error aborts the input and is thrown.
 */
export async function feedBlobs(
  reader: BlobReader,
  blobs: readonly string[],
  stdin: WritableStream<Uint8Array>,
): Promise<void> {
  const writer = stdin.getWriter();
  let alive = true;
  try {
    for (const blob of blobs) {
      for await (const block of reader.stream(blob)) {
        if (!alive) continue;
        try {
          await writer.write(block);
        } catch {
          alive = false;
        }
      }
    }
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
  await writer.close().catch(() => {});
}
