/**
 * The oracle: compares what reached the remote (and each machine's done/)
 * with the models of what each machine wrote. For every chunk id: seqs
 * 0..n-1, ranges tiling [0, end), every chunk decompresses to whole lines of
 * its range's length, and the restored bytes are a prefix of exactly one
 * incarnation of the same name, of one machine. Every incarnation has at most
 * one chunk id; on every machine the last incarnation of every name, and every
 * finished one, restores in full; finished ones are in that machine's done/
 * byte-identical. Every chunk has its record beside the recording, with the
 * sha256 of its bytes, and no record is without its chunk; a manifest's
 * sha256 is that of what its chunks restore.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { BranchChunk, BranchContents } from "./branch_reader.ts";
import { concat, contentOf, type Incarnation, type Model } from "./model.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One machine: what it wrote, and where its files are. */
export interface OracleMachine {
  /** Its name in failures (omitted for a lone machine). */
  name?: string;
  /** The model of what was written there. */
  model: Model;
  /** Its `$ASCIINEMA_HOME/active`. */
  active: string;
  /** Its `$ASCIINEMA_HOME/done`. */
  done: string;
}

/** What the oracle is given: one machine (`model`, `active`, `done`) or several (`machines`). */
export type OracleInput =
  & { branch: BranchContents }
  & (OracleMachine | { machines: OracleMachine[] });

function describe(inc: Incarnation): string {
  return `incarnation #${inc.index} of "${inc.rec}" (${inc.origin}, v${inc.version}, ${inc.length} bytes)`;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function preview(bytes: Uint8Array): string {
  return JSON.stringify(decoder.decode(bytes.subarray(0, 100)));
}

/** Checks one chunk id's chunks; returns its restored bytes, or null when unusable. */
function restore(id: string, chunks: BranchChunk[], failures: string[]): Uint8Array | null {
  let end = 0;
  let ok = true;
  chunks.forEach((chunk, index) => {
    const where = `chunk id "${id}": ${chunk.path}`;
    if (chunk.seq !== index) failures.push(`${where}: seq ${chunk.seq} where ${index} is expected`);
    if (chunk.start !== end) {
      failures.push(`${where}: starts at ${chunk.start}, the previous chunk ended at ${end}`);
    }
    if (chunk.end <= chunk.start) failures.push(`${where}: empty or inverted range`);
    if (chunk.raw === null) {
      failures.push(`${where}: does not decompress`);
      ok = false;
    } else {
      if (chunk.raw.length !== chunk.end - chunk.start) {
        failures.push(
          `${where}: decompresses to ${chunk.raw.length} bytes, its name says ${
            chunk.end - chunk.start
          }`,
        );
      }
      if (chunk.raw.at(-1) !== 10) failures.push(`${where}: does not end at a line end`);
    }
    end = chunk.end;
  });
  return ok ? concat(chunks.map((chunk) => chunk.raw!)) : null;
}

/** Bytes from `at` on where `a` and `b` agree. */
function agreeing(a: Uint8Array, b: Uint8Array, at: number): number {
  let n = 0;
  while (at + n < a.length && at + n < b.length && a[at + n] === b[at + n]) n++;
  return n;
}

/** Explains how `restored` departs from `inc` (and which incarnation the odd bytes came from). */
function explainMismatch(
  id: string,
  restored: Uint8Array,
  inc: Incarnation,
  model: Model,
): string {
  const content = contentOf(inc);
  const at = firstDifference(restored, content);
  const head = at === content.length
    ? `chunk id "${id}" restores ${restored.length} bytes, more than the ${content.length} of ${
      describe(inc)
    }`
    : `chunk id "${id}" restores bytes that are not a prefix of ${
      describe(inc)
    }: they differ at byte ${at}`;
  const rest = restored.length - at;
  // A daemon that kept reading a new file at the old offset: same offset, other incarnation.
  const sameOffset = model.incarnations
    .filter((other) => other !== inc)
    .map((other) => ({ other, n: agreeing(restored, contentOf(other), at) }))
    .sort((a, b) => b.n - a.n)[0];
  if (sameOffset && sameOffset.n >= Math.min(8, rest)) {
    return `${head}; from byte ${at} on, ${sameOffset.n} of the ${rest} remaining bytes are those of ${
      describe(sameOffset.other)
    } at the same offset: two files mixed under one id`;
  }
  const lineEnd = restored.indexOf(10, at);
  const needle = restored.subarray(at, lineEnd < 0 ? restored.length : lineEnd + 1);
  const source = needle.length >= 4
    ? model.incarnations.find((other) => other !== inc && contains(contentOf(other), needle))
    : undefined;
  return `${head} (there: ${preview(needle)})` +
    (source ? `, bytes found in ${describe(source)}: two files mixed under one id` : "");
}

async function listDone(done: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  try {
    for await (const entry of Deno.readDir(done)) {
      if (entry.isFile) files.set(entry.name, await Deno.readFile(join(done, entry.name)));
    }
  } catch {
    // no done/ yet
  }
  return files;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && firstDifference(a, b) === a.length;
}

/** Runs every check; returns the failures (empty when the daemon kept every invariant). */
export async function checkOracle(input: OracleInput): Promise<string[]> {
  const { branch } = input;
  const machines = "machines" in input ? input.machines : [input];
  const failures: string[] = [];
  const machineOf = new Map<Incarnation, OracleMachine>();
  for (const machine of machines) {
    for (const inc of machine.model.incarnations) machineOf.set(inc, machine);
  }
  const all = [...machineOf.keys()];
  const where = (inc: Incarnation) => {
    const name = machineOf.get(inc)?.name;
    return machines.length > 1 && name ? `machine ${name}'s ${describe(inc)}` : describe(inc);
  };
  const byHeader = new Map(all.map((inc) => [inc.header, inc]));
  const idsOf = new Map<Incarnation, string[]>();
  const restoredOf = new Map<string, Uint8Array>();
  for (const path of branch.strays) {
    if (path.startsWith("chunks/")) failures.push(`unexpected file on the branch: ${path}`);
  }
  for (const [id, chunks] of branch.chunks) {
    const restored = restore(id, chunks, failures);
    if (!restored) continue;
    restoredOf.set(id, restored);
    const eol = restored.indexOf(10);
    const header = decoder.decode(restored.subarray(0, eol < 0 ? restored.length : eol));
    const inc = byHeader.get(header);
    if (!inc) {
      failures.push(`chunk id "${id}" starts with a line no incarnation has: ${preview(restored)}`);
      continue;
    }
    const base = id.split("~")[0];
    if (base !== inc.rec) {
      failures.push(`chunk id "${id}" holds ${where(inc)}: another name's id`);
    }
    if (!equal(restored, contentOf(inc).subarray(0, restored.length))) {
      failures.push(explainMismatch(id, restored, inc, machineOf.get(inc)!.model));
    }
    idsOf.set(inc, [...(idsOf.get(inc) ?? []), id]);
  }
  for (const [inc, ids] of idsOf) {
    if (ids.length > 1) {
      failures.push(
        `${where(inc)} is under ${ids.length} chunk ids: ${ids.join(", ")} (duplicated)`,
      );
    }
  }
  for (const machine of machines) {
    const done = await listDone(machine.done);
    for (const inc of machine.model.incarnations) {
      if (!inc.current && !inc.ended) continue;
      const ids = idsOf.get(inc) ?? [];
      const content = contentOf(inc);
      const restored = ids.length === 1 ? restoredOf.get(ids[0])! : null;
      if (ids.length === 0) {
        failures.push(`${where(inc)} is not on the branch at all`);
      } else if (restored && restored.length !== content.length) {
        failures.push(
          `${where(inc)} restores only ${restored.length} of ${content.length} bytes from "${
            ids[0]
          }"`,
        );
      }
      if (inc.ended) {
        const cast = [...done].find(([name, bytes]) =>
          name.endsWith(".cast") && equal(bytes, content)
        );
        if (!cast) failures.push(`finished ${where(inc)} is not in done/ byte-identical`);
        if (inc.json !== null) {
          const json = encoder.encode(inc.json);
          if (![...done].some(([name, bytes]) => name.endsWith(".json") && equal(bytes, json))) {
            failures.push(`the .json of finished ${where(inc)} is not in done/ byte-identical`);
          }
        }
        if (ids.length === 1 && !branch.manifests.has(ids[0])) {
          failures.push(`finished ${where(inc)} has no recordings/${ids[0]}/manifest.json`);
        }
      } else {
        let bytes: Uint8Array | null = null;
        try {
          bytes = await Deno.readFile(join(machine.active, `${inc.rec}.cast`));
        } catch {
          // checked below
        }
        if (!bytes || !equal(bytes, content)) {
          failures.push(`live ${where(inc)} is no longer in active/ as written`);
        }
      }
    }
  }
  for (const [id, text] of branch.manifests) {
    let manifest: { sha256?: unknown; total_bytes?: unknown } | undefined;
    try {
      manifest = JSON.parse(text);
    } catch {
      failures.push(`recordings/${id}/manifest.json is not valid JSON`);
    }
    const restored = restoredOf.get(id);
    if (
      restored && typeof manifest?.sha256 === "string" &&
      manifest.total_bytes === restored.length && manifest.sha256 !== sha256(restored)
    ) {
      failures.push(`recordings/${id}/manifest.json has a sha256 that its chunks do not restore`);
    }
  }
  checkRecords(branch, failures);
  return failures;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Each chunk's record (`recordings/<id>/chunks/<seq>_<start>-<end>`) is there and right. */
function checkRecords(branch: BranchContents, failures: string[]): void {
  for (const [id, chunks] of branch.chunks) {
    const records = branch.records.get(id) ?? new Map<string, string>();
    for (const chunk of chunks) {
      const name = `${String(chunk.seq).padStart(6, "0")}_${chunk.start}-${chunk.end}`;
      const text = records.get(name);
      if (text === undefined) {
        failures.push(`${chunk.path} has no record recordings/${id}/chunks/${name}`);
      } else if (chunk.raw && !text.includes(`Cast-Sha256: ${sha256(chunk.raw)}\n`)) {
        failures.push(
          `the record of ${chunk.path} does not hold its sha256: ${preview(encoder.encode(text))}`,
        );
      }
    }
  }
  for (const [id, records] of branch.records) {
    const names = new Set(
      (branch.chunks.get(id) ?? []).map((chunk) =>
        `${String(chunk.seq).padStart(6, "0")}_${chunk.start}-${chunk.end}`
      ),
    );
    for (const name of records.keys()) {
      if (!names.has(name)) {
        failures.push(`recordings/${id}/chunks/${name} is a record without its chunk`);
      }
    }
  }
}
