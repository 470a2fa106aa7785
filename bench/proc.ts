/**
 * Linux `/proc` readers for the benchmark: CPU time of a process tree
 * (utime+stime of every live process plus cutime+cstime, which hold the
 * children already reaped) and peak/current RSS.
 *
 * @module
 */
import { run } from "../lib/sys/mod.ts";

/** CPU times of one process, in clock ticks. */
export interface ProcTimes {
  /** Parent pid. */
  ppid: number;
  /** User time. */
  utime: number;
  /** System time. */
  stime: number;
  /** User time of reaped children. */
  cutime: number;
  /** System time of reaped children. */
  cstime: number;
}

/** Parses the text of `/proc/<pid>/stat` (the command name may hold spaces and parens). */
export function parseStat(text: string): ProcTimes {
  const fields = text.slice(text.lastIndexOf(")") + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state) of proc(5).
  const field = (n: number) => Number(fields[n - 3]);
  return {
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/** `/proc/<pid>/stat` of one process, or undefined when it is gone. */
export function readStat(pid: number): ProcTimes | undefined {
  try {
    return parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** Whether this kernel lists a task's children (`/proc/<pid>/task/<tid>/children`). */
let childrenFiles: boolean | undefined;

/** The children of every thread of `pid`; undefined when the kernel does not list them. */
function childrenOf(pid: number): number[] | undefined {
  const kids: number[] = [];
  let tasks: Deno.DirEntry[];
  try {
    tasks = [...Deno.readDirSync(`/proc/${pid}/task`)];
  } catch {
    return kids; // gone
  }
  for (const task of tasks) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
      childrenFiles = true;
      for (const child of text.split(" ")) if (child.trim()) kids.push(Number(child));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) continue; // the thread ended meanwhile
      if (childrenFiles === undefined && task.name === String(pid)) {
        childrenFiles = false; // the process's own main thread has no such file
        return undefined;
      }
    }
  }
  return kids;
}

/** Pids of `pid` and all its live descendants, by a scan of every process's parent. */
function scanTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readStat(Number(entry.name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry.name));
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const next = todo.pop()!;
    tree.push(next);
    todo.push(...(children.get(next) ?? []));
  }
  return tree;
}

/**
 * Pids of `pid` and all its live descendants. Read from the tree's own
 * `children` files where the kernel has them: the sampler looks every
 * 25 ms while the daemon is measured, and a scan of every process's `stat`
 * took a few milliseconds of the same two cores each time.
 */
export function processTree(pid: number): number[] {
  if (childrenFiles === false) return scanTree(pid);
  const tree: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const next = todo.pop()!;
    tree.push(next);
    const kids = childrenOf(next);
    if (kids === undefined) return scanTree(pid);
    todo.push(...kids);
  }
  return tree;
}

/**
 * CPU ticks used so far by `pid` and its descendants: the live processes'
 * own time plus what their reaped children used.
 */
export function treeTicks(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    const stat = readStat(member);
    if (stat) ticks += stat.utime + stat.stime + stat.cutime + stat.cstime;
  }
  return ticks;
}

/** Clock ticks per second (`getconf CLK_TCK`, 100 when unknown). */
export async function clockTicks(): Promise<number> {
  const result = await run("getconf", { args: ["CLK_TCK"], timeoutMs: 5000 });
  const value = Number(result.stdout.trim());
  return result.success && value > 0 ? value : 100;
}

/** Memory of one process from `/proc/<pid>/status`, in bytes. */
export interface ProcMemory {
  /** Peak resident set size (VmHWM). */
  hwm: number;
  /** Resident set size now (VmRSS). */
  rss: number;
}

/** VmHWM and VmRSS of `pid`, or undefined when it is gone. */
export function readMemory(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { hwm: kib("VmHWM") * 1024, rss: kib("VmRSS") * 1024 };
}

/** Resident set size of `pid` and its live descendants, in bytes. */
export function treeRss(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) total += readMemory(member)?.rss ?? 0;
  return total;
}

/** The 1-minute load average and the whole machine's busy/total CPU ticks (`/proc/stat`). */
export function machineLoad(): { load1: number; busy: number; total: number } {
  const load1 = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  const total = cpu.reduce((sum, value) => sum + value, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { load1, busy: total - idle, total };
}

/** Resets the peak RSS (VmHWM) of `pid` to its current RSS (`clear_refs`, Linux 4.0+). */
export function resetPeak(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples the RSS of `pid`'s process tree every 100 ms until `stop`, which
 * returns the highest sum seen (bytes).
 */
export function sampleTreePeak(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      peak = Math.max(peak, treeRss(pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      sampling = false;
      await loop;
      return peak;
    },
  };
}
