/**
 * The benchmark's rig: a daemon home with its own bare remote, the daemon's
 * start and stop, progress lines.
 *
 * @module
 */
import { join } from "node:path";
import { gitChecked } from "../lib/git/mod.ts";
import { readHealth } from "../lib/status/mod.ts";
import { DEFAULT_BRANCH } from "../lib/sys/mod.ts";
import { type DaemonProcess, writeConfig } from "../tests/support/daemon.ts";
import { makeTestHome, type TestHome } from "../tests/support/env.ts";
import { RemoteWatcher } from "./remote.ts";

/** The idle threshold of every benchmark daemon except the data-at-risk one (defaults). */
export const IDLE_THRESHOLD = 1;
/** The zstd level. */
export const ZSTD_LEVEL = 3;

/** Sleeps. */
export const sleep = (ms: number): Promise<unknown> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A daemon home with its own bare remote. */
export interface Setup {
  home: TestHome;
  remote: string;
  watcher: RemoteWatcher;
}

/** A temporary home with config.json (`settings`, default: the bench's) and a bare remote. */
export async function setup(
  prefix: string,
  settings: Record<string, unknown> = { idle_threshold: IDLE_THRESHOLD, zstd_level: ZSTD_LEVEL },
): Promise<Setup> {
  const home = await makeTestHome(prefix);
  const remote = join(home.root, "remote.git");
  await gitChecked(["init", "--bare", "--quiet", remote]);
  await writeConfig(home.paths.home, { repo_url: remote, ...settings });
  await Deno.mkdir(home.paths.active, { recursive: true, mode: 0o700 });
  return { home, remote, watcher: new RemoteWatcher(remote, DEFAULT_BRANCH) };
}

/** Resolves with `performance.now()` when health.json first names `pid`. */
export async function healthSeen(path: string, pid: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const health = await readHealth(path).catch(() => undefined);
    if (health?.pid === pid) return performance.now();
    await sleep(5);
  }
  throw new Error("the daemon never wrote health.json");
}

/** SIGTERM, SIGKILL after 10 s. */
export async function stopDaemon(daemon: DaemonProcess | undefined): Promise<void> {
  if (!daemon) return;
  daemon.kill("SIGTERM");
  const timer = setTimeout(() => daemon.kill("SIGKILL"), 10_000);
  await daemon.wait();
  clearTimeout(timer);
}

/** A progress line on stderr. */
export function log(text: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
}
