/**
 * Issue 23, point 8: no secret in an error. The real entry points, given a
 * key in the forms people paste it (and in forms that are broken), in the
 * wrong variable or the wrong place, print what is wrong naming the
 * variable or the key, never the value.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { newIdentity } from "../../lib/crypto/mod.ts";
import { run } from "../../lib/sys/mod.ts";
import { makeCast, pushRecording, withFakeRemote } from "../support/fake_branch.ts";
import { writeConfig } from "../support/daemon.ts";

const SETUP_TS = fileURLToPath(new URL("../../setup.ts", import.meta.url));

/** Fails when `output` holds any part of `secret` (any case). */
function assertNoSecret(what: string, output: string, secret: string): void {
  const body = secret.replace(/^AGE-SECRET-KEY-1/i, "");
  for (let at = 0; at + 12 <= body.length; at += 6) {
    const part = body.slice(at, at + 12).toLowerCase();
    assert.ok(!output.toLowerCase().includes(part), `${what} printed the secret:\n${output}`);
  }
}

Deno.test("ASCIINEMA_AGE_IDENTITY pasted with quotes, an export line or in lower case restores; broken forms fail naming the variable, never the key", async () => {
  await withFakeRemote(async ({ t, remote, work, cli }) => {
    const { identity, recipient } = await newIdentity();
    await pushRecording(remote, {
      id: "enc",
      data: makeCast(8),
      manifest: true,
      recipients: [recipient],
    });
    const restore = (value: string, name: string) =>
      cli(["restore", "--repo", remote, "-o", join(work, `${name}.cast`), "enc"], {
        env: { ...t.env, ASCIINEMA_AGE_IDENTITY: value },
      });
    const good = {
      quoted: `"${identity}"`,
      export: `export ASCIINEMA_AGE_IDENTITY='${identity}'`,
      lower: identity.toLowerCase(),
      spaced: `\n  ${identity}  \n`,
    };
    for (const [name, value] of Object.entries(good)) {
      const result = await restore(value, name);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      assertNoSecret(name, result.stdout + result.stderr, identity);
    }
    const broken = {
      truncated: `"${identity.slice(0, 50)}"`,
      "checksum": `export ASCIINEMA_AGE_IDENTITY=${identity.slice(0, -2)}QQ`,
      "not a key nor a file": `AGE_SECRET_KEY_1${identity.slice(16)}`,
    };
    for (const [name, value] of Object.entries(broken)) {
      const result = await restore(value, name.replaceAll(" ", "-"));
      assert.equal(result.code, 1, `${name}: ${result.stderr}`);
      assert.match(result.stderr, /ASCIINEMA_AGE_IDENTITY/, name);
      assert.equal(result.stderr.trim().split("\n").length <= 2, true, result.stderr);
      assertNoSecret(name, result.stdout + result.stderr, identity);
    }
  });
});

Deno.test("a key or token in the wrong place is not echoed: ASCIINEMA_CREDENTIAL_STORE, encryption.recipients in config.json, setup --age-recipient", async () => {
  await withFakeRemote(async ({ t, remote, cli }) => {
    const { identity } = await newIdentity();
    const token = "ghp_" + "Zq8rT2vW5yX1".repeat(3);
    const wrongStore = await cli(["run", "--once"], {
      env: { ...t.env, ASCIINEMA_CREDENTIAL_STORE: token },
    });
    assert.equal(wrongStore.code, 2, wrongStore.stderr);
    assert.match(wrongStore.stderr, /ASCIINEMA_CREDENTIAL_STORE is not a credential store name/);
    assert.ok(!wrongStore.stderr.includes(token.slice(4, 16)), wrongStore.stderr);

    await writeConfig(t.paths.home, { encryption: { recipients: [identity] } });
    const status = await cli(["status"]);
    assert.match(status.stdout, /config\.json is invalid/);
    assertNoSecret("status", status.stdout + status.stderr, identity);
    const daemon = await cli(["run", "--once"]);
    assert.notEqual(daemon.code, 0);
    assertNoSecret("run --once", daemon.stdout + daemon.stderr, identity);

    await Deno.remove(t.paths.config);
    const setup = await run(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", SETUP_TS, "--yes", "--repo", remote, "--age-recipient"]
        .concat([identity.toLowerCase(), "--no-service"]),
      env: t.env,
      clearEnv: true,
      timeoutMs: 120_000,
    });
    assert.equal(setup.code, 2, setup.stdout + setup.stderr);
    assert.match(setup.stdout + setup.stderr, /--age-recipient: an age identity \(the secret key/);
    assertNoSecret("setup", setup.stdout + setup.stderr, identity);
  });
});
