/**
 * `reindex`: builds the text index of every finished recording that has
 * none (or an unusable one; every one with `force`) on the known remotes,
 * and pushes them in one commit per remote. The commit is made in a scratch
 * repository that borrows the branch's objects, on top of the tip that was
 * read; when the branch moved meanwhile (the daemon pushed), the branch is
 * read again and the same indexes are committed on its new tip.
 *
 * @module
 */
import { join } from "node:path";
import {
  type BranchSourceOptions,
  loadManifest,
  manifestBytes,
  openBranch,
  resolveBranchRemote,
} from "../branch/mod.ts";
import {
  BlobReader,
  type BranchIndex,
  commitFiles,
  displayUrl,
  git,
  type Manifest,
  pushCommit,
  readBranchIndex,
} from "../git/mod.ts";
import { errorMessage } from "../sys/mod.ts";
import { isX25519Recipient, recipientOf } from "../crypto/mod.ts";
import { buildIndexFromBranch, findTextIndex } from "./branch_text.ts";
import { decodeDerivedPayload, sealingFor } from "./codec.ts";
import { decodeIndexHeader, maxIndexBytes } from "./index_format.ts";
import type { BuiltIndex } from "./index_build.ts";
import { searchedRemotes } from "./remotes.ts";

/** Options of {@linkcode reindexRecordings}. */
export interface ReindexOptions extends BranchSourceOptions {
  /** Only these recordings (default: every finished one). */
  ids?: string[];
  /** Rebuild indexes that exist and are usable too. */
  force?: boolean;
  /**
   * What new indexes may be sealed to when a recording's own recipients are
   * unknown: the local config's (and the identities'): see `sealingFor`.
   */
  sealing?: { recipients?: readonly string[] };
  /**
   * Whether a plaintext index may go to `url` (the public-repository guard):
   * null when it may, else why not. Default: always (tests of other things).
   */
  admitPlain?: (url: string) => Promise<string | null>;
  /** Progress for people (one line per recording). */
  onProgress?: (line: string) => void;
}

/** What reindexing one remote did. */
export interface ReindexReport {
  /** The remote (display form). */
  url: string;
  branch: string;
  /** Indexes built and pushed. */
  built: string[];
  /** Finished recordings whose index was already usable. */
  kept: string[];
  /** Recordings whose index could not be built, with why. */
  failed: { id: string; error: string }[];
  /** Why the remote could not be reindexed at all. */
  error?: string;
}

/** True when the committed index `file` opens, reads as this version and covers `expected`. */
async function usable(
  reader: BlobReader,
  file: { path: string; blob: string },
  expected: { id: string; bytes: number },
  options: ReindexOptions,
): Promise<boolean> {
  try {
    const opened = await manifestBytes(reader, { ...file, encrypted: file.path.endsWith(".age") }, {
      identities: options.identities,
      maxBytes: maxIndexBytes(expected.bytes),
    });
    const decoder = new TextDecoder();
    let text = "";
    for await (
      const block of decodeDerivedPayload(opened, { maxBytes: maxIndexBytes(expected.bytes) })
    ) {
      text += decoder.decode(block, { stream: true });
      const newline = text.indexOf("\n");
      if (newline < 0) continue;
      const meta = decodeIndexHeader(text.slice(0, newline));
      return meta.id === expected.id && meta.bytes === expected.bytes;
    }
    return false;
  } catch {
    return false;
  }
}

/** True when a chunk or the manifest of `id` on the branch is encrypted. */
function isEncrypted(index: BranchIndex, id: string): boolean {
  if (index.manifests.get(id)?.path.endsWith(".age")) return true;
  return (index.chunks.get(id) ?? []).some((chunk) => chunk.path.endsWith(".age"));
}

/** The recipients a manifest names (new manifests of encrypted recordings carry them). */
function recipientsOf(manifest: Manifest): string[] | undefined {
  const list = (manifest as Record<string, unknown>).recipients;
  if (!Array.isArray(list)) return undefined;
  const valid = list.filter((entry): entry is string =>
    typeof entry === "string" && isX25519Recipient(entry)
  );
  return valid.length ? valid : undefined;
}

/** The recipients of the identities at hand, when there are any (never throws). */
async function identityRecipients(options: ReindexOptions): Promise<string[]> {
  try {
    const identities = await options.identities?.get() ?? [];
    return await Promise.all(identities.map((identity) => recipientOf(identity)));
  } catch {
    return [];
  }
}

/** The finished recordings of `index` that need an index, built; the rest sorted into kept/failed. */
async function buildMissing(
  index: BranchIndex,
  reader: BlobReader,
  options: ReindexOptions,
  report: ReindexReport,
): Promise<{ built: BuiltIndex; replaces?: string }[]> {
  const out: { built: BuiltIndex; replaces?: string }[] = [];
  for (const id of [...index.manifests.keys()].sort()) {
    options.signal?.throwIfAborted();
    const { manifest, problem, locked } = await loadManifest(index, id, reader, options);
    if (!manifest) {
      report.failed.push({ id, error: problem ?? locked ?? "its manifest cannot be read" });
      continue;
    }
    const total = manifest.total_bytes;
    const existing = findTextIndex(index, id);
    if (
      existing && !options.force &&
      await usable(reader, existing, { id, bytes: total }, options)
    ) {
      report.kept.push(id);
      continue;
    }
    const sealing = sealingFor(
      { encrypted: isEncrypted(index, id), recipients: recipientsOf(manifest) },
      {
        recipients: options.sealing?.recipients,
        identityRecipients: await identityRecipients(options),
      },
    );
    if ("refuse" in sealing) {
      report.failed.push({ id, error: sealing.refuse });
      continue;
    }
    try {
      const built = await buildIndexFromBranch({ index, reader }, id, {
        codec: sealing.codec,
        signal: options.signal,
        identities: options.identities,
      });
      const replaces = existing && existing.path !== built.path ? existing.path : undefined;
      out.push({ built, ...(replaces ? { replaces } : {}) });
      options.onProgress?.(`built the text index of ${id} (${built.lines} lines)`);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      report.failed.push({ id, error: errorMessage(error) });
    }
  }
  return out;
}

/** Reindexes one remote; at most three rounds when the branch keeps moving. */
async function reindexRemote(
  options: ReindexOptions,
  remote: { url?: string; branch?: string },
): Promise<ReindexReport> {
  const spec = await resolveBranchRemote({
    ...options,
    repoUrl: remote.url,
    branch: remote.branch,
  });
  let built: { built: BuiltIndex; replaces?: string }[] | undefined;
  let report: ReindexReport | undefined;
  for (let round = 0; round < 3; round++) {
    const source = await openBranch({ ...options, repoUrl: spec.url, branch: spec.branch });
    const scratch = await Deno.makeTempDir({ prefix: "asciinema-reindex-" });
    try {
      report ??= { url: source.url, branch: source.branch, built: [], kept: [], failed: [] };
      if (source.via === "local-clone") {
        report.error = `the remote cannot be reached (${source.notes.join("; ")}): run reindex ` +
          "again once it can";
        return report;
      }
      const index = await readBranchIndex(source.gitDir, source.ref, {
        ids: options.ids,
        details: "none", // a recording's, when it is rendered
        deepen: source.deepen,
        signal: options.signal,
      });
      if (!index) return report;
      if (!built) {
        const reader = BlobReader.open(source.gitDir, { signal: options.signal });
        try {
          built = await buildMissing(index, reader, options, report);
        } finally {
          await reader.close();
        }
      }
      // Another reader may have pushed some of them meanwhile: those stay as they are.
      let todo = round === 0 || options.force
        ? built
        : built.filter((item) => !findTextIndex(index, item.built.meta.id));
      // Plaintext indexes pass the same public-repository guard as the chunks.
      const plain = todo.filter((item) => !item.built.path.endsWith(".age"));
      const refused = plain.length ? await options.admitPlain?.(spec.url) : null;
      if (refused) {
        for (const item of plain) report.failed.push({ id: item.built.meta.id, error: refused });
        todo = todo.filter((item) => item.built.path.endsWith(".age"));
        built = built.filter((item) => item.built.path.endsWith(".age"));
      }
      if (todo.length === 0) return report;
      const commit = await commitInScratch(scratch, source.gitDir, index.tip, todo, options);
      const target = options.authFor ? await options.authFor(spec.url) : { url: spec.url };
      const pushed = await pushCommit(scratch, {
        url: target.url,
        branch: source.branch,
        commit,
        auth: target.auth,
        signal: options.signal,
        timeoutMs: 120_000 + todo.reduce((sum, item) => sum + item.built.bytes.length, 0) / 1000,
      });
      if (pushed === "pushed") {
        report.built = todo.map((item) => item.built.meta.id);
        return report;
      }
    } finally {
      await source.close();
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
    }
  }
  report!.error = "the branch kept moving while the indexes were pushed: run reindex again";
  return report!;
}

/** Commits `todo` on top of `tip` in a scratch repository borrowing `gitDir`'s objects. */
async function commitInScratch(
  scratch: string,
  gitDir: string,
  tip: string,
  todo: { built: BuiltIndex; replaces?: string }[],
  options: ReindexOptions,
): Promise<string> {
  const init = await git(["init", "--bare", "--quiet", scratch], { signal: options.signal });
  if (!init.success) throw new Error(`git init failed: ${init.stderr.trim()}`);
  await Deno.writeTextFile(join(scratch, "objects", "info", "alternates"), join(gitDir, "objects"));
  // A shallow copy's boundary goes with its objects: git must not look for the commits before it.
  await Deno.copyFile(join(gitDir, "shallow"), join(scratch, "shallow")).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const ids = todo.map((item) => item.built.meta.id);
  return await commitFiles(scratch, todo.map((item) => item.built), {
    ref: "refs/heads/reindex",
    parent: tip,
    message: `text index of ${ids.length} recording${ids.length === 1 ? "" : "s"}\n\n` +
      ids.map((id) => `Cast-Id: ${id}`).join("\n") + "\n",
    remove: todo.flatMap((item) => item.replaces ? [item.replaces] : []),
    signal: options.signal,
  });
}

/**
 * Reindexes every known remote (or `options.repoUrl`): one report each; a
 * remote that cannot be opened gets a report with `error`.
 */
export async function reindexRecordings(options: ReindexOptions): Promise<ReindexReport[]> {
  const reports: ReindexReport[] = [];
  for (const remote of await searchedRemotes(options)) {
    try {
      reports.push(await reindexRemote(options, remote));
    } catch (error) {
      if (options.signal?.aborted) throw error;
      reports.push({
        url: remote.url ? displayUrl(remote.url) : "the default remote",
        branch: remote.branch ?? "",
        built: [],
        kept: [],
        failed: [],
        error: errorMessage(error),
      });
    }
  }
  return reports;
}
