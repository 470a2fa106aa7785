/**
 * Publishing one batch to one remote: place each generation's folder (its
 * claim at the clone's tip: a folder that is another's is left for
 * `<folder>~<host>` now, before anything names it), commit its chunks (and
 * manifests) in the local clone, push with a timeout that grows with the
 * batch, then advance each generation's checkpoint and drop its spool files.
 * Runs in the remote's queue, never in the engine's tick. Any step may fail:
 * what was done stays done (commits are skipped when already there, a push of
 * what is pushed is a no-op), so the retry picks up where it stopped.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  type ChunkItem,
  type Claimant,
  ensureEmbeddedRemote,
  type ManifestItem,
  PublishError,
  type RemoteTarget,
  type RepoClone,
} from "../../git/mod.ts";
import { exists, type HomePaths, log, type Settings } from "../../sys/mod.ts";
import {
  folderOf,
  formatChunkName,
  type PendingChunk,
  readRange,
  type RecordingState,
} from "../../chunk/mod.ts";
import { encryptBytes } from "../../crypto/mod.ts";
import { pushTimeoutMs, selectBatch } from "./batch.ts";
import { failpoint } from "../core/mod.ts";
import { sealSpooledChunk, spoolFileFor, type StateChange, takeCutSha256 } from "../cut/mod.ts";
import { ownsFile } from "../finish/mod.ts";

/** The remote a batch goes to (the engine's `Remote`). */
export interface PublishRemote {
  /** Clone folder name. */
  readonly key: string;
  readonly target: RemoteTarget;
  /** Its local clone. */
  readonly clone: RepoClone;
}

/** What publishing asks of the engine. */
export interface PublishHost {
  /** The generations with work for `remote`, in order (what the public-repository guard refused left out). */
  sources(remote: PublishRemote): RecordingState[];
  /**
   * Runs in the queue before the batch is chosen: the public-repository
   * check, which may ask the GitHub API (`sources` then leaves out what it
   * refused).
   */
  prepare(remote: PublishRemote): Promise<void>;
  /** Extra manifest fields of a generation (started, asciicast version). */
  manifestExtra(state: RecordingState): Record<string, unknown>;
  /** A pending chunk's spool file is gone and it is not committed: cut it again. */
  recut(state: RecordingState, chunk: PendingChunk): Promise<void>;
  /** Writes a change to a checkpoint (serialized with the cuts'). */
  update(state: RecordingState, change: StateChange): Promise<void>;
}

/** Options for {@linkcode publishBatch}. */
export interface PublishOptions {
  /** Home layout. */
  paths: HomePaths;
  /** Settings (batch size, push timeout, encryption). */
  settings: Settings;
}

/** One batch's view: the remote, the engine, the settings. */
interface PublishContext extends PublishOptions {
  remote: PublishRemote;
  host: PublishHost;
}

/** What one batch did. */
export interface PublishResult {
  /** Chunks pushed. */
  chunks: number;
  /** Generations whose manifest was pushed. */
  finished: RecordingState[];
  /** More work is left. */
  more: boolean;
}

/** sha256 of the whole file, when it is still exactly this generation's; else null. */
async function wholeFileSha256(castPath: string, state: RecordingState): Promise<string | null> {
  if (!(await ownsFile(castPath, state).catch(() => false))) return null;
  const file = await Deno.open(castPath, { read: true });
  try {
    const hash = createHash("sha256");
    for await (const block of readRange(file, 0, state.cut_offset)) hash.update(block);
    return hash.digest("hex");
  } finally {
    file.close();
  }
}

/**
 * The manifest of a generation: sealed with age when recipients are set; a
 * plain manifest of a generation with encrypted chunks carries no plaintext
 * hash (DESIGN.md invariant 14).
 */
async function manifestItem(ctx: PublishContext, state: RecordingState): Promise<ManifestItem> {
  const manifest = await manifestOf(ctx, state);
  const recipients = ctx.settings.encryption?.recipients ?? [];
  const folder = folderOf(state);
  if (recipients.length === 0) {
    return { id: folder, manifest: state.encrypted ? { ...manifest, sha256: null } : manifest };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
  return { id: folder, manifest, sealed: await encryptBytes(bytes, recipients) };
}

async function manifestOf(
  ctx: PublishContext,
  state: RecordingState,
): Promise<Record<string, unknown>> {
  const castPath = join(ctx.paths.active, `${state.source}.cast`);
  return {
    // The folder it describes (another than the generation's id when it met another's).
    id: folderOf(state),
    source: state.source,
    generation: state.generation,
    total_bytes: state.cut_offset,
    chunks: state.next_seq,
    // Hashed as it was cut (lib/engine/cut/cut_hash.ts); after a restart, from the file.
    sha256: takeCutSha256(ctx.paths.spool, state.id, state.cut_offset) ??
      await wholeFileSha256(castPath, state).catch(() => null),
    started: state.first_seen,
    ended: state.ended_at,
    asciicast_version: null,
    // The machine that recorded it (the viewer shows it; older manifests have none).
    host: hostname(),
    // Public keys: what is derived from it later (a text index, on any machine) is sealed to them.
    ...(state.encrypted && state.recipients?.length ? { recipients: state.recipients } : {}),
    ...ctx.host.manifestExtra(state),
  };
}

/**
 * With `encryption.recipients` set, nothing leaves the machine in clear: a
 * waiting plaintext chunk (cut before encryption was turned on, perhaps held
 * back from a public repository) is sealed in the spool before it is
 * committed, and the checkpoint says so. Returns the batch's chunks as they
 * are now.
 */
async function sealWaiting(
  ctx: PublishContext,
  state: RecordingState,
  chunks: PendingChunk[],
): Promise<PendingChunk[]> {
  const recipients = ctx.settings.encryption?.recipients ?? [];
  if (recipients.length === 0 || chunks.every((chunk) => chunk.encrypted)) return chunks;
  // Committed already (a crash before its push): it goes as it is, never twice under one number.
  const committed = await ctx.remote.clone.committedChunkNames(folderOf(state));
  const out: PendingChunk[] = [];
  for (const chunk of chunks) {
    const plain = spoolFileFor(ctx.paths.spool, state.id, chunk);
    if (
      chunk.encrypted || committed.has(basename(plain)) || !(await exists(plain))
    ) {
      out.push(chunk);
      continue;
    }
    // A clear copy staged in the clone before encryption was turned on goes too.
    await ctx.remote.clone.discardStaged(plain);
    const sealed = await sealSpooledChunk(dirname(plain), chunk, recipients);
    await ctx.host.update(state, (current) => ({
      ...current,
      encrypted: true,
      recipients: [...recipients],
      pending: current.pending.map((entry) => entry.seq === chunk.seq ? sealed : entry),
    }));
    await Deno.remove(plain).catch(() => {});
    out.push(sealed);
  }
  return out;
}

/**
 * Publishes the next batch of `remote`'s work, which `host` names. Throws on
 * failure (the queue backs off).
 */
export async function publishBatch(
  remote: PublishRemote,
  host: PublishHost,
  options: PublishOptions,
): Promise<PublishResult> {
  const ctx: PublishContext = { ...options, remote, host };
  const { paths, settings } = options;
  const { clone } = remote;
  if (remote.target.url === paths.backupGit) {
    await ensureEmbeddedRemote(paths.backupGit, { globalConfig: paths.gitConfig });
  }
  await clone.ensure();
  await host.prepare(remote);
  const batch = selectBatch(host.sources(remote), { maxBytes: settings.push_batch_bytes });
  // Sealed first: a generation's claim is its first chunk as it will be committed.
  for (const item of batch.items) item.chunks = await sealWaiting(ctx, item.source, item.chunks);
  await placeFolders(ctx, batch.items.map((item) => item.source));
  const chunks: ChunkItem[] = [];
  const manifests: ManifestItem[] = [];
  for (const item of batch.items) {
    const state = item.source;
    const folder = folderOf(state);
    for (const chunk of item.chunks) {
      const file = spoolFileFor(paths.spool, state.id, chunk);
      if (!(await exists(file))) {
        const committed = await clone.committedChunkNames(folder).catch(() => new Set());
        if (!committed.has(formatChunkName(chunk))) {
          await host.recut(state, chunk);
          return { chunks: 0, finished: [], more: true };
        }
      }
      chunks.push({ id: folder, ...chunk, file });
    }
    if (item.manifest) manifests.push(await manifestItem(ctx, state));
  }
  if (chunks.length || manifests.length) {
    await clone.commit(chunks, manifests);
    failpoint("publish.after-commit");
  }
  // Also pushes what an earlier, failed push left committed.
  const pushed = await clone.push({
    timeoutMs: pushTimeoutMs(batch.bytes, {
      baseSeconds: settings.push_timeout_seconds,
      minBytesPerSecond: settings.push_min_bytes_per_second,
    }),
  });
  if (!pushed && (chunks.length || manifests.length)) {
    throw new PublishError("disk", `nothing was pushed from ${clone.gitDir}: no local branch tip`);
  }
  failpoint("publish.after-push");
  const finished: RecordingState[] = [];
  for (const item of batch.items) {
    const seqs = new Set(item.chunks.map((chunk) => chunk.seq));
    const state = item.source;
    // A replay that moved the folder leaves its manifest for the next batch (it names its folder).
    if (item.manifest && !(await clone.hasManifest(folderOf(state), pushed))) {
      item.manifest = false;
    }
    await ctx.host.update(state, (current) => ({
      ...current,
      pending: current.pending.filter((chunk) => !seqs.has(chunk.seq)),
      pushed_offset: Math.max(current.pushed_offset, ...item.chunks.map((chunk) => chunk.end)),
      pushed_chunks: current.pushed_chunks + item.chunks.length,
      manifest_pushed: current.manifest_pushed || item.manifest,
      remote: current.remote ?? remote.target,
    }));
    failpoint("publish.after-checkpoint");
    for (const chunk of item.chunks) {
      await Deno.remove(spoolFileFor(paths.spool, state.id, chunk)).catch(() => {});
    }
    if (item.manifest) {
      failpoint("finish.after-manifest");
      finished.push(state);
    }
  }
  return { chunks: chunks.length, finished, more: batch.more };
}

/**
 * Each generation's claim on its folder at the clone's tip (lib/git/claim.ts:
 * its first chunk): one whose folder is another's gets its own folder now,
 * recorded in its checkpoint before anything is committed under it.
 */
async function placeFolders(ctx: PublishContext, states: RecordingState[]): Promise<void> {
  const claimants = new Map<string, Claimant>();
  const byFolder = new Map<string, RecordingState>();
  // A first chunk is its generation's claim: its blob id is known before it is committed
  // (one `git hash-object` for the batch).
  const unclaimed: { state: RecordingState; file: string }[] = [];
  for (const state of states) {
    const first = state.pending.find((chunk) => chunk.seq === 0);
    const file = first ? spoolFileFor(ctx.paths.spool, state.id, first) : undefined;
    if (!state.claim && file && (await exists(file))) unclaimed.push({ state, file });
  }
  const blobs = await ctx.remote.clone.blobIds(unclaimed.map((one) => one.file)).catch(() => []);
  // Kept in memory at once, written with the checkpoint when it can be (a state/ that refuses
  // writes holds nothing back: the claims on the branch tell the same after a crash).
  const remember = async (state: RecordingState, patch: Partial<RecordingState>) => {
    Object.assign(state, patch);
    await ctx.host.update(state, (current) => ({ ...current, ...patch })).catch(() => {});
  };
  for (const [index, { state }] of unclaimed.entries()) {
    const blob = blobs[index];
    if (blob) await remember(state, { claim: blob });
  }
  for (const state of states) {
    const folder = folderOf(state);
    byFolder.set(folder, state);
    claimants.set(folder, {
      token: state.claim,
      pushedBefore: state.pushed_chunks > 0,
      adds: new Map(state.pending.map((chunk) => [chunk.seq, formatChunkName(chunk)])),
    });
  }
  const moved = await ctx.remote.clone.placeFolders(claimants);
  for (const [from, to] of moved) {
    const state = byFolder.get(from)!;
    await remember(state, { branch_id: to });
    log("daemon").warn(
      "chunks/{from}/ on {branch} holds another recording: {id} goes to chunks/{to}/",
      { from, to, id: state.id, branch: ctx.remote.target.branch },
    );
  }
}
