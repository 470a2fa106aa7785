/**
 * A `zstd` stand-in first on PATH: it passes everything to the real zstd,
 * except that while switched to failing, compression fails as on a full disk.
 * Every compression call is counted.
 *
 * @module
 */
import { join } from "node:path";
import { findOnPath } from "../../lib/sys/mod.ts";

/** The stand-in. */
export interface FailingZstd {
  /** PATH with the stand-in first. */
  path: string;
  /** Makes compression fail (true) or work (false). */
  fail(on: boolean): Promise<void>;
  /** Compression calls so far. */
  calls(): Promise<number>;
}

/** Installs the stand-in under `root`. */
export async function failingZstd(root: string): Promise<FailingZstd> {
  const real = findOnPath("zstd");
  if (!real) throw new Error("zstd is not on PATH");
  const dir = join(root, "fake-zstd");
  await Deno.mkdir(dir, { recursive: true });
  const flag = join(dir, "failing");
  const count = join(dir, "calls");
  await Deno.writeTextFile(
    join(dir, "zstd"),
    `#!/bin/sh
case " $* " in *" -d "*) exec '${real}' "$@";; esac
echo call >> '${count}'
if [ -e '${flag}' ]; then
  cat > /dev/null
  echo "zstd: error 70 : Write error : cannot write block : No space left on device" >&2
  exit 70
fi
exec '${real}' "$@"
`,
    { mode: 0o755 },
  );
  return {
    path: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    async fail(on) {
      if (on) await Deno.writeTextFile(flag, "");
      else await Deno.remove(flag).catch(() => {});
    },
    async calls() {
      try {
        return (await Deno.readTextFile(count)).split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    },
  };
}
