/**
 * Counts the `Deno.FsFile` writes made while a body runs in this process
 * (a test's view of how many write calls a file cost, never their time).
 *
 * @module
 */

/** Runs `body` and returns its result with the number of `FsFile.write` calls it made. */
export async function countFileWrites<T>(
  body: () => Promise<T>,
): Promise<{ value: T; writes: number }> {
  const proto = Deno.FsFile.prototype;
  const original = proto.write;
  let writes = 0;
  proto.write = function (this: Deno.FsFile, bytes: Uint8Array) {
    writes++;
    return original.call(this, bytes);
  };
  try {
    const value = await body();
    return { value, writes };
  } finally {
    proto.write = original;
  }
}
