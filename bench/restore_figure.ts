/**
 * Restore: the 200 MB recording the throughput figure pushed, restored
 * through lib/branch/restore.ts (in this process, as `daemon.ts restore`
 * does after its start-up) from its remote, against `zstd -d` of its
 * chunks concatenated into one file. The median of `runs`, the two taking
 * turns; every run is checked byte for byte against the original.
 *
 * @module
 */
import { join } from "node:path";
import { gitChecked } from "../lib/git/mod.ts";
import { parseChunkName } from "../lib/chunk/mod.ts";
import { restoreRecording } from "../lib/branch/mod.ts";
import { DEFAULT_BRANCH, run, writeFully } from "../lib/sys/mod.ts";
import { type Figure, median, othersCores, ratioFigure, round, snapshot } from "./figure.ts";
import { sha256File } from "./recordings.ts";
import { log } from "./rig.ts";
import { readBlobs } from "../tests/support/remote_blobs.ts";
import type { Kept } from "./throughput.ts";

/** Writes the chunks of `id` on the remote's branch, in order, into `path`. */
async function concatenateChunks(remote: string, id: string, path: string): Promise<number> {
  const listing = await gitChecked(
    ["ls-tree", "-z", `refs/heads/${DEFAULT_BRANCH}`, "--", `chunks/${id}/`],
    { gitDir: remote },
  );
  const blobs = listing.split("\0").filter(Boolean).map((line) => {
    const [meta, path] = line.split("\t");
    return { blob: meta.split(" ")[2], seq: parseChunkName(path.split("/")[2])!.seq };
  }).sort((a, b) => a.seq - b.seq);
  const bytes = await readBlobs(remote, blobs.map((b) => b.blob));
  using out = await Deno.open(path, { write: true, createNew: true });
  for (const { blob } of blobs) await writeFully(out, bytes.get(blob)!);
  return blobs.length;
}

/** The figure, on what the throughput figure kept. */
export async function restoreFigure(hz: number, kept: Kept, runs: number): Promise<Figure> {
  const { setup: s, id } = kept;
  const work = join(s.home.root, "restore-work");
  await Deno.mkdir(work);
  const concat = join(work, "chunks.zst");
  const chunks = await concatenateChunks(s.remote, id, concat);
  const each: Record<string, unknown>[] = [];
  const restoreTimes: number[] = [];
  const baselineTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    log(`restore ${i + 1}/${runs}: zstd -d of the concatenated chunks, then lib/branch/restore.ts`);
    const plain = join(work, "plain.cast");
    const dFrom = snapshot();
    const unzstd = await run("zstd", {
      args: ["-d", "-q", "-f", concat, "-o", plain],
      timeoutMs: 120_000,
    });
    const dTo = snapshot();
    if (!unzstd.success) throw new Error(`zstd -d: ${unzstd.stderr}`);
    if ((await sha256File(plain)) !== kept.sha256) throw new Error("zstd -d: not the recording");
    await Deno.remove(plain);
    const output = join(work, `restored-${i}.cast`);
    const from = snapshot();
    const result = await restoreRecording(id, {
      repoUrl: s.remote,
      branch: DEFAULT_BRANCH,
      output,
      paths: s.home.paths,
    });
    const to = snapshot();
    if (
      result.sha256 !== kept.sha256 || result.partial || await sha256File(output) !== kept.sha256
    ) {
      throw new Error(`restore is not byte-identical (partial: ${result.partial})`);
    }
    await Deno.remove(output);
    restoreTimes.push(to.t - from.t);
    baselineTimes.push(dTo.t - dFrom.t);
    each.push({
      s: round((to.t - from.t) / 1000, 2),
      zstd_d_s: round((dTo.t - dFrom.t) / 1000, 2),
      ratio: round((to.t - from.t) / (dTo.t - dFrom.t), 2),
      via: `lib/branch/restore.ts restoreRecording (${result.via})`,
      cpu_s: round((to.ours - from.ours) / hz, 2),
      baseline_cpu_s: round((dTo.ours - dFrom.ours) / hz, 2),
      others_cores: othersCores(from, to, hz),
      baseline_others_cores: othersCores(dFrom, dTo, hz),
    });
  }
  return ratioFigure({
    key: "restore",
    name: "restore (200 MB)",
    ms: median(restoreTimes),
    baseline: { ms: median(baselineTimes), what: "zstd -d of the concatenated chunks" },
    most: 1.5,
    details: {
      chunks,
      compressed_bytes: (await Deno.stat(concat)).size,
      byte_identical: true,
      runs,
      median_of_ratios: median(each.map((e) => e.ratio as number)),
      note: "value and baseline: medians of the runs (taking turns); restored with an fsync " +
        "before the file is in place, zstd -d without",
      each,
    },
  });
}
