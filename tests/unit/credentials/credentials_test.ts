/**
 * The credential store: the macOS backend against a stand-in `security`
 * (exact commands, the secret never in argv), the env backend, store
 * selection, and the Secret Service backend against a real gnome-keyring in
 * a private D-Bus session (store, read back, clear; locked and unreachable
 * keyrings reported as such, not as "no token").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  autoStoreKind,
  CredentialError,
  CredentialMissingError,
  CredentialUnavailableError,
  describeSecrets,
  EnvStore,
  FallbackStore,
  GITHUB_PAT,
  KeychainStore,
  NTFY_TOKEN,
  openCredentialStore,
  PUSHOVER_APP,
  PUSHOVER_USER,
  quoteSecurityArg,
  SecretServiceStore,
  StoreSettingError,
} from "../../../lib/credentials/mod.ts";
import { redact, REDACTED } from "../../../lib/sys/mod.ts";
import { installFakeSecurity, splitSecurityLine } from "../../support/fake_security.ts";
import { startKeyringSession } from "../../support/keyring.ts";
import { CREDENTIAL_PROBE } from "../../support/credential_probe.ts";
import { secretForms, startArgvSampler } from "../../support/argv_sampler.ts";
import { denoDir, ignoreWithout } from "../../support/env.ts";

const TOKEN = "ghp_KeychainToken0123456789abcdefABCDEF";

function envOf(vars: Record<string, string>) {
  return { get: (key: string) => vars[key] };
}

Deno.test("security -i quoting round-trips through security.c's line splitter", () => {
  const values = [
    "plain",
    "with space",
    'double "quotes"',
    "single 'quotes'",
    "back\\slash\\",
    "tab\tand $HOME `cmd` ; | &",
    "ünïcødé",
  ];
  for (const value of values) {
    assert.deepEqual(splitSecurityLine(`cmd -w ${quoteSecurityArg(value)} -x`), [
      "cmd",
      "-w",
      value,
      "-x",
    ]);
  }
  assert.throws(() => quoteSecurityArg("two\nlines"));
  assert.throws(() => quoteSecurityArg("nul\0"));
});

Deno.test({
  name: "keychain backend: exact security commands, secret only on stdin",
  ignore: Deno.build.os === "windows",
  async fn() {
    const fake = await installFakeSecurity();
    try {
      const store = await openCredentialStore({
        source: envOf({ ASCIINEMA_CREDENTIAL_STORE: "keychain", USER: "tester" }),
        env: { PATH: fake.path },
      });
      assert.ok(store instanceof KeychainStore);
      assert.equal(store.account, "tester");

      // Nothing stored: undefined (not an error); require names the fix.
      assert.equal(await store.get(GITHUB_PAT), undefined);
      await assert.rejects(
        () => store.require(GITHUB_PAT),
        (error: unknown) =>
          error instanceof CredentialMissingError &&
          /deno task daemon-setup/.test(error.message) && /keychain/.test(error.message),
      );

      await store.set(GITHUB_PAT, TOKEN);
      assert.equal(await store.get(GITHUB_PAT), TOKEN);
      assert.equal(redact(`token ${TOKEN}`), `token ${REDACTED}`);
      const tricky = `p@ss "quoted" \\back\\ 'single' $HOME;x`;
      await store.set(PUSHOVER_APP, tricky);
      assert.equal(await store.get(PUSHOVER_APP), tricky);
      assert.deepEqual(await store.describe(GITHUB_PAT), {
        service: GITHUB_PAT,
        store: "keychain",
        account: "tester",
        present: true,
      });
      assert.equal(await store.delete(GITHUB_PAT), true);
      assert.equal(await store.delete(GITHUB_PAT), false);
      assert.equal(await store.get(GITHUB_PAT), undefined);

      const calls = await fake.calls();
      const find = ["find-generic-password", "-s", GITHUB_PAT, "-a", "tester", "-w"];
      assert.deepEqual(calls.map((call) => call.argv), [
        find,
        find,
        ["-i"],
        find,
        ["-i"],
        ["find-generic-password", "-s", PUSHOVER_APP, "-a", "tester", "-w"],
        find,
        ["-i"],
        ["-i"],
        find,
      ]);
      assert.equal(
        calls[2].stdin,
        `add-generic-password -U -a "tester" -s "${GITHUB_PAT}" ` +
          `-l "asciinema-chunker: GitHub token (git push)" -w "${TOKEN}"\n`,
      );
      assert.equal(
        calls[4].stdin,
        `add-generic-password -U -a "tester" -s "${PUSHOVER_APP}" ` +
          `-l "asciinema-chunker: Pushover app token" ` +
          `-w "p@ss \\"quoted\\" \\\\back\\\\ 'single' $HOME;x"\n`,
      );
      assert.equal(calls[7].stdin, `delete-generic-password -s "${GITHUB_PAT}" -a "tester"\n`);
      for (const call of calls) {
        for (const arg of call.argv) {
          assert.ok(!arg.includes(TOKEN) && !arg.includes("p@ss"), `secret in argv: ${arg}`);
        }
      }
      assert.deepEqual(await fake.items(), {
        [`${PUSHOVER_APP}|tester`]: {
          password: tricky,
          label: "asciinema-chunker: Pushover app token",
        },
      });

      // A secret with a line break is refused before anything runs.
      const before = (await fake.calls()).length;
      await assert.rejects(() => store.set(GITHUB_PAT, "a\nb"), CredentialError);
      assert.equal((await fake.calls()).length, before);

      // A locked keychain is "unavailable", not "no token".
      await fake.setLocked(true);
      await assert.rejects(
        () => store.get(PUSHOVER_APP),
        (error: unknown) =>
          error instanceof CredentialUnavailableError &&
          /User interaction is not allowed/.test(error.message),
      );
      // Exit 36 over SSH: the fix (desktop login or unlock-keychain) is named.
      await assert.rejects(
        () => store.get(PUSHOVER_APP),
        (error: unknown) =>
          error instanceof CredentialUnavailableError &&
          /locked/.test(error.message) && /desktop login/.test(error.message) &&
          /security unlock-keychain/.test(error.message),
      );
      const described = await store.describe(PUSHOVER_APP);
      assert.equal(described.present, null);
      assert.match(described.error!, /locked/);
      // Exit 51 (errSecAuthFailed): access refused, not "no token" either.
      await fake.setLocked(false);
      await fake.setDenied(true);
      await assert.rejects(
        () => store.get(PUSHOVER_APP),
        (error: unknown) =>
          error instanceof CredentialUnavailableError && /refused access/.test(error.message),
      );
      await assert.rejects(() => store.set(PUSHOVER_APP, "x1"), CredentialUnavailableError);
      await fake.setDenied(false);
    } finally {
      await fake.cleanup();
    }
  },
});

Deno.test("env backend: reads ASCIINEMA_*, read-only, warns that the secret is in the environment", async () => {
  const store = new EnvStore({
    source: envOf({
      ASCIINEMA_GITHUB_PAT: ` ${TOKEN}\n`,
      ASCIINEMA_PUSHOVER_USER: "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
    }),
    account: "tester",
  });
  assert.equal(store.readOnly, true);
  assert.equal(await store.get(GITHUB_PAT), TOKEN);
  assert.equal(await store.get(PUSHOVER_APP), undefined);
  assert.equal(await store.get(NTFY_TOKEN), undefined);
  await assert.rejects(() => store.set(GITHUB_PAT, "x"), /read-only: set ASCIINEMA_GITHUB_PAT/);
  await assert.rejects(
    () => store.require(PUSHOVER_APP),
    (error: unknown) =>
      error instanceof CredentialMissingError &&
      /ASCIINEMA_PUSHOVER_APP is not set/.test(error.message),
  );
  const all = await describeSecrets(store);
  assert.deepEqual(all.map((d) => [d.service, d.store, d.present]), [
    [GITHUB_PAT, "env", true],
    [PUSHOVER_APP, "env", false],
    [PUSHOVER_USER, "env", true],
    [NTFY_TOKEN, "env", false],
  ]);
  assert.match(all[0].warning!, /environment variable ASCIINEMA_GITHUB_PAT/);
  assert.equal(all[1].warning, undefined);
  assert.ok(!JSON.stringify(all).includes(TOKEN));
});

Deno.test("store selection: ASCIINEMA_CREDENTIAL_STORE over the setting; auto per platform", async () => {
  const none = envOf({ USER: "u" });
  assert.ok((await openCredentialStore({ source: none, setting: "env" })) instanceof EnvStore);
  assert.ok(
    (await openCredentialStore({ source: none, setting: "secret-service" })) instanceof
      SecretServiceStore,
  );
  assert.ok(
    (await openCredentialStore({
      source: envOf({ USER: "u", ASCIINEMA_CREDENTIAL_STORE: "env" }),
      setting: "keychain",
    })) instanceof EnvStore,
  );
  const mac = await openCredentialStore({ source: none, os: "darwin" });
  assert.ok(mac instanceof FallbackStore && mac.primary instanceof KeychainStore);
  const linux = await openCredentialStore({ source: none, os: "linux", hasSecretTool: true });
  assert.ok(linux instanceof FallbackStore && linux.primary instanceof SecretServiceStore);
  assert.ok(
    (await openCredentialStore({ source: none, os: "linux", hasSecretTool: false })) instanceof
      EnvStore,
  );
  assert.equal(await autoStoreKind({ os: "freebsd" }), "env");
  await assert.rejects(
    () => openCredentialStore({ source: envOf({ ASCIINEMA_CREDENTIAL_STORE: "vault" }) }),
    /ASCIINEMA_CREDENTIAL_STORE is not a credential store name \("vault"\); allowed: auto, keychain, secret-service, env/,
  );
  // A token pasted into the wrong variable is not printed.
  const token = "ghp_" + "x1y2".repeat(9);
  await assert.rejects(
    () => openCredentialStore({ source: envOf({ ASCIINEMA_CREDENTIAL_STORE: token }) }),
    (error: Error) => {
      assert.ok(error instanceof StoreSettingError);
      assert.match(error.message, /^ASCIINEMA_CREDENTIAL_STORE is not a credential store name;/);
      assert.ok(!error.message.includes(token.slice(4, 20)), error.message);
      return true;
    },
  );
});

Deno.test({
  name: "auto falls back to the environment variable when the keyring has nothing or is locked",
  async fn() {
    const fake = await installFakeSecurity();
    try {
      const store = await openCredentialStore({
        source: envOf({ USER: "tester", ASCIINEMA_GITHUB_PAT: TOKEN }),
        os: "darwin",
        env: { PATH: fake.path },
      });
      assert.equal(await store.get(GITHUB_PAT), TOKEN);
      const description = await store.describe(GITHUB_PAT);
      assert.equal(description.store, "env");
      assert.equal(description.present, true);
      assert.match(description.warning!, /ASCIINEMA_GITHUB_PAT/);
      await fake.setLocked(true);
      assert.equal(await store.get(GITHUB_PAT), TOKEN);
      // Without the variable, the locked keychain is reported, not "no token".
      await assert.rejects(() => store.get(PUSHOVER_APP), CredentialUnavailableError);
      await fake.setLocked(false);
      await store.set(GITHUB_PAT, "ghp_fromKeychain0123456789abcdefABCD");
      assert.equal(await store.get(GITHUB_PAT), "ghp_fromKeychain0123456789abcdefABCD");
      assert.equal((await store.describe(GITHUB_PAT)).store, "keychain");
    } finally {
      await fake.cleanup();
    }
  },
});

interface ProbeResult {
  ok: boolean;
  value?: string | null;
  deleted?: boolean;
  description?: { store: string; present: boolean | null; error?: string };
  error?: string;
  errorName?: string;
}

async function probe(
  env: Record<string, string>,
  op: string,
  service: string,
  stdin?: string,
): Promise<ProbeResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CREDENTIAL_PROBE, op, service],
    env,
    clearEnv: true,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(text, `probe printed nothing: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text);
}

Deno.test({
  name: "secret-service backend: a real gnome-keyring stores, reads back and clears",
  ignore: ignoreWithout(["dbus-run-session", "gnome-keyring-daemon", "secret-tool"]),
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "keyring-test-" });
    const base = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: join(root, "home"),
      USER: "tester",
      DENO_DIR: denoDir(),
      NO_COLOR: "1",
      ASCIINEMA_CREDENTIAL_STORE: "secret-service",
    };
    let session = await startKeyringSession({ root });
    try {
      const env = { ...base, ...session.env };
      const sampler = startArgvSampler({
        needles: secretForms(TOKEN),
        watch: [/secret-tool (store|lookup)/],
      });
      let absent: ProbeResult, stored: ProbeResult, read: ProbeResult;
      try {
        absent = await probe(env, "get", GITHUB_PAT);
        stored = await probe(env, "set", GITHUB_PAT, TOKEN);
        read = await probe(env, "get", GITHUB_PAT);
      } finally {
        const report = await sampler.stop();
        assert.deepEqual(report.hits, []);
        assert.ok(report.sweeps > 3, `only ${report.sweeps} sweeps`);
      }
      assert.deepEqual(absent, { ok: true, value: null });
      assert.deepEqual(stored, { ok: true });
      assert.deepEqual(read, { ok: true, value: TOKEN });
      const description = await probe(env, "describe", GITHUB_PAT);
      assert.equal(description.description?.store, "secret-service");
      assert.equal(description.description?.present, true);
      assert.ok(!JSON.stringify(description).includes(TOKEN));

      // The same keyring from this process, through the backend directly.
      const direct = new SecretServiceStore({ account: "tester", env: session.env });
      assert.equal(await direct.get(GITHUB_PAT), TOKEN);
      await direct.set(GITHUB_PAT, "ghp_Replaced0123456789abcdefABCDEF0000");
      assert.equal(
        (await probe(env, "get", GITHUB_PAT)).value,
        "ghp_Replaced0123456789abcdefABCDEF0000",
      );

      // Locked: restart the session without unlocking the login keyring.
      await session.stop();
      session = await startKeyringSession({ root, unlock: false });
      const lockedEnv = { ...base, ...session.env };
      const locked = await probe(lockedEnv, "get", GITHUB_PAT);
      assert.equal(locked.ok, false);
      assert.equal(locked.errorName, "CredentialUnavailableError");
      assert.match(locked.error!, /locked/);
      // An item that does not exist in the locked keyring is simply absent.
      assert.deepEqual(await probe(lockedEnv, "get", NTFY_TOKEN), { ok: true, value: null });
      const lockedStore = await probe(lockedEnv, "set", PUSHOVER_USER, "uabc");
      assert.equal(lockedStore.errorName, "CredentialUnavailableError");

      // Unlocked again: clear.
      await session.stop();
      session = await startKeyringSession({ root });
      const env2 = { ...base, ...session.env };
      assert.deepEqual(await probe(env2, "delete", GITHUB_PAT), { ok: true, deleted: true });
      assert.deepEqual(await probe(env2, "get", GITHUB_PAT), { ok: true, value: null });
      assert.deepEqual(await probe(env2, "delete", GITHUB_PAT), { ok: true, deleted: false });
    } finally {
      await session.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "secret-service backend: no D-Bus session is 'unavailable' with the fix, not 'no token'",
  ignore: ignoreWithout(["secret-tool"]),
  async fn() {
    const envs: Record<string, string>[] = [
      { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus" },
      { DBUS_SESSION_BUS_ADDRESS: "", DISPLAY: "" },
    ];
    for (const env of envs) {
      const store = new SecretServiceStore({ account: "tester", env, timeoutMs: 10_000 });
      await assert.rejects(
        () => store.get(GITHUB_PAT),
        (error: unknown) =>
          error instanceof CredentialUnavailableError &&
          /Secret Service keyring is unavailable/.test(error.message) &&
          /deno task daemon-setup/.test(error.message),
      );
      const description = await store.describe(GITHUB_PAT);
      assert.equal(description.present, null);
      await assert.rejects(() => store.set(GITHUB_PAT, TOKEN), CredentialUnavailableError);
    }
  },
});

Deno.test("secret-service backend: a missing secret-tool is reported as such", async () => {
  const store = new SecretServiceStore({ account: "t", tool: "/nonexistent/secret-tool" });
  await assert.rejects(
    () => store.get(GITHUB_PAT),
    (error: unknown) =>
      error instanceof CredentialUnavailableError && /not installed/.test(error.message),
  );
});
