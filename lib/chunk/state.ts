/**
 * Per-recording checkpoints (`state/<chunk id>.json`). A checkpoint advances
 * only after the data it covers is durable (DESIGN.md invariant 2).
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { readJsonIfExists, writeJsonAtomic } from "../sys/mod.ts";

const PendingSchema = z.object({
  seq: z.number().int().min(0),
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
  cut_at: z.string(),
  /** When its first byte was first seen (wall, ISO): the age of what is at risk. */
  since: z.string().optional(),
  /** What triggered the cut (size and age cuts may wait to share a push). */
  reason: z.enum(["idle", "size", "age", "end", "once"]).optional(),
  /** Encrypted with age (`.cast.zst.age`); `sha256` is then of the plaintext, kept here only. */
  encrypted: z.boolean().optional(),
});

const FingerprintSchema = z.object({
  at: z.number().int().min(0),
  head: z.string(),
  tail: z.string(),
});

/**
 * What the cut bytes looked like: sha256 of the first and of the last 4 KiB
 * before `at` (the cut offset). A file whose bytes there differ is another file.
 */
export type Fingerprint = z.infer<typeof FingerprintSchema>;

/** A chunk cut into the spool and not yet pushed. */
export type PendingChunk = z.infer<typeof PendingSchema>;

const StateSchema = z.looseObject({
  version: z.literal(1),
  id: z.string().min(1),
  source: z.string().min(1),
  generation: z.number().int().min(1),
  ino: z.number().nullable(),
  cut_offset: z.number().int().min(0),
  next_seq: z.number().int().min(0),
  pushed_offset: z.number().int().min(0),
  pushed_chunks: z.number().int().min(0).default(0),
  pending: z.array(PendingSchema),
  final: z.boolean(),
  manifest_pushed: z.boolean(),
  done: z.boolean(),
  superseded: z.boolean().default(false),
  first_seen: z.string(),
  ended_at: z.string().nullable().default(null),
  fingerprint: FingerprintSchema.nullable().default(null),
  remote: z.object({ url: z.string().min(1), branch: z.string().min(1) }).optional(),
  stale_end: z.string().nullable().default(null),
  end_stamp: z.string().nullable().default(null),
  /** Some chunk of this generation was encrypted: its manifest never carries a plaintext hash. */
  encrypted: z.boolean().optional(),
  /**
   * The generation's claim on its folder of the branch: the blob id of its
   * first chunk (lib/git/claim.ts), once known.
   */
  claim: z.string().regex(/^[0-9a-f]{40,64}$/).optional(),
  /** Its folder on the branch when that is not `id` (it met another generation's folder). */
  branch_id: z.string().min(1).optional(),
  /**
   * Where its `.cast` goes in `done/`, written before it moves: a finish cut
   * off between moving the `.cast` and the `.json` moves the `.json` there
   * when it runs again.
   */
  moving_to: z.string().min(1).optional(),
  /**
   * Cut before the branch could be read (a lost `state/` and an unreachable
   * remote): nothing of it is published until the branch says where it starts.
   */
  provisional: z.boolean().optional(),
  /** The age recipients its latest chunk was sealed to: what is derived from it is sealed to them too. */
  recipients: z.array(z.string()).optional(),
});

/** A recording generation's checkpoint. */
export type RecordingState = z.infer<typeof StateSchema>;

/** The folder of a generation on the branch (`chunks/<folder>/`). */
export function folderOf(state: Pick<RecordingState, "id" | "branch_id">): string {
  return state.branch_id ?? state.id;
}

/** Path of the checkpoint for chunk id `id`. */
export function statePath(stateDir: string, id: string): string {
  return join(stateDir, `${id}.json`);
}

/** A fresh checkpoint for a new recording generation. */
export function newState(
  source: string,
  options: { generation?: number; ino?: number | null; now?: Date; staleEnd?: string | null } = {},
): RecordingState {
  const generation = options.generation ?? 1;
  return {
    version: 1,
    id: generation === 1 ? source : `${source}~${generation}`,
    source,
    generation,
    ino: options.ino ?? null,
    cut_offset: 0,
    next_seq: 0,
    pushed_offset: 0,
    pushed_chunks: 0,
    pending: [],
    final: false,
    manifest_pushed: false,
    done: false,
    superseded: false,
    first_seen: (options.now ?? new Date()).toISOString(),
    ended_at: null,
    fingerprint: null,
    stale_end: options.staleEnd ?? null,
    end_stamp: null,
  };
}

/** Reads a checkpoint; `undefined` when absent, an Error when unreadable. */
export async function loadState(path: string): Promise<RecordingState | undefined | Error> {
  let raw: unknown;
  try {
    raw = await readJsonIfExists(path);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  if (raw === undefined) return undefined;
  const parsed = StateSchema.safeParse(raw);
  if (!parsed.success) return new Error(`${path}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Writes a checkpoint atomically and durably. */
export async function saveState(stateDir: string, state: RecordingState): Promise<void> {
  await writeJsonAtomic(statePath(stateDir, state.id), state);
}

/** Loads every checkpoint in `stateDir` (unreadable ones are returned as errors by file name). */
export async function loadAllStates(
  stateDir: string,
): Promise<{ states: RecordingState[]; errors: Map<string, Error> }> {
  const states: RecordingState[] = [];
  const errors = new Map<string, Error>();
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(stateDir));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
    const result = await loadState(join(stateDir, entry.name));
    if (result instanceof Error) errors.set(entry.name, result);
    else if (result) states.push(result);
  }
  return { states, errors };
}
