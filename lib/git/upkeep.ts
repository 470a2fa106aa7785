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
 * @module
 */
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
  /** Packs. */
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
  options: { policy?: UpkeepPolicy; globalConfig?: string; signal?: AbortSignal } = {},
): Promise<boolean> {
  const opts = { gitDir, globalConfig: options.globalConfig, signal: options.signal };
  const counts = await countObjects(gitDir, opts);
  if (!counts || !upkeepDue(counts, options.policy ?? DEFAULT_UPKEEP)) return false;
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
