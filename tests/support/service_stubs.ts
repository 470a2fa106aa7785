/**
 * Stand-ins for `launchctl`, `systemctl` and `loginctl`: shell scripts put
 * first on PATH that record their argv and answer like the real tools from
 * a small state file (`running`, `exited`, absent = not loaded).
 *
 * @module
 */
import { join } from "node:path";

/** A stand-in tool. */
export interface ToolStub {
  /** Directory to put first on PATH. */
  binDir: string;
  /** Environment for the driver (PATH with the stand-in first, STUB_DIR). */
  env: Record<string, string>;
  /** Calls so far, each as its argv. */
  calls(): Promise<string[][]>;
  /** Sets the job's state (`running`, `exited`, `none`). */
  setState(state: string): Promise<void>;
  /** The job's state. */
  state(): Promise<string>;
}

/** The `launchctl print` of a running job (macOS 14 layout, trimmed). */
export function launchctlPrintRunning(label: string, uid: number, pid: number): string {
  return `gui/${uid}/${label} = {
\tactive count = 1
\tpath = /Users/me/Library/LaunchAgents/${label}.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /Users/me/.asciinema/bin/asciinema-chunker
\targuments = {
\t\t/Users/me/.asciinema/bin/asciinema-chunker
\t\trun
\t}

\tworking directory = /Users/me/.asciinema

\tstdout path = /Users/me/.asciinema/logs/launchd-stdout.log
\tstderr path = /Users/me/.asciinema/logs/launchd-stderr.log
\tinherited environment = {
\t\tSSH_AUTH_SOCK => /private/tmp/com.apple.launchd.x1/Listeners
\t}

\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tenvironment = {
\t\tHOME => /Users/me
\t\tXPC_SERVICE_NAME => ${label}
\t}

\tdomain = gui/${uid} [100005]
\tasid = 100005
\tminimum runtime = 10
\texit timeout = 5
\truns = 1
\tpid = ${pid}
\timmediate reason = speculative
\tforks = 0
\texecs = 1
\tinitialized = 1
\ttrampolined = 1
\tstarted suspended = 0
\tproxy started suspended = 0
\tlast exit code = (never exited)

\tspawn type = background (4)
\tjetsam priority = 40
\tjetsam memory limit (active) = (unlimited)
\tcpumon = default
\tprobabilistic guard malloc policy = {
\t\tactivation rate = 1/1000
\t\tsample rate = 1/0
\t}

\tproperties = keepalive | runatload | inferred program
}
`;
}

/** The `launchctl print` of a loaded job whose process exited with `code`. */
export function launchctlPrintExited(label: string, uid: number, code: number): string {
  return `gui/${uid}/${label} = {
\tactive count = 0
\tpath = /Users/me/Library/LaunchAgents/${label}.plist
\ttype = LaunchAgent
\tstate = not running

\tprogram = /Users/me/.asciinema/bin/asciinema-chunker
\targuments = {
\t\t/Users/me/.asciinema/bin/asciinema-chunker
\t\trun
\t}

\tdomain = gui/${uid} [100005]
\tasid = 100005
\tminimum runtime = 10
\texit timeout = 5
\truns = 4
\tlast exit code = ${code}

\tspawn type = background (4)
\tproperties = keepalive | runatload | inferred program
}
`;
}

async function writeScript(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
}

const RECORD =
  `for a in "$@"; do printf '%s\\t' "$a" >> "$STUB_DIR/calls"; done; echo >> "$STUB_DIR/calls"
state=$(cat "$STUB_DIR/state" 2>/dev/null || echo none)
`;

function stubFor(dir: string): Omit<ToolStub, "binDir" | "env"> {
  return {
    async calls() {
      let text = "";
      try {
        text = await Deno.readTextFile(join(dir, "calls"));
      } catch {
        return [];
      }
      return text.split("\n").filter(Boolean).map((line) => line.split("\t").slice(0, -1));
    },
    setState: (state) => Deno.writeTextFile(join(dir, "state"), state),
    async state() {
      try {
        return (await Deno.readTextFile(join(dir, "state"))).trim();
      } catch {
        return "none";
      }
    },
  };
}

/**
 * A `launchctl` stand-in in `dir` for `label` and `uid`. With `legacy`,
 * `help` lists no `bootstrap` (an old macOS) and load/unload/list answer.
 */
export async function makeLaunchctlStub(
  dir: string,
  options: { label: string; uid: number; legacy?: boolean; exitCode?: number },
): Promise<ToolStub> {
  const binDir = join(dir, "bin");
  await Deno.mkdir(binDir, { recursive: true });
  const target = `gui/${options.uid}/${options.label}`;
  await Deno.writeTextFile(
    join(dir, "running.txt"),
    launchctlPrintRunning(options.label, options.uid, 4242),
  );
  await Deno.writeTextFile(
    join(dir, "exited.txt"),
    launchctlPrintExited(options.label, options.uid, options.exitCode ?? 1),
  );
  const help = options.legacy
    ? "Subcommands:\\n\\tload\\n\\tunload\\n\\tlist\\n\\tstart\\n\\tstop\\n"
    : "Subcommands:\\n\\tbootstrap\\n\\tbootout\\n\\tenable\\n\\tdisable\\n\\tkickstart\\n\\tprint\\n";
  await writeScript(
    join(binDir, "launchctl"),
    `#!/bin/sh
${RECORD}
notfound() {
  echo "Bad request." >&2
  echo "Could not find service \\"${options.label}\\" in domain for user gui: ${options.uid}" >&2
  exit 113
}
case "$1" in
  help) printf '${help}'; exit 0 ;;
  print)
    ${options.legacy ? 'echo "Unrecognized subcommand: print" >&2; exit 64' : ""}
    [ "$2" = "${target}" ] || notfound
    case "$state" in
      running) cat "$STUB_DIR/running.txt" ;;
      exited) cat "$STUB_DIR/exited.txt" ;;
      *) notfound ;;
    esac ;;
  bootstrap)
    [ "$state" = running ] && { echo "Bootstrap failed: 5: Input/output error" >&2; exit 5; }
    echo running > "$STUB_DIR/state" ;;
  bootout)
    [ "$state" = none ] && { echo "Boot-out failed: 3: No such process" >&2; exit 3; }
    echo none > "$STUB_DIR/state" ;;
  kickstart) echo running > "$STUB_DIR/state" ;;
  enable|disable) exit 0 ;;
  load) echo running > "$STUB_DIR/state" ;;
  unload) echo none > "$STUB_DIR/state" ;;
  list)
    case "$state" in
      running) printf '{\\n\\t"Label" = "%s";\\n\\t"LastExitStatus" = 0;\\n\\t"PID" = 4242;\\n};\\n' "$2" ;;
      exited) printf '{\\n\\t"Label" = "%s";\\n\\t"LastExitStatus" = 256;\\n};\\n' "$2" ;;
      *) echo "Could not find service \\"$2\\" in domain for port" >&2; exit 113 ;;
    esac ;;
  *) echo "Unrecognized subcommand: $1" >&2; exit 64 ;;
esac
`,
  );
  return {
    binDir,
    env: { PATH: `${binDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`, STUB_DIR: dir },
    ...stubFor(dir),
  };
}

/**
 * `systemctl` and `loginctl` stand-ins in `dir` for `unit`. `available:
 * false` makes `show-environment` fail like a machine without a user
 * manager. `linger` is loginctl's answer.
 */
export async function makeSystemctlStub(
  dir: string,
  options: { unit: string; available?: boolean; linger?: boolean; exitStatus?: number },
): Promise<ToolStub> {
  const binDir = join(dir, "bin");
  await Deno.mkdir(binDir, { recursive: true });
  const show = (fields: Record<string, string | number>) =>
    Object.entries(fields).map(([key, value]) => `${key}=${value}`).join("\\n") + "\\n";
  const running = show({
    LoadState: "loaded",
    ActiveState: "active",
    SubState: "running",
    MainPID: 4343,
    ExecMainStatus: 0,
    ExecMainCode: 0,
    UnitFileState: "enabled",
    Result: "success",
    NRestarts: 0,
    FragmentPath: `/home/me/.config/systemd/user/${options.unit}`,
  });
  const exited = show({
    LoadState: "loaded",
    ActiveState: "activating",
    SubState: "auto-restart",
    MainPID: 0,
    ExecMainStatus: options.exitStatus ?? 2,
    ExecMainCode: 1,
    UnitFileState: "enabled",
    Result: "exit-code",
    NRestarts: 3,
    FragmentPath: `/home/me/.config/systemd/user/${options.unit}`,
  });
  const stopped = show({
    LoadState: "loaded",
    ActiveState: "inactive",
    SubState: "dead",
    MainPID: 0,
    ExecMainStatus: 0,
    ExecMainCode: 0,
    UnitFileState: "disabled",
    Result: "success",
    NRestarts: 0,
    FragmentPath: `/home/me/.config/systemd/user/${options.unit}`,
  });
  const missing = show({
    LoadState: "not-found",
    ActiveState: "inactive",
    SubState: "dead",
    MainPID: 0,
    ExecMainStatus: 0,
    ExecMainCode: 0,
    UnitFileState: "",
    Result: "success",
    NRestarts: 0,
    FragmentPath: "",
  });
  await writeScript(
    join(binDir, "systemctl"),
    `#!/bin/sh
${RECORD}
[ "$1" = "--user" ] || { echo "only --user is expected" >&2; exit 64; }
shift
case "$1" in
  show-environment)
    ${
      options.available === false
        ? 'echo "Failed to connect to bus: No medium found" >&2; exit 1'
        : 'echo "HOME=/home/me"'
    } ;;
  daemon-reload) ;;
  enable) echo running > "$STUB_DIR/state" ;;
  disable) [ "$state" = none ] || echo stopped > "$STUB_DIR/state" ;;
  restart) echo running > "$STUB_DIR/state" ;;
  show)
    case "$state" in
      running) printf '${running}' ;;
      exited) printf '${exited}' ;;
      stopped) printf '${stopped}' ;;
      *) printf '${missing}' ;;
    esac ;;
  *) echo "Unknown command verb $1." >&2; exit 1 ;;
esac
`,
  );
  await writeScript(
    join(binDir, "loginctl"),
    `#!/bin/sh
${RECORD.split("\n")[0]}
printf 'Linger=${options.linger ? "yes" : "no"}\\n'
`,
  );
  return {
    binDir,
    env: { PATH: `${binDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`, STUB_DIR: dir },
    ...stubFor(dir),
  };
}
