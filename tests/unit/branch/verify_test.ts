/**
 * `verify`: a replaced, a deleted and a truncated chunk are each detected and
 * named with chunk and byte range (acceptance 2); corrupt frames, a missing
 * tail, a wrong manifest, overlaps and duplicates too; exit codes 0/1/2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ChunkEntry } from "../../../lib/git/mod.ts";
import { chunkPathOnBranch } from "../../../lib/chunk/mod.ts";
import { checkLayout, verifyBranch } from "../../../lib/branch/mod.ts";
import { assertTools, ignoreWithout } from "../../support/env.ts";
import {
  commitChanges,
  lineRanges,
  makeCast,
  pushRecording,
  type Range,
  readOnBranch,
  tamper,
  withFakeRemote,
  zstdCompress,
} from "../../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];

function entry(id: string, seq: number, start: number, end: number): ChunkEntry {
  return {
    id,
    seq,
    start,
    end,
    path: chunkPathOnBranch(id, { seq, start, end }),
    blob: "",
    size: 1,
  };
}

Deno.test("checkLayout names gaps, missing sequence numbers, overlaps, duplicates and manifest disagreements", () => {
  assert.deepEqual(checkLayout("r", [entry("r", 0, 0, 10), entry("r", 1, 10, 20)]), []);
  const missing = checkLayout("r", [entry("r", 0, 0, 10), entry("r", 3, 40, 50)]);
  assert.equal(missing.length, 1);
  assert.equal(missing[0].kind, "missing");
  assert.equal(missing[0].message, "chunks #1-#2 missing: bytes 10-40 are not on the branch");
  const overlap = checkLayout("r", [entry("r", 0, 0, 10), entry("r", 1, 5, 20)]);
  assert.deepEqual(overlap.map((p) => [p.kind, p.seq, p.start, p.end]), [["overlap", 1, 5, 10]]);
  const duplicate = checkLayout("r", [entry("r", 0, 0, 10), entry("r", 0, 0, 12)]);
  assert.deepEqual(duplicate.map((p) => p.kind), ["duplicate"]);
  const firstMissing = checkLayout("r", [entry("r", 1, 10, 20)]);
  assert.match(firstMissing[0].message, /chunk #0 missing: bytes 0-10/);
  const manifest = { id: "r", total_bytes: 30, chunks: 3, sha256: null };
  const tail = checkLayout("r", [entry("r", 0, 0, 10), entry("r", 1, 10, 20)], manifest);
  assert.deepEqual(tail.map((p) => [p.kind, p.seq, p.start, p.end]), [["missing", 2, 20, 30]]);
  const counted = checkLayout("r", [entry("r", 0, 0, 30)], manifest);
  assert.deepEqual(counted.map((p) => p.kind), ["manifest"]);
});

function chunkPath(id: string, range: Range): string {
  return chunkPathOnBranch(id, range);
}

Deno.test({
  name: "acceptance 2: verify detects a replaced, a deleted and a truncated chunk, naming each",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, cli }) => {
      const ranges = new Map<string, Range[]>();
      for (const id of ["intact", "replaced", "deleted", "truncated", "corrupt", "tail", "sum"]) {
        const cast = makeCast(120, { seed: id });
        ranges.set(
          id,
          await pushRecording(remote, {
            id,
            data: cast,
            ranges: lineRanges(cast, 5),
            manifest: id === "sum" ? { sha256: "0".repeat(64) } : true,
          }),
        );
      }
      const at = (id: string, seq: number) => ranges.get(id)![seq];
      // Replaced: other content of the same length, a valid zstd frame.
      const replacedRange = at("replaced", 1);
      const other = new TextEncoder().encode(
        "y".repeat(replacedRange.end - replacedRange.start - 1) + "\n",
      );
      await tamper(remote, {
        path: chunkPath("replaced", replacedRange),
        content: await zstdCompress(other),
      });
      // Deleted: chunk #2 gone.
      await tamper(remote, { path: chunkPath("deleted", at("deleted", 2)), content: null });
      // Truncated: chunk #3 cut to half its compressed size.
      const truncPath = chunkPath("truncated", at("truncated", 3));
      const blob = await readOnBranch(remote, { path: truncPath });
      await tamper(remote, { path: truncPath, content: blob.subarray(0, blob.length >> 1) });
      // Corrupt: a flipped byte inside chunk #0's frame.
      const corruptPath = chunkPath("corrupt", at("corrupt", 0));
      const bad = (await readOnBranch(remote, { path: corruptPath })).slice();
      bad[bad.length >> 1] ^= 0xff;
      await tamper(remote, { path: corruptPath, content: bad });
      // Tail: the last chunk of a complete recording deleted (only the manifest knows).
      await tamper(remote, { path: chunkPath("tail", at("tail", 4)), content: null });

      const result = await cli(["verify", "--repo", remote]);
      assert.equal(result.code, 1, result.stderr);
      const out = result.stdout;
      const r = (id: string, seq: number) => `bytes ${at(id, seq).start}-${at(id, seq).end}`;
      assert.match(out, /^ok {4}intact: 5 chunks/m);
      assert.match(out, /^FAIL {2}replaced:/m);
      assert.ok(
        out.includes(`[checksum] chunk #1 (${r("replaced", 1)}): checksum mismatch`),
        out,
      );
      assert.match(out, /^FAIL {2}deleted:/m);
      assert.ok(
        out.includes(
          `[missing] chunk #2 missing: bytes ${at("deleted", 2).start}-${
            at("deleted", 2).end
          } are not on the branch`,
        ),
        out,
      );
      assert.match(out, /^FAIL {2}truncated:/m);
      assert.ok(out.includes(`[truncated] chunk #3 (${r("truncated", 3)}): truncated`), out);
      assert.ok(out.includes(`[corrupt] chunk #0 (${r("corrupt", 0)}): corrupt zstd frame`), out);
      assert.ok(out.includes(`[missing] chunk #4 missing at the end`), out);
      assert.ok(out.includes(`[manifest] the whole recording's sha256`), out);
      assert.match(out, /6 of 7 recordings damaged/);

      // Structured report: one problem per damaged recording, with ranges.
      const report = await verifyBranch({ repoUrl: remote, paths: t.paths });
      const problems = Object.fromEntries(
        report.recordings.map((rec) => [
          rec.id,
          rec.problems.map((p) => [p.kind, p.seq, p.start, p.end]),
        ]),
      );
      assert.deepEqual(problems, {
        intact: [],
        replaced: [["checksum", 1, at("replaced", 1).start, at("replaced", 1).end]],
        deleted: [["missing", 2, at("deleted", 2).start, at("deleted", 2).end]],
        truncated: [["truncated", 3, at("truncated", 3).start, at("truncated", 3).end]],
        corrupt: [["corrupt", 0, at("corrupt", 0).start, at("corrupt", 0).end]],
        tail: [["missing", 4, at("tail", 4).start, at("tail", 4).end]],
        sum: [["manifest", undefined, 0, at("sum", 4).end]],
      });

      const one = await cli(["verify", "intact", "--repo", remote]);
      assert.equal(one.code, 0, one.stdout + one.stderr);
      assert.match(one.stdout, /All 1 recording intact/);
      const json = await cli(["verify", "deleted", "--repo", remote, "--json"]);
      assert.equal(json.code, 1);
      assert.equal(JSON.parse(json.stdout).recordings[0].problems[0].seq, 2);
      const unreadable = await cli(["verify", "--repo", join(t.root, "nothing")]);
      assert.equal(unreadable.code, 2);
      assert.match(unreadable.stderr, /not a git repository/);
    });
  },
});

Deno.test({
  name: "verify: a chunk without trailers is a warning, a stray file in a recording a problem",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      const cast = makeCast(30);
      const range = { seq: 0, start: 0, end: cast.length };
      await commitChanges(remote, {
        branch: "asciinema-recordings",
        commits: [{
          message: "hand-made chunk\n",
          changes: [{ path: chunkPathOnBranch("hand", range), content: await zstdCompress(cast) }],
        }],
      });
      let report = await verifyBranch({ repoUrl: remote, paths: t.paths });
      assert.equal(report.ok, true);
      assert.match(report.recordings[0].warnings[0], /no Cast-Sha256 trailer/);
      await tamper(remote, { path: "chunks/hand/README", content: new Uint8Array(1) });
      report = await verifyBranch({ repoUrl: remote, paths: t.paths, id: "hand" });
      assert.equal(report.ok, false);
      assert.deepEqual(report.recordings[0].problems.map((p) => p.kind), ["stray"]);
    });
  },
});

Deno.test({
  name:
    "verify through one zstd: a chunk without a sha256 that decodes to another length is named, not the ones after it",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote }) => {
      const cast = makeCast(150, { seed: "unhashed" });
      const ranges = lineRanges(cast, 5);
      // No trailers and no records: only lengths and zstd's own checksums can be checked.
      await pushRecording(remote, { id: "u", data: cast, ranges, noTrailers: true });
      const intact = await verifyBranch({ paths: t.paths, repoUrl: remote, id: "u" });
      assert.deepEqual(intact.recordings[0].problems, []);
      assert.equal(intact.recordings[0].warnings.length, 5);
      // Shorter: every piece after it would shift, yet only it is named.
      const shorter = cast.subarray(ranges[1].start, ranges[1].end - 40);
      await tamper(remote, {
        path: chunkPath("u", ranges[1]),
        content: await zstdCompress(shorter),
      });
      const report = await verifyBranch({ paths: t.paths, repoUrl: remote, id: "u" });
      const problems = report.recordings[0].problems;
      assert.deepEqual(
        problems.map((p) => [p.kind, p.seq]),
        [["truncated", 1]],
        JSON.stringify(problems),
      );
      assert.match(problems[0].message, /decompresses to \d+ bytes, not \d+/);
    });
  },
});
