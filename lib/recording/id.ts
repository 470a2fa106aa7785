/**
 * Recording ids: `<workspace>_<YYYY-MM-DD_HH-MM-SS>_<4 random chars>`.
 *
 * An id names `active/<id>.cast`, `active/<id>.json`, `state/<id>.json` and
 * the remote folder `chunks/<id>/`, so it must be a safe file name on every
 * platform and unique across machines sharing one branch (DESIGN.md
 * invariant 9): the random suffix makes two starts in the same second
 * differ, and {@linkcode allocateRecordingId} guarantees it on one machine
 * by creating the id's config file exclusively.
 *
 * @module
 */

/** Alphabet of the random suffix (lower case, so ids never differ only by case). */
const SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Length of the random suffix. */
const SUFFIX_LENGTH = 4;

/** Workspace used when nothing usable is left after sanitizing. */
export const FALLBACK_WORKSPACE = "workspace";

/** Maximum UTF-8 length of the workspace part (file names are limited to 255 bytes). */
const MAX_WORKSPACE_BYTES = 100;

/** Fills `bytes` with random values (default `crypto.getRandomValues`). */
export type RandomSource = (bytes: Uint8Array) => void;

/** Every id made by {@linkcode makeRecordingId} matches this. */
const RECORDING_ID_PATTERN =
  /^[\p{L}\p{N}\p{M}][\p{L}\p{N}\p{M}._-]*_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_[a-z0-9]{4}$/u;

const encoder = new TextEncoder();

/**
 * Turns a directory name into a workspace name that is safe inside a file
 * name, a git path and a shell word: Unicode letters, digits and combining
 * marks (NFC) are kept, as are `-`, `_` and `.` between them; everything
 * else (quotes, backslashes, slashes, spaces, control and format characters,
 * emoji, `~`) becomes `-`. Runs of separators collapse, leading and
 * trailing `-`, `_` and `.` are dropped (no option-like or hidden names),
 * and the result is cut to {@linkcode MAX_WORKSPACE_BYTES} bytes of UTF-8.
 * An empty result becomes {@linkcode FALLBACK_WORKSPACE}.
 */
export function sanitizeWorkspace(name: string): string {
  let out = name.normalize("NFC")
    .replace(/[^\p{L}\p{N}\p{M}._-]+/gu, "-")
    // No "..", no mixed runs like "-.-": one separator, the first of the run.
    .replace(/([._-])[._-]+/g, "$1")
    .replace(/^[._-]+|[._-]+$/g, "");
  // A combining mark cannot start a name (it would attach to the separator).
  out = out.replace(/^\p{M}+/u, "");
  if (encoder.encode(out).length > MAX_WORKSPACE_BYTES) {
    let cut = "";
    for (const char of out) {
      if (encoder.encode(cut + char).length > MAX_WORKSPACE_BYTES) break;
      cut += char;
    }
    out = cut.replace(/[._-]+$/g, "");
  }
  return out || FALLBACK_WORKSPACE;
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** `YYYY-MM-DD_HH-MM-SS` in local time (like the bash version's `date +%Y-%m-%d_%H-%M-%S`). */
export function formatIdTimestamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}_${
    pad(date.getHours())
  }-${pad(date.getMinutes())}-${pad(date.getSeconds())}`;
}

/** A random suffix of {@linkcode SUFFIX_LENGTH} characters from {@linkcode SUFFIX_ALPHABET}. */
function randomSuffix(
  random: RandomSource = (bytes) => crypto.getRandomValues(bytes),
): string {
  // Rejection sampling keeps every character equally likely (252 = 7 * 36).
  const limit = 256 - (256 % SUFFIX_ALPHABET.length);
  let out = "";
  const bytes = new Uint8Array(16);
  while (out.length < SUFFIX_LENGTH) {
    random(bytes);
    for (const byte of bytes) {
      if (byte >= limit) continue;
      out += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length];
      if (out.length === SUFFIX_LENGTH) break;
    }
  }
  return out;
}

/** Options for {@linkcode makeRecordingId}. */
export interface MakeRecordingIdOptions {
  /** The clock (default now). */
  now?: Date;
  /** Random bytes (default `crypto.getRandomValues`). */
  random?: RandomSource;
}

/** A new id `<sanitized workspace>_<YYYY-MM-DD_HH-MM-SS>_<suffix>`. */
export function makeRecordingId(workspace: string, options: MakeRecordingIdOptions = {}): string {
  return `${sanitizeWorkspace(workspace)}_${formatIdTimestamp(options.now ?? new Date())}_${
    randomSuffix(options.random)
  }`;
}

/** The longest id, in bytes of UTF-8: `<id>.cast` must fit in a file name (255 bytes). */
const MAX_ID_BYTES = 250;

/**
 * Why `id`, given by a person, cannot name a recording (the file
 * `<id>.cast`, the folder `chunks/<id>/` on the branch), or undefined.
 * Ids from elsewhere (other machines, the bash version) need not match
 * {@linkcode RECORDING_ID_PATTERN}; they only need to be a file name.
 */
export function recordingIdProblem(id: string): string | undefined {
  if (id === "") return "it is empty";
  const bytes = encoder.encode(id).length;
  if (bytes > MAX_ID_BYTES) return `it is ${bytes} bytes long (ids are at most ${MAX_ID_BYTES})`;
  if (id.includes("/") || id.includes("\0")) return "it contains a slash or a NUL character";
  if (id === "." || id === "..") return "it is . or ..";
  return undefined;
}

/** True for a string that {@linkcode makeRecordingId} could have made. */
export function isRecordingId(id: string): boolean {
  return RECORDING_ID_PATTERN.test(id);
}

/** Options for {@linkcode allocateRecordingId}. */
export interface AllocateRecordingIdOptions extends MakeRecordingIdOptions {
  /**
   * Claims `id` or throws `Deno.errors.AlreadyExists` when it is taken (for
   * example by creating its config file exclusively). Other errors propagate.
   */
  claim: (id: string) => Promise<void>;
  /** Attempts before giving up (default 20). */
  attempts?: number;
}

/**
 * Makes ids until `claim` accepts one, so two starts in the same second on
 * one machine can never share an id even when their random suffixes collide.
 */
export async function allocateRecordingId(
  workspace: string,
  options: AllocateRecordingIdOptions,
): Promise<string> {
  const attempts = options.attempts ?? 20;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const id = makeRecordingId(workspace, options);
    try {
      await options.claim(id);
      return id;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
  throw new Error(
    `could not find a free recording id for workspace ${
      JSON.stringify(workspace)
    } after ${attempts} attempts: is active/ full of stale files?`,
  );
}
