/**
 * An `ssh` stand-in on PATH: `ssh -G HOST` prints the configuration ssh would
 * use (`hostname` from the test's alias table, else HOST itself; an alias
 * mapped to `null` fails as a broken ssh config would); any other call — a
 * real connection — fails. Every call is logged, one line of arguments each.
 *
 * @module
 */
import { join } from "node:path";
import type { TestHome } from "./env.ts";

/** What the stand-in recorded. */
export interface SshStandIn {
  /** The log file (one line of arguments per call). */
  log: string;
  /** The calls so far. */
  calls(): Promise<string[][]>;
}

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Installs the stand-in first on `t.env.PATH`. */
export async function installSshStandIn(
  t: TestHome,
  aliases: Record<string, string | null>,
): Promise<SshStandIn> {
  const bin = join(t.root, "ssh-bin");
  await Deno.mkdir(bin, { recursive: true });
  const log = join(t.root, "ssh-calls.log");
  const cases = Object.entries(aliases).map(([alias, host]) =>
    host === null
      ? `    ${quote(alias)}) echo "ssh: config line 1: Bad configuration option" >&2; exit 255 ;;`
      : `    ${quote(alias)}) host=${quote(host)} ;;`
  ).join("\n");
  await Deno.writeTextFile(
    join(bin, "ssh"),
    `#!/bin/sh
printf '%s\\n' "$*" >> ${quote(log)}
if [ "$1" = "-G" ]; then
  for last in "$@"; do :; done
  host="$last"
  case "$last" in
${cases}
  esac
  printf 'user git\\nhostname %s\\nport 22\\n' "$host"
  exit 0
fi
echo "ssh: connect to host: Connection refused" >&2
exit 255
`,
  );
  await Deno.chmod(join(bin, "ssh"), 0o755);
  t.env.PATH = `${bin}:${t.env.PATH}`;
  return {
    log,
    async calls() {
      const text = await Deno.readTextFile(log).catch(() => "");
      return text.split("\n").filter(Boolean).map((line) => line.split(" "));
    },
  };
}
