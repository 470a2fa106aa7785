/**
 * Hermetic test environment: a temporary HOME and ASCIINEMA_HOME, and the
 * rule for tests that need a system tool (ignored with a reason, or failed
 * when `REQUIRE_ALL_TESTS=1`).
 *
 * @module
 */
import { join } from "node:path";
import { commandExists, findOnPath } from "../../lib/sys/mod.ts";
import { type HomePaths, homePaths } from "../../lib/sys/mod.ts";

/** A temporary home for one test. */
export interface TestHome {
  /** Root temp directory (removed by `cleanup`). */
  root: string;
  /** The test's HOME. */
  home: string;
  /** Layout of the test's ASCIINEMA_HOME. */
  paths: HomePaths;
  /** Environment for child processes: HOME, ASCIINEMA_HOME, PATH, no user git config. */
  env: Record<string, string>;
  /** Removes everything. */
  cleanup(): Promise<void>;
}

/** The Deno cache directory of the machine running the tests. */
export function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const home = Deno.env.get("HOME") ?? "/root";
  if (Deno.build.os === "darwin") return join(home, "Library", "Caches", "deno");
  return join(Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache"), "deno");
}

/**
 * Variables that tell Deno how to reach the npm registry (CA bundle, proxy):
 * passed on when set, so a child Deno with an empty cache can still download.
 */
const REGISTRY_ENV = [
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
  "NPM_CONFIG_REGISTRY",
];

/** Creates a temporary HOME with ASCIINEMA_HOME inside it. */
export async function makeTestHome(prefix = "chunker-test-"): Promise<TestHome> {
  const root = await Deno.makeTempDir({ prefix });
  const home = join(root, "home");
  await Deno.mkdir(home, { recursive: true });
  const paths = homePaths(join(home, ".asciinema"));
  const env: Record<string, string> = {
    HOME: home,
    ASCIINEMA_HOME: paths.home,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    USER: Deno.env.get("USER") ?? "tester",
    LANG: "C.UTF-8",
    NO_COLOR: "1",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    ASCIINEMA_CREDENTIAL_STORE: "env",
    // Children run Deno too: keep using the machine's module cache, not the temp HOME's.
    DENO_DIR: denoDir(),
    DENO_NO_UPDATE_CHECK: "1",
  };
  for (const name of REGISTRY_ENV) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return {
    root,
    home,
    paths,
    env,
    cleanup: () => Deno.remove(root, { recursive: true }).catch(() => {}),
  };
}

/** True when CI demands that no test is ignored. */
export function requireAll(): boolean {
  return Deno.env.get("REQUIRE_ALL_TESTS") === "1";
}

/** The tools of `tools` that are not on PATH. */
function toolsPresent(tools: string[]): string[] {
  return tools.filter((tool) => findOnPath(tool) === undefined);
}

/**
 * `ignore` for a test needing system tools: true (with the reason printed)
 * when one is missing, unless REQUIRE_ALL_TESTS=1, where the test runs and
 * fails through {@linkcode assertTools}.
 */
export function ignoreWithout(tools: string[]): boolean {
  const missing = toolsPresent(tools);
  if (missing.length === 0) return false;
  if (requireAll()) return false;
  console.warn(`ignored: needs ${missing.join(", ")} (not on PATH)`);
  return true;
}

/** Fails the test with the reason when a needed tool is missing. */
export async function assertTools(tools: string[]): Promise<void> {
  for (const tool of tools) {
    if (!(await commandExists(tool))) {
      throw new Error(`this test needs ${tool}, which is not on PATH (install it; see .ci/run)`);
    }
  }
}

/** Resolves when `predicate` returns true, polling every `intervalMs` (for external effects). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (true) {
    if (await predicate()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what ?? "condition"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
