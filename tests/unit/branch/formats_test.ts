/**
 * Issue 25, acceptance 2: a branch in the format before issue 25 (each
 * chunk's sha256 and time only in its commit's trailers) and a branch in
 * the new format (each chunk's record beside it, `recordings/<id>/chunks/`)
 * holding the same recordings — finished, in progress, encrypted, damaged,
 * and one whose first chunks were pushed before records existed — read
 * identically through `list`, `verify`, `restore`, `text` and `search`.
 * The new branch's commits carry no trailers, so only its records can give
 * the same answers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { newIdentity } from "../../../lib/crypto/mod.ts";
import { chunkPathOnBranch } from "../../../lib/chunk/mod.ts";
import { assertTools, ignoreWithout } from "../../support/env.ts";
import {
  initBare,
  lineRanges,
  makeCast,
  pushRecording,
  tamper,
  withFakeRemote,
  zstdCompress,
} from "../../support/fake_branch.ts";

const TOOLS = ["git", "zstd"];

/** The same recordings on `remote`, with records beside the chunks or not. */
async function build(
  remote: string,
  options: { records: boolean; recipient: string },
): Promise<Map<string, Uint8Array>> {
  const { records, recipient } = options;
  const casts = new Map<string, Uint8Array>();
  let time = 1_700_000_000;
  const push = async (id: string, extra: Partial<Parameters<typeof pushRecording>[1]>) => {
    const data = extra.data ?? makeCast(90, { seed: id });
    casts.set(id, data);
    const ranges = extra.ranges ?? lineRanges(data, 5);
    // The records alone tell checksums and times on the new branch: its commits have no
    // trailers, as for a reader that has only the tip (a shallow clone).
    await pushRecording(remote, { id, data, ranges, records, noTrailers: records, time, ...extra });
    time += 100;
  };
  await push("done", { manifest: true });
  await push("live", {});
  await push("sealed", { manifest: true, recipients: [recipient], encryptFrom: 2 });
  await push("damaged", { manifest: true });
  const damagedCast = casts.get("damaged")!;
  const bad = lineRanges(damagedCast, 5)[2];
  const other = new TextEncoder().encode("x".repeat(bad.end - bad.start));
  await tamper(remote, {
    path: chunkPathOnBranch("damaged", bad),
    content: await zstdCompress(other),
  });
  // Pushed partly by a daemon before issue 25 (no records), then by one after it.
  const upgraded = makeCast(90, { seed: "upgraded" });
  const ranges = lineRanges(upgraded, 5);
  await push("upgraded", {
    data: upgraded,
    ranges: ranges.slice(0, 2),
    records: false,
    noTrailers: false,
  });
  await push("upgraded", { data: upgraded, ranges: ranges.slice(2), manifest: { chunks: 5 } });
  return casts;
}

Deno.test({
  name:
    "issue 25: a trailers-only branch and one with chunk records list, verify, restore, render and search identically",
  ignore: ignoreWithout(TOOLS),
  async fn() {
    await assertTools(TOOLS);
    await withFakeRemote(async ({ t, remote, work, cli }) => {
      const key = await newIdentity();
      const keyFile = join(t.root, "key.txt");
      await Deno.writeTextFile(keyFile, `${key.identity}\n`, { mode: 0o600 });
      const newer = join(t.root, "new.git");
      await initBare(newer);
      const casts = await build(remote, { records: false, recipient: key.recipient });
      await build(newer, { records: true, recipient: key.recipient });

      const outputs = new Map<string, string[]>();
      for (const [format, repo] of [["old", remote], ["new", newer]] as const) {
        const run = async (args: string[]) => {
          const result = await cli([...args, "--repo", repo, "--identity", keyFile]);
          return `${args.join(" ")} -> ${result.code}\n${result.stdout}\n${result.stderr}`
            .replaceAll(repo, "<repo>");
        };
        const seen: string[] = [];
        seen.push(await run(["list", "--json"]));
        seen.push(await run(["list"]));
        seen.push(await run(["verify", "--json"]));
        seen.push(await run(["search", "--json", "line 4"]));
        seen.push(await run(["verify", "upgraded"]));
        for (const id of casts.keys()) {
          const output = join(work, `${format}-${id}.cast`);
          seen.push((await run(["restore", id, "-o", output])).replaceAll(format, "<format>"));
          if (id !== "damaged") {
            assert.deepEqual(await Deno.readFile(output), casts.get(id), `${format} ${id}`);
          }
        }
        seen.push(await run(["text", "sealed", "--timestamps"]));
        outputs.set(format, seen);
      }
      const [old, now] = [outputs.get("old")!, outputs.get("new")!];
      for (const [i, text] of old.entries()) assert.equal(now[i], text);
      // What the outputs say, so that "identical" is not two empty answers.
      const all = old.join("\n");
      assert.match(all, /"id": "live"/);
      assert.match(all, /checksum mismatch/);
      assert.match(all, /damaged cannot be restored intact/);
      assert.match(all, /PARTIAL/);
      assert.match(all, /"started": "2023-11-14T22:15:00.000Z",\s+"ended": null/); // live's first chunk
      assert.match(all, /"last_chunk": "2023-11-14T22:21:42.000Z"/); // upgraded's last chunk
      assert.match(all, /"firstCommit": 1700000300,\s+"lastCommit": 1700000304/); // damaged
      assert.doesNotMatch(all, /no Cast-Sha256/);
    });
  },
});
