/**
 * Stand-ins for `launchctl`, `systemctl` and `loginctl`: shell scripts put
 * first on PATH that record their argv and answer like the real tools from
 * a small state file (`running`, `exited`, absent = not loaded).
 *
 * @module
 */
import { join } from "node:path";
import type { HomePaths } from "../../lib/sys/mod.ts";

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

/** Options of {@linkcode makeLaunchctlStub}. */
export interface LaunchctlStubOptions {
  /** The job's label. */
  label: string;
  /** The user id (`gui/<uid>`). */
  uid: number;
  /** An old macOS: `help` lists no `bootstrap`; load/unload/list answer. */
  legacy?: boolean;
  /** The exit code `print` shows for an exited job (default 1). */
  exitCode?: number;
  /** `modern` (default): `last exit code = 78: EX_CONFIG`; `old`: `last exit code = 78`. */
  printFormat?: "modern" | "old";
  /**
   * After `bootout`, how many `print` calls still show the job while
   * launchd removes it (default 0: gone at once). Meanwhile `bootstrap`
   * answers `busyCode` and `bootout` answers 36.
   */
  leaveAfter?: number;
  /** What bootstrap answers while the old job is leaving: 5 (default) or 37. */
  busyCode?: 5 | 37;
  /** `bootout` answers `36: Operation now in progress` (the job still leaves). */
  bootoutInProgress?: boolean;
  /** The first n bootstraps fail with `5: Input/output error` ("now and then"). */
  flakyBootstraps?: number;
  /** No GUI login (SSH): `gui/<uid>` does not exist, bootstrap fails with 5. */
  noGui?: boolean;
  /** Switched off under Login Items: bootstrap fails with 5. */
  loginItemOff?: boolean;
}

const EXIT_NAMES: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  78: "EX_CONFIG",
};

/**
 * A `launchctl` stand-in in `dir` for `label` and `uid`, answering with the
 * real tool's exit codes and messages: 113 `Could not find service` (and
 * `Could not find domain` without a GUI login), `Bootstrap failed: 5:
 * Input/output error` and `37: Operation already in progress` while a job
 * is loaded or still leaving, `Boot-out failed: 36: Operation now in
 * progress`, `3: No such process`. Like launchd, bootstrap of a plist whose
 * WorkingDirectory or log folder is missing loads the job but it exits at
 * once with `78: EX_CONFIG`. `kickstart -k` gives the job a new pid.
 */
export async function makeLaunchctlStub(
  dir: string,
  options: LaunchctlStubOptions,
): Promise<ToolStub> {
  const binDir = join(dir, "bin");
  await Deno.mkdir(binDir, { recursive: true });
  const target = `gui/${options.uid}/${options.label}`;
  const code = options.exitCode ?? 1;
  const shown = (n: number) =>
    options.printFormat === "old" || !EXIT_NAMES[n] ? `${n}` : `${n}: ${EXIT_NAMES[n]}`;
  await Deno.writeTextFile(
    join(dir, "running.txt"),
    launchctlPrintRunning(options.label, options.uid, 4242).replace(/pid = 4242/, "pid = @PID@"),
  );
  await Deno.writeTextFile(
    join(dir, "exited.txt"),
    launchctlPrintExited(options.label, options.uid, code).replace(
      /last exit code = .*/,
      `last exit code = ${shown(code)}`,
    ),
  );
  await Deno.writeTextFile(
    join(dir, "config-exited.txt"),
    launchctlPrintExited(options.label, options.uid, 78).replace(
      /last exit code = .*/,
      `last exit code = ${shown(78)}`,
    ),
  );
  await Deno.writeTextFile(join(dir, "pid"), "4242\n");
  await Deno.writeTextFile(join(dir, "flaky"), `${options.flakyBootstraps ?? 0}\n`);
  const help = options.legacy
    ? "Subcommands:\\n\\tload\\n\\tunload\\n\\tlist\\n\\tstart\\n\\tstop\\n"
    : "Subcommands:\\n\\tbootstrap\\n\\tbootout\\n\\tenable\\n\\tdisable\\n\\tkickstart\\n\\tprint\\n";
  const eio = 'echo "Bootstrap failed: 5: Input/output error" >&2; echo ' +
    '"Try re-running the command as root for richer errors." >&2; exit 5';
  const busy = options.busyCode === 37
    ? 'echo "Bootstrap failed: 37: Operation already in progress" >&2; exit 37'
    : eio;
  await writeScript(
    join(binDir, "launchctl"),
    `#!/bin/sh
${RECORD}
nodomain() {
  echo "Could not find domain for user gui: ${options.uid}" >&2
  exit 113
}
notfound() {
  ${options.noGui ? "nodomain" : ""}
  echo "Bad request." >&2
  echo "Could not find service \\"${options.label}\\" in domain for user gui: ${options.uid}" >&2
  exit 113
}
# A job being removed stays visible for a few prints.
if [ "$state" = leaving ] && [ "$1" = print ]; then
  left=$(cat "$STUB_DIR/leave" 2>/dev/null || echo 0)
  if [ "$left" -le 0 ]; then state=none; echo none > "$STUB_DIR/state"
  else echo $((left - 1)) > "$STUB_DIR/leave"; fi
fi
plistkey() {
  sed -n "/<key>$1<\\/key>/{n;s/.*<string>\\(.*\\)<\\/string>.*/\\1/p;}" "$2"
}
case "$1" in
  help) printf '${help}'; exit 0 ;;
  print)
    ${options.legacy ? 'echo "Unrecognized subcommand: print" >&2; exit 64' : ""}
    ${options.noGui ? "nodomain" : ""}
    if [ "$2" = "gui/${options.uid}" ]; then
      printf 'gui/${options.uid} = {\\n\\ttype = gui\\n\\thandle = ${options.uid}\\n}\\n'; exit 0
    fi
    [ "$2" = "${target}" ] || notfound
    case "$state" in
      running) sed "s/@PID@/$(cat "$STUB_DIR/pid")/" "$STUB_DIR/running.txt" ;;
      exited|leaving) cat "$STUB_DIR/exited.txt" ;;
      config) cat "$STUB_DIR/config-exited.txt" ;;
      *) notfound ;;
    esac ;;
  bootstrap)
    ${options.noGui || options.loginItemOff ? eio : ""}
    [ "$state" = leaving ] && { ${busy}; }
    [ "$state" = running ] || [ "$state" = exited ] || [ "$state" = config ] && { ${eio}; }
    flaky=$(cat "$STUB_DIR/flaky")
    [ "$flaky" -gt 0 ] && { echo $((flaky - 1)) > "$STUB_DIR/flaky"; ${eio}; }
    wd=$(plistkey WorkingDirectory "$3"); err=$(plistkey StandardErrorPath "$3")
    if [ ! -d "$wd" ] || [ ! -d "$(dirname "$err")" ]; then echo config > "$STUB_DIR/state"; exit 0; fi
    echo running > "$STUB_DIR/state" ;;
  bootout)
    [ "$state" = none ] && { echo "Boot-out failed: 3: No such process" >&2; exit 3; }
    [ "$state" = leaving ] && { echo "Boot-out failed: 36: Operation now in progress" >&2; exit 36; }
    if [ "${options.leaveAfter ?? 0}" -gt 0 ]; then
      echo ${options.leaveAfter ?? 0} > "$STUB_DIR/leave"; echo leaving > "$STUB_DIR/state"
    else echo none > "$STUB_DIR/state"; fi
    ${
      options.bootoutInProgress
        ? 'echo "Boot-out failed: 36: Operation now in progress" >&2; exit 36'
        : ""
    } ;;
  kickstart)
    [ "$state" = none ] && notfound
    echo $(($(cat "$STUB_DIR/pid") + 1)) > "$STUB_DIR/pid"
    echo running > "$STUB_DIR/state" ;;
  enable) rm -f "$STUB_DIR/disabled" ;;
  disable) echo 1 > "$STUB_DIR/disabled" ;;
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

/**
 * Writes a stand-in compiled binary and its build info, as `deno compile`
 * would after a rebuild (`compiledAt` tells the builds apart).
 */
export async function writeFakeBuild(paths: HomePaths, compiledAt: string): Promise<void> {
  await Deno.mkdir(paths.bin, { recursive: true });
  await Deno.writeTextFile(join(paths.bin, "asciinema-chunker"), "binary");
  await Deno.writeTextFile(
    join(paths.bin, "asciinema-chunker.json"),
    JSON.stringify({ flags: [], fingerprint: "f", deno_version: "2", compiled_at: compiledAt }),
  );
}
