/** Encrypted cuts: age(zstd(bytes)) in the spool, and crash adoption without the private key. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cutPass } from "../../../lib/engine/cut/cut_pass.ts";
import { reconcileSpool } from "../../../lib/engine/cut/spool.ts";
import { serialStateUpdate } from "../../../lib/engine/cut/state_writer.ts";
import { digestPathFor } from "../../../lib/engine/cut/sealed_chunk.ts";
import { formatChunkName, parseChunkName } from "../../../lib/chunk/chunk_name.ts";
import { loadState, newState, type RecordingState, statePath } from "../../../lib/chunk/state.ts";
import { ensureHome } from "../../../lib/sys/paths.ts";
import { exists } from "../../../lib/sys/fs.ts";
import { decryptBytes, newIdentity } from "../../../lib/crypto/mod.ts";
import { makeTestHome, type TestHome } from "../../support/env.ts";

async function zstdDecompress(bytes: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("zstd", {
    args: ["-d", "-q", "-c"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const writing = writer.write(bytes).then(() => writer.close());
  const [out] = await Promise.all([child.output(), writing]);
  assert.ok(out.success);
  return out.stdout;
}

Deno.test("encrypted chunk names parse back; plain ones stay as they were", () => {
  assert.equal(
    formatChunkName({ seq: 7, start: 10, end: 99, encrypted: true }),
    "000007_10-99.cast.zst.age",
  );
  assert.deepEqual(parseChunkName("000007_10-99.cast.zst.age"), {
    seq: 7,
    start: 10,
    end: 99,
    encrypted: true,
  });
  assert.deepEqual(parseChunkName("000007_10-99.cast.zst"), { seq: 7, start: 10, end: 99 });
  assert.equal(parseChunkName("000007_10-99.cast.zst.age.digest"), undefined);
});

async function setup(t: TestHome) {
  await ensureHome(t.paths);
  const cast = join(t.paths.active, "r.cast");
  const text = '{"version": 2}\n' + '[1, "o", "MARKER-plaintext"]\n'.repeat(20);
  await Deno.writeTextFile(cast, text);
  return { cast, text };
}

Deno.test("with recipients a cut writes age(zstd(bytes)); the checkpoint keeps the plaintext hash, the digest goes", async () => {
  const t = await makeTestHome();
  try {
    const { cast, text } = await setup(t);
    const key = await newIdentity();
    const state = newState("r");
    const result = await cutPass(cast, state, {
      spoolDir: t.paths.spool,
      level: 3,
      maxBytes: 200,
      upTo: text.length,
      final: true,
      wall: () => new Date(),
      update: serialStateUpdate(t.paths.state),
      recipients: [key.recipient],
    });
    assert.equal(result.kind, "cut");
    const names = (await Array.fromAsync(Deno.readDir(join(t.paths.spool, "r"))))
      .map((entry) => entry.name).sort();
    assert.ok(names.length >= 2);
    assert.ok(names.every((name) => name.endsWith(".cast.zst.age")), names.join(" "));
    const saved = await loadState(statePath(t.paths.state, "r")) as RecordingState;
    assert.equal(saved.encrypted, true);
    let joined = "";
    for (const chunk of saved.pending) {
      assert.equal(chunk.encrypted, true);
      const file = join(t.paths.spool, "r", formatChunkName(chunk));
      const sealed = await Deno.readFile(file);
      assert.ok(!new TextDecoder().decode(sealed).includes("MARKER"), "no plaintext in the spool");
      joined += new TextDecoder().decode(
        await zstdDecompress(await decryptBytes(sealed, [key.identity])),
      );
      assert.equal(await exists(digestPathFor(file)), false, "digest removed after the checkpoint");
    }
    assert.equal(joined, text);
  } finally {
    await t.cleanup();
  }
});

Deno.test("an encrypted chunk left by a crash before its checkpoint is adopted by its digest; a damaged or undigested one is cut again", async () => {
  const t = await makeTestHome();
  try {
    const { cast, text } = await setup(t);
    const key = await newIdentity();
    const state = newState("r");
    const options = { spoolDir: t.paths.spool, stateDir: t.paths.state };
    const real = serialStateUpdate(t.paths.state);
    await real(state, (current) => current);
    // The checkpoint write "crashes": the chunk and its digest are in the spool, the state is not.
    await assert.rejects(
      cutPass(cast, state, {
        ...options,
        level: 3,
        maxBytes: 100,
        upTo: text.length,
        final: false,
        wall: () => new Date(),
        update: () => Promise.reject(new Error("crash")),
        recipients: [key.recipient],
      }),
      /crash/,
    );
    const onDisk = await loadState(statePath(t.paths.state, "r")) as RecordingState;
    assert.equal(onDisk.cut_offset, 0);
    const report = await reconcileSpool(cast, onDisk, options);
    assert.equal(report.adopted, 1);
    assert.deepEqual(report.deleted.map((name) => name.endsWith(".digest")), [true]);
    assert.equal(onDisk.pending[0].encrypted, true);
    assert.equal(onDisk.encrypted, true);
    const adopted = join(t.paths.spool, "r", formatChunkName(onDisk.pending[0]));
    const bytes = await zstdDecompress(
      await decryptBytes(await Deno.readFile(adopted), [key.identity]),
    );
    assert.equal(new TextDecoder().decode(bytes), text.slice(0, onDisk.cut_offset));

    // The next chunk, damaged after the crash: its ciphertext no longer matches the digest.
    const next = newState("r");
    Object.assign(next, structuredClone(onDisk));
    await assert.rejects(
      cutPass(cast, next, {
        ...options,
        level: 3,
        maxBytes: 100,
        upTo: text.length,
        final: false,
        wall: () => new Date(),
        update: () => Promise.reject(new Error("crash")),
        recipients: [key.recipient],
      }),
      /crash/,
    );
    const leftover = (await Array.fromAsync(Deno.readDir(join(t.paths.spool, "r"))))
      .map((entry) => entry.name).find((name) =>
        name.startsWith("000001_") && name.endsWith(".age")
      )!;
    const damaged = await Deno.readFile(join(t.paths.spool, "r", leftover));
    damaged[damaged.length - 5] ^= 1;
    await Deno.writeFile(join(t.paths.spool, "r", leftover), damaged);
    const again = await reconcileSpool(cast, onDisk, options);
    assert.equal(again.adopted, 0);
    assert.ok(again.deleted.includes(leftover));
    assert.equal(onDisk.next_seq, 1, "cut again from the checkpoint");

    // No digest at all (nothing says what it holds): deleted too.
    await Deno.writeFile(join(t.paths.spool, "r", leftover), damaged);
    const third = await reconcileSpool(cast, onDisk, options);
    assert.equal(third.adopted, 0);
    assert.deepEqual(third.deleted, [leftover]);
  } finally {
    await t.cleanup();
  }
});
