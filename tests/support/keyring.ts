/**
 * A private D-Bus session with a real gnome-keyring Secret Service, for
 * tests: `dbus-run-session -- bash -c '...'` starts `gnome-keyring-daemon`
 * (unlocked with a test password, or locked), prints the bus address and
 * keeps the session alive until {@linkcode KeyringSession.stop}. Processes
 * given {@linkcode KeyringSession.env} (`DBUS_SESSION_BUS_ADDRESS`) talk to
 * that keyring; the keyring files live in the given folder, never in the
 * machine's home.
 *
 * @module
 */
import { join } from "node:path";

/** A running session. */
export interface KeyringSession {
  /** `DBUS_SESSION_BUS_ADDRESS` (add to a child's environment). */
  env: Record<string, string>;
  /** Where gnome-keyring keeps its files (`<dataHome>/keyrings`). */
  dataHome: string;
  /** Ends the session (gnome-keyring exits with its bus). */
  stop(): Promise<void>;
}

/** Options for {@linkcode startKeyringSession}. */
export interface KeyringSessionOptions {
  /** A folder of the test (HOME, XDG dirs of the keyring go below it). */
  root: string;
  /** The login keyring's password (default `test-keyring-password`). */
  password?: string;
  /** Unlock (or create) the login keyring (default true); false leaves it locked. */
  unlock?: boolean;
  /** Timeout for the session to come up (default 20 s). */
  timeoutMs?: number;
}

const SCRIPT = `
if [ "$KEYRING_UNLOCK" = 1 ]; then
  printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
else
  gnome-keyring-daemon --start --components=secrets </dev/null >/dev/null 2>&1
fi
printf '%s\\n' "$DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null
`;

/** Starts a D-Bus session with gnome-keyring; resolves once its address is known. */
export async function startKeyringSession(options: KeyringSessionOptions): Promise<KeyringSession> {
  const home = join(options.root, "keyring-home");
  const dataHome = join(home, ".local", "share");
  const runtime = join(options.root, "keyring-run");
  await Deno.mkdir(dataHome, { recursive: true, mode: 0o700 });
  await Deno.mkdir(runtime, { recursive: true, mode: 0o700 });
  await Deno.chmod(runtime, 0o700);
  const child = new Deno.Command("dbus-run-session", {
    args: ["--", "bash", "-c", SCRIPT],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      XDG_DATA_HOME: dataHome,
      XDG_RUNTIME_DIR: runtime,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: join(home, ".cache"),
      KEYRING_UNLOCK: options.unlock === false ? "0" : "1",
      KEYRING_PASSWORD: options.password ?? "test-keyring-password",
    },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, options.timeoutMs ?? 20_000);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("dbus-run-session ended before printing the bus address");
      text += value;
    }
  } finally {
    clearTimeout(timer);
  }
  const address = text.split("\n")[0].trim();
  if (!address) throw new Error("dbus-run-session gave no bus address");
  // Drain the rest so the child never blocks on a full pipe.
  const draining = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  let stopped = false;
  return {
    env: { DBUS_SESSION_BUS_ADDRESS: address },
    dataHome,
    async stop() {
      if (stopped) return;
      stopped = true;
      await child.stdin.close().catch(() => {});
      const kill = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      await child.status;
      clearTimeout(kill);
      await draining;
    },
  };
}
