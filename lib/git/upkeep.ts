/**
 * Upkeep of the daemon's clone: every fast-import batch leaves a pack (or,
 * for a small batch, loose objects), and fetches add their own. Every few
 * pushes the clone's `git count-objects` is looked at
 * ({@linkcode upkeepDue}, pure); when there are too many loose objects or
 * packs, a geometric repack (`git repack --geometric=2 -d`) rolls the loose
 * objects and the small packs into one, leaving the big packs of the past
 * alone: packs stay few (a geometric progression: about log2 of the
 * objects) and each repack costs what was added since the last, not the
 * whole clone — a year's branch is not rewritten every hour.
 *
 * A partial clone (the daemon's: shallow, without others' blobs) cannot take
 * `git repack --geometric` (git 2.39 refuses `--stdin-packs` with the
 * `--exclude-promisor-objects` a partial clone adds), so there the same
 * is done in two plumbing steps ({@linkcode keepUpPartial}): the loose
 * objects into one pack (`git pack-objects` of exactly them), then the
 * packs below the geometric progression ({@linkcode geometricRollup},
 * pure) into one (`git pack-objects --stdin-packs`), still a promisor pack
 * when one of them was.
 *
 * @module
 */
import { join } from "node:path";
import { git } from "./hermetic.ts";

/** When upkeep runs: every `every` pushes, when there are `loose` loose objects or `packs` packs. */
export interface UpkeepPolicy {
  /** Look at the counts every this many pushes. */
  every: number;
  /** Repack at this many loose objects. */
  loose: number;
  /** Repack at this many packs. */
  packs: number;
}

/** The default: a look every 50 pushes, a repack at 1,000 loose objects or 20 packs. */
export const DEFAULT_UPKEEP: UpkeepPolicy = { every: 50, loose: 1000, packs: 20 };

/** What `git count-objects -v` says (sizes in KiB). */
export interface ObjectCounts {
  /** Loose objects. */
  loose: number;
  /** Their size (KiB). */
  looseKiB: number;
  packs: number;
  /** Objects in packs. */
  inPack: number;
  /** Size of the packs (KiB). */
  packKiB: number;
}

/** Parses `git count-objects -v`. */
export function parseCountObjects(text: string): ObjectCounts {
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    loose: field("count"),
    looseKiB: field("size"),
    packs: field("packs"),
    inPack: field("in-pack"),
    packKiB: field("size-pack"),
  };
}

/** Whether the counts call for a repack. Pure. */
export function upkeepDue(counts: ObjectCounts, policy: UpkeepPolicy): boolean {
  return counts.loose >= policy.loose || counts.packs >= policy.packs;
}

/** The object counts of `gitDir` (undefined when git cannot tell). */
export async function countObjects(
  gitDir: string,
  options: { globalConfig?: string; signal?: AbortSignal } = {},
): Promise<ObjectCounts | undefined> {
  const result = await git(["count-objects", "-v"], { gitDir, ...options, timeoutMs: 30_000 });
  return result.success ? parseCountObjects(result.stdout) : undefined;
}

/**
 * Repacks `gitDir` when its counts call for it (geometric: the loose
 * objects and small packs only). Bounded: a repack that runs out of time
 * leaves the packs as they were. Returns whether it repacked.
 */
export async function keepUp(
  gitDir: string,
  options: {
    policy?: UpkeepPolicy;
    globalConfig?: string;
    signal?: AbortSignal;
    /** The clone is partial (see the module doc). */
    partial?: boolean;
  } = {},
): Promise<boolean> {
  const opts = { gitDir, globalConfig: options.globalConfig, signal: options.signal };
  const counts = await countObjects(gitDir, opts);
  if (!counts || !upkeepDue(counts, options.policy ?? DEFAULT_UPKEEP)) return false;
  if (options.partial) return await keepUpPartial(gitDir, opts);
  // Chunks are zstd already: no zlib, no delta search for the big blobs.
  const repack = await git([
    "-c",
    "core.compression=0",
    "-c",
    "core.bigFileThreshold=1m",
    "repack",
    "--geometric=2",
    "-d",
    "-q",
  ], { ...opts, timeoutMs: 120_000 });
  return repack.success;
}

/** Chunks are zstd already: no zlib, no delta search for the big blobs. */
const PACK_CONFIG = ["-c", "core.compression=0", "-c", "core.bigFileThreshold=1m"];

/** One pack of a repository, for {@linkcode geometricRollup}. */
export interface PackInfo {
  /** `pack-<hash>` (without an extension). */
  name: string;
  objects: number;
  /** It is a promisor pack (`.promisor` beside it). */
  promisor: boolean;
}

/**
 * The packs `git repack --geometric=<factor>` would roll into one: the
 * smallest, up to where the rest (by objects, each at least `factor` times
 * all smaller ones together) forms a geometric progression. Pure.
 */
export function geometricRollup(packs: readonly PackInfo[], factor = 2): PackInfo[] {
  const sorted = [...packs].sort((a, b) => a.objects - b.objects);
  if (sorted.length < 2) return [];
  let split = sorted.length - 1;
  for (; split > 0; split--) {
    if (sorted[split].objects < factor * sorted[split - 1].objects) break;
  }
  if (split > 0) split++;
  let total = sorted.slice(0, split).reduce((sum, pack) => sum + pack.objects, 0);
  while (split < sorted.length && sorted[split].objects < factor * total) {
    total += sorted[split].objects;
    split++;
  }
  return split >= 2 ? sorted.slice(0, split) : [];
}

/** The packs in `packDir`, with their object counts (from each `.idx`'s fan-out table). */
async function listPacks(packDir: string): Promise<PackInfo[]> {
  const names = new Set<string>();
  for await (const entry of Deno.readDir(packDir)) names.add(entry.name);
  const packs: PackInfo[] = [];
  for (const file of names) {
    const match = /^(pack-[0-9a-f]+)\.pack$/.exec(file);
    if (!match || !names.has(`${match[1]}.idx`) || names.has(`${match[1]}.keep`)) continue;
    try {
      using idx = await Deno.open(join(packDir, `${match[1]}.idx`));
      const head = new Uint8Array(8 + 256 * 4);
      let at = 0;
      while (at < head.length) {
        const read = await idx.read(head.subarray(at));
        if (read === null) break;
        at += read;
      }
      const view = new DataView(head.buffer);
      // Version 2: "\377tOc", version, then 256 cumulative counts; the last is the total.
      if (at < head.length || view.getUint32(0) !== 0xff744f63) continue;
      packs.push({
        name: match[1],
        objects: view.getUint32(8 + 255 * 4),
        promisor: names.has(`${match[1]}.promisor`),
      });
    } catch {
      // gone meanwhile
    }
  }
  return packs;
}

/** The ids of the loose objects of `gitDir`. */
async function looseObjects(gitDir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const dir of Deno.readDir(join(gitDir, "objects"))) {
    if (!dir.isDirectory || !/^[0-9a-f]{2}$/.test(dir.name)) continue;
    for await (const file of Deno.readDir(join(gitDir, "objects", dir.name))) {
      if (/^[0-9a-f]{38,62}$/.test(file.name)) ids.push(dir.name + file.name);
    }
  }
  return ids;
}

/**
 * Upkeep of a partial clone (see the module doc): loose objects into one
 * pack, then the small packs rolled into one. Each step bounded; a failed
 * one leaves the objects where they were. Returns whether it did anything.
 */
async function keepUpPartial(
  gitDir: string,
  options: { globalConfig?: string; signal?: AbortSignal } = {},
): Promise<boolean> {
  const opts = { gitDir, globalConfig: options.globalConfig, signal: options.signal };
  const packDir = join(gitDir, "objects", "pack");
  let did = false;
  const loose = await looseObjects(gitDir);
  if (loose.length) {
    // Objects written here (fast-import's small batches): a fetched pack is always kept whole.
    const packed = await git([...PACK_CONFIG, "pack-objects", "-q", join(packDir, "pack")], {
      ...opts,
      stdin: loose.join("\n") + "\n",
      timeoutMs: 120_000,
    });
    if (!packed.success) return false;
    await git(["prune-packed", "-q"], { ...opts, timeoutMs: 60_000 });
    did = true;
  }
  const rolled = geometricRollup(await listPacks(packDir));
  if (rolled.length < 2) return did;
  const made = await git(
    [...PACK_CONFIG, "pack-objects", "--stdin-packs", "-q", join(packDir, "pack")],
    {
      ...opts,
      stdin: rolled.map((pack) => `${pack.name}.pack`).join("\n") + "\n",
      timeoutMs: 120_000,
    },
  );
  const hash = made.stdout.trim();
  if (!made.success || !/^[0-9a-f]{40,64}$/.test(hash)) return did;
  // What the remote promised stays promised (a lacking blob is never taken for damage).
  if (rolled.some((pack) => pack.promisor)) {
    await Deno.writeTextFile(join(packDir, `pack-${hash}.promisor`), "");
  }
  for (const pack of rolled) {
    if (pack.name === `pack-${hash}`) continue;
    for (const ext of [".idx", ".pack", ".rev", ".bitmap", ".promisor"]) {
      await Deno.remove(join(packDir, pack.name + ext)).catch(() => {});
    }
  }
  return true;
}
