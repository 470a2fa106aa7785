/**
 * A stand-in for macOS `/usr/bin/security`, for testing the keychain backend
 * anywhere. {@linkcode installFakeSecurity} writes an executable `security`
 * into a temp folder (put it first on PATH); every call appends its argv and
 * stdin to a JSON-lines log and acts on a JSON "keychain" file:
 *
 * - `find-generic-password -s S -a A -w`: prints the password, or exits 44
 *   ("could not be found"); exits 36 ("User interaction is not allowed")
 *   when the keychain is marked locked (no GUI login, e.g. over SSH), 51
 *   ("The user name or passphrase you entered is not correct") when access
 *   is marked denied.
 * - `-i`: reads commands from stdin, split like security.c's `split_line`
 *   (double or single quotes, backslash escapes), and runs
 *   `add-generic-password [-U] -a A -s S [-l L] -w W` and
 *   `delete-generic-password -s S -a A`.
 *
 * Run as a script, this module is the stand-in itself.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One recorded call. */
export interface SecurityCall {
  /** Arguments after `security`. */
  argv: string[];
  /** Everything written to stdin. */
  stdin: string;
}

/** The stand-in's keychain file. */
interface KeychainFile {
  locked?: boolean;
  denied?: boolean;
  items: Record<string, { password: string; label?: string }>;
}

/** An installed stand-in. */
export interface FakeSecurity {
  /** The folder holding the `security` executable (prepend to PATH). */
  binDir: string;
  /** PATH with the stand-in first. */
  path: string;
  /** Every call so far, in order. */
  calls(): Promise<SecurityCall[]>;
  /** The stored items (`service|account` -> password and label). */
  items(): Promise<KeychainFile["items"]>;
  /** Marks the keychain locked (reads fail with "User interaction is not allowed"). */
  setLocked(locked: boolean): Promise<void>;
  /** Marks access denied (reads and writes fail with errSecAuthFailed, exit 51). */
  setDenied(denied: boolean): Promise<void>;
  /** Removes the folder. */
  cleanup(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

/** Writes the stand-in into a new temp folder. */
export async function installFakeSecurity(): Promise<FakeSecurity> {
  const dir = await Deno.makeTempDir({ prefix: "fake-security-" });
  const binDir = join(dir, "bin");
  await Deno.mkdir(binDir);
  const state = join(dir, "keychain.json");
  const log = join(dir, "calls.jsonl");
  await Deno.writeTextFile(state, JSON.stringify({ items: {} }));
  await Deno.writeTextFile(log, "");
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = [
    "#!/bin/sh",
    `FAKE_SECURITY_STATE=${quote(state)} FAKE_SECURITY_LOG=${quote(log)} \\`,
    `  exec ${quote(Deno.execPath())} run --quiet --no-config --no-lock -A ${quote(SELF)} "$@"`,
    "",
  ].join("\n");
  const exe = join(binDir, "security");
  await Deno.writeTextFile(exe, script);
  await Deno.chmod(exe, 0o755);
  const readState = async () => JSON.parse(await Deno.readTextFile(state)) as KeychainFile;
  return {
    binDir,
    path: `${binDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    async calls() {
      const text = await Deno.readTextFile(log);
      return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    },
    async items() {
      return (await readState()).items;
    },
    async setLocked(locked) {
      const current = await readState();
      current.locked = locked;
      await Deno.writeTextFile(state, JSON.stringify(current));
    },
    async setDenied(denied) {
      const current = await readState();
      current.denied = denied;
      await Deno.writeTextFile(state, JSON.stringify(current));
    },
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

/** security.c `split_line`: the reference parser the backend's quoting must satisfy. */
export function splitSecurityLine(line: string): string[] {
  const args: string[] = [];
  let state: "ws" | "arg" | "argEsc" | "quoted" | "quotedEsc" = "ws";
  let quote = "";
  let current = "";
  for (const ch of line) {
    if (state === "ws") {
      if (/\s/.test(ch)) continue;
      if (ch === '"' || ch === "'") {
        quote = ch;
        state = "quoted";
        current = "";
        continue;
      }
      state = "arg";
      current = "";
    }
    if (state === "arg") {
      if (ch === "\\") {
        state = "argEsc";
        continue;
      }
      if (/\s/.test(ch)) {
        args.push(current);
        state = "ws";
        continue;
      }
      current += ch;
      continue;
    }
    if (state === "quoted") {
      if (ch === "\\") {
        state = "quotedEsc";
        continue;
      }
      if (ch === quote) {
        args.push(current);
        state = "ws";
        continue;
      }
      current += ch;
      continue;
    }
    if (state === "argEsc") {
      current += ch;
      state = "arg";
      continue;
    }
    if (state === "quotedEsc") {
      current += ch;
      state = "quoted";
    }
  }
  if (state !== "ws") args.push(current);
  return args;
}

function options(argv: string[], flags: string): { opts: Record<string, string>; rest: string[] } {
  const opts: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("-") && arg.length === 2) {
      const flag = arg[1];
      const takes = flags.indexOf(`${flag}:`) >= 0;
      if (takes) opts[flag] = argv[++i] ?? "";
      else opts[flag] = "1";
    } else rest.push(arg);
  }
  return { opts, rest };
}

async function main(): Promise<number> {
  const statePath = Deno.env.get("FAKE_SECURITY_STATE")!;
  const logPath = Deno.env.get("FAKE_SECURITY_LOG")!;
  const argv = [...Deno.args];
  const stdin = argv[0] === "-i" ? await new Response(Deno.stdin.readable).text() : "";
  await Deno.writeTextFile(logPath, JSON.stringify({ argv, stdin }) + "\n", { append: true });
  const state = JSON.parse(await Deno.readTextFile(statePath)) as KeychainFile;
  const save = () => Deno.writeTextFile(statePath, JSON.stringify(state));
  const err = (text: string) => console.error(`security: ${text}`);

  const execute = async (args: string[]): Promise<number> => {
    const [command, ...rest] = args;
    if (state.denied && /-generic-password$/.test(command ?? "")) {
      err(
        `${
          command === "add-generic-password"
            ? "SecKeychainItemCreateFromContent"
            : "SecKeychainSearchCopyNext"
        }: The user name or passphrase you entered is not correct.`,
      );
      return 51;
    }
    if (command === "find-generic-password") {
      const { opts } = options(rest, "s:a:l:");
      if (state.locked) {
        err("SecKeychainSearchCopyNext: User interaction is not allowed.");
        return 36;
      }
      const item = state.items[`${opts.s}|${opts.a}`];
      if (!item) {
        err("SecKeychainSearchCopyNext: The specified item could not be found in the keychain.");
        return 44;
      }
      if (opts.w) console.log(item.password);
      return 0;
    }
    if (command === "add-generic-password") {
      const { opts } = options(rest, "a:s:l:w:");
      if (state.locked) {
        err("SecKeychainItemCreateFromContent: User interaction is not allowed.");
        return 36;
      }
      const key = `${opts.s}|${opts.a}`;
      if (state.items[key] && !opts.U) {
        err("SecKeychainItemCreateFromContent: The specified item already exists in the keychain.");
        return 45;
      }
      state.items[key] = { password: opts.w, label: opts.l };
      await save();
      return 0;
    }
    if (command === "delete-generic-password") {
      const { opts } = options(rest, "a:s:l:");
      const key = `${opts.s}|${opts.a}`;
      if (!state.items[key]) {
        err("SecKeychainSearchCopyNext: The specified item could not be found in the keychain.");
        return 44;
      }
      delete state.items[key];
      await save();
      return 0;
    }
    err(`unknown command "${command}"`);
    return 1;
  };

  if (argv[0] === "-i") {
    let result = 0;
    for (const line of stdin.split("\n")) {
      if (line.length > 4095) return 1;
      const args = splitSecurityLine(line);
      if (args.length === 0) continue;
      result = await execute(args);
      if (result) console.error(`${args[0]}: returned ${result}`);
    }
    return result & 0xff;
  }
  return (await execute(argv)) & 0xff;
}

if (import.meta.main) Deno.exit(await main());
