/**
 * A small CLI over lib/credentials/store.ts for tests that need the store used
 * from another process (for example inside a D-Bus session):
 *
 * `deno run -A tests/support/credential_probe.ts <op> <service>` with op
 * `get` | `set` (the value on stdin) | `delete` | `describe`; the store is
 * chosen as the daemon chooses it (`ASCIINEMA_CREDENTIAL_STORE`). Prints one
 * JSON line: `{ ok, value?, deleted?, description?, error?, errorName? }`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { openCredentialStore } from "../../lib/credentials/mod.ts";

/** Absolute path of this script. */
export const CREDENTIAL_PROBE = fileURLToPath(import.meta.url);

async function main(): Promise<number> {
  const [op, service] = Deno.args;
  try {
    const store = await openCredentialStore();
    if (op === "get") {
      console.log(JSON.stringify({ ok: true, value: await store.get(service) ?? null }));
    } else if (op === "set") {
      const value = await new Response(Deno.stdin.readable).text();
      await store.set(service, value);
      console.log(JSON.stringify({ ok: true }));
    } else if (op === "delete") {
      console.log(JSON.stringify({ ok: true, deleted: await store.delete(service) }));
    } else if (op === "describe") {
      console.log(JSON.stringify({ ok: true, description: await store.describe(service) }));
    } else {
      console.log(JSON.stringify({ ok: false, error: `unknown op ${op}` }));
      return 2;
    }
    return 0;
  } catch (error) {
    console.log(JSON.stringify({
      ok: false,
      errorName: (error as Error).name,
      error: (error as Error).message,
    }));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
