/**
 * The operations a torture sequence is made of, and the generator that turns
 * a seed into a sequence. The generator only decides *what* happens; the
 * bytes of each append are derived from the seed and the operation's index
 * when it runs (see `content.ts`), so the op log stays short.
 *
 * @module
 */
import { FAILPOINTS } from "../../lib/engine/mod.ts";
import { mulberry32, type Prng } from "./prng.ts";

/** The failpoints the daemon may be armed with (lib/engine/core/failpoint.ts). */
export const FAILPOINT_NAMES = FAILPOINTS;

/**
 * What the bare remote currently does with a push: accept, be gone, refuse
 * (a hook), accept slowly, or hang (a hook that never answers in time: the
 * daemon's timeout must end it and everything it started).
 */
export type RemoteMode = "ok" | "gone" | "rejecting" | "slow" | "hanging";

/** Shape of the event lines of an append. */
export interface AppendShape {
  /** Number of event lines. */
  lines: number;
  /** Leave the last line without its newline (a later write completes it). */
  partial: boolean;
  /** One line is larger than max_chunk_bytes. */
  big: boolean;
}

/** One step of a sequence. `rec` is the recording's file name without `.cast`. */
export type Op =
  | { kind: "create"; rec: string; version: 2 | 3; json: boolean; lines: number }
  | ({ kind: "append"; rec: string } & AppendShape)
  | { kind: "pause"; ms: number }
  | { kind: "replace"; rec: string; lines: number }
  | { kind: "rewrite"; rec: string; lines: number }
  | { kind: "remove"; rec: string }
  | { kind: "end"; rec: string; how: "exit" | "json" }
  | { kind: "start" }
  | { kind: "stop" }
  | { kind: "kill"; afterMs: number }
  | { kind: "failpoint"; name: typeof FAILPOINT_NAMES[number]; n: number }
  | { kind: "remote"; mode: RemoteMode }
  | { kind: "clock"; offsetSeconds: number }
  /** A second machine (its own home and daemon) records under the same names to the same remote. */
  | {
    kind: "other";
    action: "create" | "append" | "end" | "start" | "stop";
    rec: string;
    lines: number;
  }
  /** `state/`, `repos/` and `spool/` lost (a wiped or restored home), maybe with the remote down. */
  | { kind: "wipe"; remoteDown: boolean }
  /** The remote's branch set back `back` commits (a restored backup); deleted when it has fewer. */
  | { kind: "reset"; back: number }
  /** A recording's `.json` replaced by a FIFO (put back by heal, or by the next `.json` write). */
  | { kind: "fifo"; rec: string };

/** A generated sequence. */
export interface Sequence {
  /** The seed it came from. */
  seed: number;
  /** Recording names used. */
  recordings: string[];
  /** The steps, in order. */
  ops: Op[];
  /** True when some step moves the wall clock (the daemon then runs under libfaketime). */
  usesClock: boolean;
  /** True when a second machine takes part. */
  usesOther: boolean;
}

/** Recording names: spaces, a leading dash, a dot and non-ASCII are all legal ids. */
const NAMES = ["alpha", "beta gamma", "-dash", "d.e", "ünï"] as const;

/** At most this many daemon starts per sequence (each costs a Deno startup). */
const MAX_STARTS = 3;

type RecState = "absent" | "live" | "ended";

interface GenState {
  recs: Map<string, { state: RecState; version: 2 | 3; created: boolean }>;
  daemonUp: boolean;
  starts: number;
  remote: RemoteMode;
  /** The second machine: its recordings and its daemon. */
  other: { recs: Map<string, RecState>; up: boolean; starts: number };
  /**
   * A wipe happened while the remote was down and the remote has not come
   * back: recordings cut since then are provisional, and a file replaced
   * meanwhile would be backed up twice (never mixed), so no file is replaced
   * until the remote is back.
   */
  unsettled: boolean;
  /**
   * A wipe or a reset happened. Not both in one sequence: a remote that loses
   * what it accepted while the home forgot what it pushed leaves no copy the
   * daemon could give back (the finished file in done/ is not re-read).
   */
  lost: "wipe" | "reset" | null;
}

function appendShape(random: Prng): AppendShape {
  const burst = random.chance(0.15);
  return {
    lines: burst ? random.int(15, 60) : random.int(1, 6),
    partial: random.chance(0.25),
    big: random.chance(0.08),
  };
}

function startOp(state: GenState, ops: Op[]): boolean {
  if (state.daemonUp) return true;
  if (state.starts >= MAX_STARTS) return false;
  state.starts++;
  state.daemonUp = true;
  ops.push({ kind: "start" });
  return true;
}

function createOp(random: Prng, rec: string, state: GenState): Op {
  const version = random.chance(0.5) ? 2 : 3;
  const entry = state.recs.get(rec)!;
  entry.state = "live";
  entry.version = version;
  entry.created = true;
  return { kind: "create", rec, version, json: random.chance(0.5), lines: random.int(0, 4) };
}

type Kind =
  | "append"
  | "pause"
  | "replace"
  | "rewrite"
  | "remove"
  | "create"
  | "end"
  | "daemon"
  | "failpoint"
  | "remote"
  | "clock"
  | "other"
  | "wipe"
  | "reset"
  | "fifo";

/** Appends one random step (or a few that belong together) to `ops`. */
function step(random: Prng, state: GenState, ops: Op[]): void {
  const recs = [...state.recs.entries()];
  const live = recs.filter(([, r]) => r.state === "live").map(([name]) => name);
  const reusable = recs.filter(([, r]) => r.state !== "live").map(([name]) => name);
  const stable = !state.unsettled;
  const kind = random.weighted<Kind>({
    append: live.length ? 34 : 0,
    pause: 20,
    replace: live.length && stable ? 4 : 0,
    rewrite: live.length && stable ? 4 : 0,
    remove: live.length && stable ? 3 : 0,
    create: reusable.length && stable ? 6 : 0,
    end: live.length ? 4 : 0,
    daemon: 7,
    failpoint: 2,
    remote: 5,
    clock: 2,
    other: 5,
    wipe: state.starts < MAX_STARTS && state.lost !== "reset" ? 2 : 0,
    reset: state.lost !== "wipe" ? 2 : 0,
    fifo: live.length ? 1 : 0,
  });
  switch (kind) {
    case "append":
      ops.push({ kind: "append", rec: random.pick(live), ...appendShape(random) });
      return;
    case "pause":
      ops.push({ kind: "pause", ms: random.int(30, 250) });
      return;
    case "replace":
    case "rewrite": {
      const op: Op = { kind, rec: random.pick(live), lines: random.int(0, 5) };
      if (kind === "rewrite" && random.chance(0.4) && state.daemonUp && state.starts < MAX_STARTS) {
        // Rewritten in place while the daemon is down: same inode, maybe not even shorter.
        state.daemonUp = false;
        ops.push({ kind: "stop" }, op);
        startOp(state, ops);
        return;
      }
      ops.push(op);
      return;
    }
    case "remove": {
      const rec = random.pick(live);
      if (random.chance(0.4) && state.daemonUp && state.starts < MAX_STARTS) {
        // rm and recreate while the daemon is down: ext4 may hand the new file the old inode.
        state.daemonUp = false;
        ops.push({ kind: "stop" }, { kind: "remove", rec }, createOp(random, rec, state));
        startOp(state, ops);
        return;
      }
      state.recs.get(rec)!.state = "absent";
      ops.push({ kind: "remove", rec });
      return;
    }
    case "create": {
      const rec = random.pick(reusable);
      // Reusing a finished name needs the daemon to have moved the old files to done/ first.
      if (state.recs.get(rec)!.state === "ended" && !startOp(state, ops)) return;
      ops.push(createOp(random, rec, state));
      return;
    }
    case "end": {
      const rec = random.pick(live);
      const entry = state.recs.get(rec)!;
      entry.state = "ended";
      ops.push({
        kind: "end",
        rec,
        how: entry.version === 3 && random.chance(0.6) ? "exit" : "json",
      });
      return;
    }
    case "daemon":
      if (!state.daemonUp) {
        startOp(state, ops);
      } else if (random.chance(0.5)) {
        state.daemonUp = false;
        ops.push({ kind: "kill", afterMs: random.int(0, 300) });
      } else {
        state.daemonUp = false;
        ops.push({ kind: "stop" });
      }
      return;
    case "failpoint":
      ops.push({ kind: "failpoint", name: random.pick(FAILPOINT_NAMES), n: random.int(1, 3) });
      return;
    case "remote": {
      const mode: RemoteMode = state.remote !== "ok"
        ? "ok"
        : random.pick(["gone", "rejecting", "slow", "hanging"] as const);
      state.remote = mode;
      if (mode === "ok") state.unsettled = false;
      ops.push({ kind: "remote", mode });
      return;
    }
    case "other":
      return otherStep(random, state, ops);
    case "wipe": {
      const remoteDown = random.chance(0.6);
      if (remoteDown) {
        state.remote = "gone";
        state.unsettled = true;
      }
      state.daemonUp = true;
      state.starts++;
      state.lost = "wipe";
      ops.push({ kind: "wipe", remoteDown });
      return;
    }
    case "reset":
      state.lost = "reset";
      ops.push({ kind: "reset", back: random.int(1, 4) });
      return;
    case "fifo":
      ops.push({ kind: "fifo", rec: random.pick(live) });
      return;
    case "clock":
      ops.push({
        kind: "clock",
        offsetSeconds: random.pick([0, -3600, 3600, -86_400 * 2, 86_400 * 3, -90, 59]),
      });
      return;
  }
}

/** A step of the second machine: its daemon, or one of its recordings under a shared name. */
function otherStep(random: Prng, state: GenState, ops: Op[]): void {
  const { other } = state;
  if (!other.up && other.starts < 2) {
    other.up = true;
    other.starts++;
    ops.push({ kind: "other", action: "start", rec: "", lines: 0 });
    return;
  }
  const rec = random.pick([...state.recs.keys()]);
  const mine = other.recs.get(rec) ?? "absent";
  if (mine !== "live") {
    other.recs.set(rec, "live");
    ops.push({ kind: "other", action: "create", rec, lines: random.int(1, 30) });
  } else if (random.chance(0.25)) {
    other.recs.set(rec, "ended");
    ops.push({ kind: "other", action: "end", rec, lines: 0 });
  } else if (other.up && random.chance(0.1)) {
    other.up = false;
    ops.push({ kind: "other", action: "stop", rec: "", lines: 0 });
  } else {
    ops.push({ kind: "other", action: "append", rec, lines: random.int(1, 40) });
  }
}

/** Generates the sequence for `seed` (a pure function of the seed). */
export function generateSequence(seed: number): Sequence {
  const random = mulberry32(seed);
  const count = random.int(1, 3);
  const names: string[] = [];
  while (names.length < count) {
    const name = random.pick(NAMES);
    if (!names.includes(name)) names.push(name);
  }
  const state: GenState = {
    recs: new Map(names.map((name) => [name, { state: "absent", version: 2, created: false }])),
    daemonUp: false,
    starts: 0,
    remote: "ok",
    other: { recs: new Map(), up: false, starts: 0 },
    unsettled: false,
    lost: null,
  };
  const ops: Op[] = [];
  if (random.chance(0.3)) {
    ops.push({ kind: "failpoint", name: random.pick(FAILPOINT_NAMES), n: random.int(1, 3) });
  }
  ops.push(createOp(random, names[0], state));
  if (random.chance(0.85)) startOp(state, ops);
  const steps = random.int(7, 13);
  for (let i = 0; i < steps; i++) step(random, state, ops);
  // Every recording ends up present, so its last incarnation can be checked in full.
  for (const [name, entry] of state.recs) {
    if (entry.state === "absent") ops.push(createOp(random, name, state));
  }
  return {
    seed,
    recordings: names,
    ops,
    usesClock: ops.some((op) => op.kind === "clock"),
    usesOther: ops.some((op) => op.kind === "other"),
  };
}

/** One line describing `op` for the operation log. */
export function describeOp(op: Op): string {
  const { kind, ...rest } = op;
  const fields = Object.entries(rest).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return [kind, ...fields].join(" ");
}
