/**
 * Blob contents streamed through one `git cat-file --batch` per reader:
 * {@linkcode BlobReader} for one blob after another, {@linkcode feedBlocks}
 * to stream them into a sink without holding any whole.
 *
 * @module
 */
import { KindedError, timeoutSignal } from "../sys/mod.ts";
import { spawnGit } from "./hermetic.ts";

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
  signal?: AbortSignal;
  /** Kill `git cat-file` after this long (default 10 min; size it to the data). */
  timeoutMs?: number;
}

/** A blob is larger than what reading it may cost. */
export class BlobTooLargeError extends KindedError<"too-large"> {
  /** Creates the error (kind `too-large`). */
  constructor(message: string) {
    super("too-large", message);
  }
}

/** A blob is not in the repository (a copy that holds only part of the branch). */
export class BlobMissingError extends KindedError<"missing"> {
  /** Creates the error (kind `missing`). */
  constructor(message: string) {
    super("missing", message);
  }
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

  /** The repository read. */
  readonly gitDir: string;
  /** Its daemon-owned git config, if any. */
  readonly globalConfig?: string;

  private constructor(gitDir: string, options: BlobReaderOptions) {
    this.gitDir = gitDir;
    this.globalConfig = options.globalConfig;
    this.#limit = timeoutSignal(options.timeoutMs ?? 600_000, options.signal);
    this.#child = spawnGit(gitDir, {
      args: ["cat-file", "--batch"],
      globalConfig: options.globalConfig,
      signal: this.#limit.signal,
    });
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
  async *stream(sha: string, options: { maxBytes?: number } = {}): AsyncGenerator<Uint8Array> {
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
      if (!match) throw new BlobMissingError(`object ${sha} is missing from the repository`);
      left = Number(match[3]);
      if (match[2] !== "blob") throw new Error(`object ${sha} is a ${match[2]}, not a blob`);
      if (options.maxBytes !== undefined && left > options.maxBytes) {
        throw new BlobTooLargeError(
          `object ${sha} is ${left} bytes, more than the ${options.maxBytes} it may be: not read`,
        );
      }
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

  /**
   * Small blobs (records, manifests), asked for all at once: one write of
   * every request, the answers read in order, not a round trip each. A blob
   * that is missing, not a blob or over `maxBytes` is `undefined` (and not
   * read).
   */
  async readSmall(
    shas: readonly string[],
    maxBytes: number,
  ): Promise<(Uint8Array | undefined)[]> {
    if (this.#busy) throw new Error("BlobReader: one request at a time");
    if (this.#broken) throw new Error("git cat-file is no longer usable");
    const bad = shas.find((sha) => !/^[0-9a-f]{40,64}$/.test(sha));
    if (bad !== undefined) throw new Error(`not an object id: ${bad}`);
    if (shas.length === 0) return [];
    this.#busy = true;
    const asked = this.#writer.write(new TextEncoder().encode(shas.join("\n") + "\n"))
      .catch(() => {}); // the process is gone: the header read below says why
    const found: (Uint8Array | undefined)[] = [];
    try {
      for (const sha of shas) {
        const header = await this.#reader.readLine();
        if (header === undefined) {
          throw new Error(`git cat-file ended: ${(await this.#stderr).trim()}`);
        }
        const match = /^([0-9a-f]+) (\S+) (\d+)$/.exec(header);
        if (!match) {
          if (!header.endsWith(" missing")) {
            throw new Error(`git cat-file said ${header} for ${sha}`);
          }
          found.push(undefined);
          continue;
        }
        const size = Number(match[3]);
        if (match[2] !== "blob" || size > maxBytes) {
          await this.#reader.skip(size + 1);
          found.push(undefined);
          continue;
        }
        const bytes = new Uint8Array(size);
        let at = 0;
        while (at < size) {
          const part = await this.#reader.read(size - at);
          bytes.set(part, at);
          at += part.length;
        }
        await this.#reader.skip(1);
        found.push(bytes);
      }
    } catch (error) {
      this.#broken = true; // out of step with the answers
      throw error;
    } finally {
      await asked;
      this.#busy = false;
    }
    return found;
  }

  /**
   * The whole blob (for small ones such as manifests); one larger than
   * `maxBytes` is refused before it is read ({@linkcode BlobTooLargeError}).
   */
  async read(sha: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let length = 0;
    for await (const block of this.stream(sha, options)) {
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
 * Writes `blocks` into `stdin` (a decoder's input), then closes it. A
 * decoder that stops reading (zstd rejecting a corrupt frame) is not an
 * error: the rest is still read and dropped, so a blob reader behind
 * `blocks` stays in step for the next blob. A read error aborts the input
 * and is thrown.
 */
export async function feedBlocks(
  blocks: AsyncIterable<Uint8Array>,
  stdin: WritableStream<Uint8Array>,
): Promise<void> {
  const writer = stdin.getWriter();
  let alive = true;
  try {
    for await (const block of blocks) {
      if (!alive) continue;
      try {
        await writer.write(block);
      } catch {
        alive = false;
      }
    }
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
  await writer.close().catch(() => {});
}
