/**
 * Writes to a file in blocks of a fixed size (the daemon's: 1 MiB) instead of
 * one call per piece handed in: a child's pipe delivers at most 64 KiB at a
 * time, and a deflate stored block is under 64 KiB, so writing each as it
 * comes costs a file write per piece. Here a 65 MB chunk written in 64 KiB
 * pieces took 100 to 160 ms of the daemon's main thread; in 1 MiB blocks,
 * 25 ms.
 *
 * @module
 */

/** Where bytes are written: a `Deno.FsFile`, or anything that writes like one. */
export interface ByteSink {
  /** Writes some of `bytes` (at least one); returns how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Writes every byte of `bytes` to `file` (a short write continues). */
export async function writeFully(file: ByteSink, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/**
 * Collects what is written into a block and writes the block when it is
 * full; {@linkcode BlockWriter.flush} writes what is left. Pieces are copied:
 * the caller may reuse its buffer as soon as `write` returns. The block is
 * the caller's (a pooled one: a fresh megabyte per file is garbage outside
 * V8's heap, collected late), free again after the last `flush`.
 */
export class BlockWriter {
  #file: ByteSink;
  #block: Uint8Array;
  #filled = 0;
  #written = 0;

  /** A writer into `file` (left open: the caller closes it) in blocks of `block`'s size. */
  constructor(file: ByteSink, block: Uint8Array) {
    if (block.length === 0) throw new RangeError("BlockWriter: an empty block");
    this.#file = file;
    this.#block = block;
  }

  /** Bytes handed to {@linkcode BlockWriter.write} so far (written or waiting). */
  get bytes(): number {
    return this.#written + this.#filled;
  }

  /** Takes `bytes`; writes a block each time one fills. */
  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      // A whole block's worth with nothing waiting goes out as it is, without a copy.
      if (this.#filled === 0 && bytes.length - at >= this.#block.length) {
        const whole = bytes.length - at - ((bytes.length - at) % this.#block.length);
        await writeFully(this.#file, bytes.subarray(at, at + whole));
        this.#written += whole;
        at += whole;
        continue;
      }
      const take = Math.min(this.#block.length - this.#filled, bytes.length - at);
      this.#block.set(bytes.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === this.#block.length) await this.flush();
    }
  }

  /** Writes what waits in the block. */
  async flush(): Promise<void> {
    if (this.#filled === 0) return;
    await writeFully(this.#file, this.#block.subarray(0, this.#filled));
    this.#written += this.#filled;
    this.#filled = 0;
  }
}
