/** The daemon's permissions and program in process: notification hosts, when a compiled binary is used. */
import assert from "node:assert/strict";
import { makeTestHome } from "../../support/env.ts";
import { writeConfig } from "../../support/daemon.ts";
import {
  binaryIsCurrent,
  buildInfoPath,
  resolveProgram,
  sourceFingerprint,
} from "../../../lib/service/mod.ts";
import {
  daemonPermissionFlags,
  notifyHosts,
  permissionsForHome,
} from "../../../lib/service/mod.ts";
import { binaryPath } from "../../../lib/service/mod.ts";
import { SettingsSchema } from "../../../lib/sys/mod.ts";

Deno.test("notification hosts come from config.json; paths with commas are refused", () => {
  const settings = (notify: unknown) => SettingsSchema.parse({ notify });
  assert.deepEqual(notifyHosts(undefined), ["api.pushover.net"]);
  assert.deepEqual(
    notifyHosts(settings({
      pushover: { api_url: "http://127.0.0.1:8080/1/messages.json" },
      ntfy: { url: "https://ntfy.sh/x" },
    })),
    ["127.0.0.1", "ntfy.sh"],
  );
  assert.deepEqual(
    notifyHosts(settings({ enabled: false, ntfy: { url: "https://n.example" } })),
    [],
  );
  assert.deepEqual(notifyHosts(settings({ pushover: { enabled: false } })), []);
  const flags = daemonPermissionFlags({
    home: "/h/.asciinema",
    os: "linux",
    settings: settings({ pushover: { enabled: false } }),
  });
  assert.ok(flags.includes("--allow-net=api.github.com"), "no notify hosts: the GitHub API only");
  const mac = daemonPermissionFlags({
    home: "/h/.asciinema",
    os: "darwin",
    run: ["/usr/bin/git", "/usr/bin/security"],
  });
  assert.ok(mac.includes("--allow-read=/h/.asciinema"), "no /proc on macOS");
  assert.ok(mac.includes("--allow-run=/usr/bin/git,/usr/bin/security"));
  const none = daemonPermissionFlags({ home: "/h/.asciinema", os: "linux", run: [] });
  assert.ok(!none.some((flag) => flag.startsWith("--allow-run")), "no tool: no run at all");
  assert.throws(() => daemonPermissionFlags({ home: "/h/a,b" }), /comma/);
  assert.throws(() => daemonPermissionFlags({ home: "relative" }), /absolute/);
});

Deno.test("a compiled binary is used only while its flags, sources and deno match", async () => {
  const t = await makeTestHome();
  try {
    const { flags } = await permissionsForHome(t.paths.home);
    await Deno.mkdir(t.paths.bin, { recursive: true });
    await Deno.writeTextFile(binaryPath(t.paths), "#!/bin/sh\n", { mode: 0o755 });
    const info = {
      flags,
      fingerprint: await sourceFingerprint(),
      deno_version: Deno.version.deno,
      compiled_at: new Date().toISOString(),
    };
    await Deno.writeTextFile(buildInfoPath(t.paths), JSON.stringify(info));
    assert.equal(await binaryIsCurrent(t.paths, flags), true);
    const program = await resolveProgram(t.paths, flags, { compile: "never" });
    assert.deepEqual(program, { kind: "compiled", argv: [binaryPath(t.paths), "run"] });
    // A new notify host changes the flags: the binary is stale.
    await writeConfig(t.paths.home, { notify: { ntfy: { url: "https://other.example/t" } } });
    const changed = (await permissionsForHome(t.paths.home)).flags;
    assert.equal(await binaryIsCurrent(t.paths, changed), false);
    assert.equal((await resolveProgram(t.paths, changed, { compile: "never" })).kind, "deno-run");
    await Deno.writeTextFile(
      buildInfoPath(t.paths),
      JSON.stringify({ ...info, deno_version: "0.0.1" }),
    );
    assert.equal(await binaryIsCurrent(t.paths, flags), false);
  } finally {
    await t.cleanup();
  }
});
