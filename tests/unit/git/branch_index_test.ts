/**
 * The branch index: chunk names and trailers read with plumbing, odd ids,
 * manifests, blob streaming, and the resume point the daemon rebuilds a
 * lost checkpoint from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BlobReader,
  checkResumePoint,
  type ChunkEntry,
  listBranchChunks,
  parseChunkTrailers,
  readBranchIndex,
  readManifest,
  resumePointFor,
} from "../../../lib/git/mod.ts";
import { gitChecked } from "../../../lib/git/mod.ts";
import {
  chunkSumPathOnBranch,
  formatChunkSum,
  parseChunkSum,
  parseChunkSumName,
} from "../../../lib/chunk/mod.ts";
import { chunkCommitMessage } from "../../../lib/git/mod.ts";
import { assertTools, ignoreWithout } from "../../support/env.ts";
import {
  lineRanges,
  makeCast,
  pushRecording,
  sha256Hex,
  tamper,
  withFakeRemote,
  zstdCompress,
} from "../../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];
const REF = "refs/heads/asciinema-recordings";

Deno.test("chunk records: name and text round-trip; a malformed or oversized one is not trusted", () => {
  const range = { seq: 12, start: 100, end: 250 };
  assert.equal(chunkSumPathOnBranch("a b", range), "recordings/a b/chunks/000012_100-250");
  assert.deepEqual(parseChunkSumName("000012_100-250"), range);
  for (const bad of ["12_100-250", "000012_250-100", "000012_100-250.cast.zst", "x"]) {
    assert.equal(parseChunkSumName(bad), undefined, bad);
  }
  const sum = { sha256: "f".repeat(64), committed: 1_700_000_123 };
  assert.equal(formatChunkSum(sum), `Cast-Sha256: ${"f".repeat(64)}\nCast-Committed: 1700000123\n`);
  assert.deepEqual(parseChunkSum(formatChunkSum(sum)), sum);
  assert.deepEqual(parseChunkSum("Cast-Committed: 5\r\nOther: x\n"), { committed: 5 });
  assert.equal(parseChunkSum("Cast-Sha256: nothex\n"), undefined);
  assert.equal(parseChunkSum("Cast-Committed: -1\n"), undefined);
  assert.equal(parseChunkSum(`Cast-Committed: 5\n${" ".repeat(2000)}`), undefined);
});

Deno.test("parseChunkTrailers reads the daemon's commit message", () => {
  const sha = "a".repeat(64);
  const message = chunkCommitMessage({ id: "-odd id", seq: 7, start: 10, end: 20, sha256: sha });
  assert.deepEqual(parseChunkTrailers(message), {
    id: "-odd id",
    seq: 7,
    start: 10,
    end: 20,
    sha256: sha,
  });
  assert.equal(parseChunkTrailers("manifest x\n\nCast-Id: x\n"), undefined);
});

Deno.test({
  name: "listBranchChunks: every recording, odd ids, trailers, manifests, strays",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ remote: gitDir }) => {
      const ids = ["plain", "-dash", "with space 'q' \"dq\"", "ünï€ode", "glob*[x]?", ":(glob)x"];
      const data = new Map<string, Uint8Array>();
      for (const [i, id] of ids.entries()) {
        const cast = makeCast(40 + i, { seed: id });
        data.set(id, cast);
        await pushRecording(gitDir, { id, data: cast, manifest: i % 2 === 0 });
      }
      await tamper(gitDir, {
        path: "chunks/plain/notes.txt",
        content: new TextEncoder().encode("hi"),
      });

      const index = await readBranchIndex(gitDir, REF);
      assert.ok(index);
      assert.deepEqual([...index.chunks.keys()].sort(), [...ids].sort());
      for (const [i, id] of ids.entries()) {
        const entries: ChunkEntry[] = index.chunks.get(id)!;
        const cast = data.get(id)!;
        assert.deepEqual(
          entries.map(({ seq, start, end }) => ({ seq, start, end })),
          lineRanges(cast, 4),
        );
        for (const entry of entries) {
          assert.equal(entry.sha256, sha256Hex(cast.subarray(entry.start, entry.end)), id);
          assert.equal(entry.path, `chunks/${id}/${entry.path.split("/").pop()}`);
          assert.match(entry.blob, /^[0-9a-f]{40}$/);
          assert.ok(entry.size > 0 && entry.commit && entry.committedAt);
        }
        assert.equal(index.manifests.has(id), i % 2 === 0, id);
      }
      assert.deepEqual(index.stray.map((s) => s.path), ["chunks/plain/notes.txt"]);

      // Restricted to ids whose names are glob/pathspec-magic: only those.
      const only = await listBranchChunks(gitDir, REF, { ids: ["glob*[x]?", ":(glob)x"] });
      assert.deepEqual([...only.keys()].sort(), [":(glob)x", "glob*[x]?"]);
      assert.ok([...only.values()].every((list) => list.every((e) => e.sha256)));

      const manifest = await readManifest(gitDir, REF, "-dash");
      assert.equal(manifest, undefined);
      const complete = await readManifest(gitDir, REF, "with space 'q' \"dq\"");
      assert.equal(complete?.total_bytes, data.get("with space 'q' \"dq\"")!.length);
      assert.equal(complete?.chunks, 4);

      assert.equal(await readBranchIndex(gitDir, "refs/heads/nope"), undefined);
      assert.equal((await listBranchChunks(gitDir, "refs/heads/nope")).size, 0);
    });
  },
});

Deno.test({
  name:
    "BlobReader streams blobs in order and stays in step after an early stop and after many small reads at once",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ remote: gitDir }) => {
      const cast = makeCast(3000);
      await pushRecording(gitDir, { id: "r", data: cast, ranges: lineRanges(cast, 2) });
      const noise = crypto.getRandomValues(new Uint8Array(60_000));
      const big = new Uint8Array(noise.length * 5);
      for (let i = 0; i < 5; i++) big.set(noise, i * noise.length);
      await tamper(gitDir, { path: "big.bin", content: big });
      const bigBlob = (await gitChecked(["rev-parse", `${REF}:big.bin`], { gitDir })).trim();
      const [a, b] = (await listBranchChunks(gitDir, REF)).get("r")!;
      const reader = BlobReader.open(gitDir);
      try {
        let blocks = 0;
        for await (const _ of reader.stream(bigBlob)) if (++blocks === 2) break; // stop early
        assert.equal(blocks, 2);
        assert.deepEqual(await reader.read(bigBlob), big);
        for await (const _ of reader.stream(a.blob)) break;
        const second = await reader.read(b.blob);
        assert.deepEqual(second, await zstdCompress(cast.subarray(b.start, b.end)));
        await assert.rejects(() => reader.read("0".repeat(40)), /missing/);
        assert.equal((await reader.read(a.blob)).length, a.size);
        // Many small ones at once: missing and oversized ones are skipped, and it stays in step.
        const limit = Math.max(a.size, b.size);
        const small = await reader.readSmall([a.blob, "0".repeat(40), bigBlob, b.blob], limit);
        assert.deepEqual(small.map((bytes) => bytes?.length), [
          a.size,
          undefined,
          undefined,
          b.size,
        ]);
        assert.deepEqual(await reader.read(b.blob), second);
        const many = await reader.readSmall(Array(500).fill(a.blob), 1 << 20);
        assert.ok(many.every((bytes) => bytes?.length === a.size));
        assert.deepEqual(await reader.read(bigBlob), big);
      } finally {
        await reader.close();
      }
    });
  },
});

Deno.test({
  name: "resumePointFor: the contiguous prefix; checkResumePoint compares the local file",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote: gitDir }) => {
      const cast = makeCast(200);
      const ranges = lineRanges(cast, 5);
      await pushRecording(gitDir, { id: "r", data: cast, ranges });
      const entries = (await listBranchChunks(gitDir, REF)).get("r")!;

      const point = resumePointFor(entries);
      assert.equal(point.next_seq, 5);
      assert.equal(point.end, cast.length);
      assert.deepEqual(point.sha256s, entries.map((e) => e.sha256));
      assert.deepEqual(point.beyond, []);

      // A gap (chunk 2 missing): resume after chunk 1, report the rest.
      const gapped = resumePointFor(entries.filter((e) => e.seq !== 2));
      assert.equal(gapped.next_seq, 2);
      assert.equal(gapped.end, ranges[1].end);
      assert.deepEqual(gapped.beyond.map((e) => e.seq), [3, 4]);
      assert.deepEqual(resumePointFor([]), {
        next_seq: 0,
        end: 0,
        chunks: [],
        sha256s: [],
        beyond: [],
      });

      const castPath = join(t.root, "r.cast");
      const grown = new Uint8Array([...cast, ...new TextEncoder().encode('[99, "o", "more"]\n')]);
      await Deno.writeFile(castPath, grown);
      assert.deepEqual(await checkResumePoint(castPath, point), { ok: true, checked: 5 });
      assert.deepEqual(await checkResumePoint(castPath, point, { lastOnly: true }), {
        ok: true,
        checked: 1,
      });

      const other = cast.slice();
      other[ranges[3].start + 5] ^= 1;
      await Deno.writeFile(castPath, other);
      const bad = await checkResumePoint(castPath, point);
      assert.equal(bad.ok, false);
      assert.equal(!bad.ok && bad.seq, 3);

      await Deno.writeFile(castPath, cast.subarray(0, 100));
      const short = await checkResumePoint(castPath, point);
      assert.equal(short.ok, false);
      assert.match(!short.ok ? short.reason : "", /has 100 bytes/);
    });
  },
});
