/** Settings: defaults, overrides, and errors that name key, value and range. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  loadSettings,
  parseSettings,
  readConfigFile,
  SettingsError,
} from "../../../lib/sys/mod.ts";
import { makeTestHome } from "../../support/env.ts";
import { runOnce, writeConfig } from "../../support/daemon.ts";

const env = (values: Record<string, string>) => ({ get: (key: string) => values[key] });

Deno.test("defaults apply when config.json is absent; unknown keys are kept", async () => {
  const t = await makeTestHome();
  const settings = await loadSettings(join(t.paths.home, "config.json"), { env: env({}) });
  assert.equal(settings.branch, "asciinema-recordings");
  assert.equal(settings.idle_threshold, 30);
  assert.equal(settings.zstd_level, 3);
  assert.equal(settings.max_chunk_bytes, 8 * 1024 * 1024);
  assert.equal(settings.max_chunk_seconds, 20);
  assert.equal(settings.retry_max_seconds, 300);
  assert.equal((parseSettings({ future_key: 1 }) as Record<string, unknown>).future_key, 1);
  await t.cleanup();
});

Deno.test("IDLE_THRESHOLD and ZSTD_LEVEL override config.json", async () => {
  const t = await makeTestHome();
  await writeConfig(t.paths.home, { idle_threshold: 10, zstd_level: 5 });
  const settings = await loadSettings(t.paths.config, {
    env: env({ IDLE_THRESHOLD: "2.5", ZSTD_LEVEL: "7" }),
  });
  assert.equal(settings.idle_threshold, 2.5);
  assert.equal(settings.zstd_level, 7);
  await t.cleanup();
});

Deno.test("invalid values name the key, the value and the allowed range", async () => {
  const t = await makeTestHome();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ idle_threshold: 0 }, /idle_threshold is 0; allowed: a number of seconds from 0\.1/],
    [{ zstd_level: 22 }, /zstd_level is 22; allowed: a whole number from 1 to 19/],
    [{ zstd_level: "3" }, /zstd_level is "3"/],
    [{ max_chunk_bytes: -1 }, /max_chunk_bytes is -1/],
    [{ max_chunk_seconds: 0 }, /max_chunk_seconds is 0/],
  ];
  for (const [config, pattern] of cases) {
    await writeConfig(t.paths.home, config);
    await assert.rejects(
      () => loadSettings(t.paths.config, { env: env({}) }),
      (error: Error) => error instanceof SettingsError && pattern.test(error.message),
    );
  }
  await writeConfig(t.paths.home, {});
  await assert.rejects(
    () => loadSettings(t.paths.config, { env: env({ ZSTD_LEVEL: "fast" }) }),
    /ZSTD_LEVEL is "fast"/,
  );
  await Deno.writeTextFile(t.paths.config, "{oops");
  await assert.rejects(() => loadSettings(t.paths.config, { env: env({}) }), /not valid JSON/);
  await t.cleanup();
});

Deno.test("readConfigFile: lenient and typed, every key kept, each bad key named", async () => {
  const t = await makeTestHome();
  try {
    const absent = await readConfigFile(t.paths.config);
    assert.deepEqual(absent.raw, {});
    assert.deepEqual(absent.problems, []);
    assert.equal(absent.error, undefined);
    assert.equal(absent.settings.zstd_level, 3);

    await writeConfig(t.paths.home, {
      zstd_level: 22,
      branch: "backups",
      credential_store: "vault",
      future_key: { a: 1 },
    });
    const bad = await readConfigFile(t.paths.config);
    assert.equal(bad.path, t.paths.config);
    assert.deepEqual(bad.raw.future_key, { a: 1 }, "unknown keys are kept");
    assert.equal(bad.raw.zstd_level, 22, "raw is the file as written");
    assert.equal(bad.settings.branch, "backups", "valid keys are typed");
    assert.equal(bad.settings.zstd_level, 3, "a bad key counts as absent");
    assert.equal(bad.settings.credential_store, "auto");
    assert.deepEqual((bad.settings as Record<string, unknown>).future_key, { a: 1 });
    assert.equal(bad.problems.length, 2);
    assert.match(bad.problems.join("\n"), /zstd_level is 22; allowed: a whole number from 1 to 19/);
    assert.match(bad.problems.join("\n"), /credential_store is "vault"/);
    assert.equal(bad.error, undefined);

    await Deno.writeTextFile(t.paths.config, "[1]");
    const list = await readConfigFile(t.paths.config);
    assert.deepEqual(list.raw, {});
    assert.match(list.problems[0], /must be a JSON object, got \[1\]/);

    await Deno.writeTextFile(t.paths.config, "{oops");
    const broken = await readConfigFile(t.paths.config);
    assert.ok(broken.error instanceof SyntaxError);
    assert.deepEqual(broken.raw, {});
    assert.equal(broken.settings.branch, "asciinema-recordings");
  } finally {
    await t.cleanup();
  }
});

Deno.test("the daemon refuses to start on invalid settings and says why", async () => {
  const t = await makeTestHome();
  await writeConfig(t.paths.home, { zstd_level: 42 });
  const result = await runOnce(t.env);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /zstd_level is 42; allowed: a whole number from 1 to 19/);
  await t.cleanup();
});
