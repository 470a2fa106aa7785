/**
 * `daemon.ts status`: healthy, degraded (remote failing, behind), killed
 * with SIGKILL, stale heartbeat, never started, the service-manager hook,
 * colour, and the `--json` schema.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { Health } from "../../../lib/status/mod.ts";
import { writeHealth } from "../../../lib/status/mod.ts";
import { collectStatus, type SecretsHook } from "../../../lib/status/mod.ts";
import { SECRETS } from "../../../lib/credentials/mod.ts";
import { renderStatus } from "../../../lib/status/mod.ts";
import { ensureHome } from "../../../lib/sys/mod.ts";
import { makeTestHome as makeBareHome, type TestHome } from "../../support/env.ts";

/** A test home with the layout created (the daemon would have made it). */
async function makeTestHome(): Promise<TestHome> {
  const home = await makeBareHome();
  await ensureHome(home.paths);
  return home;
}

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

function healthDoc(overrides: Partial<Health> = {}): Health {
  const now = new Date().toISOString();
  return {
    status: "ok",
    message: "2 recording(s), all backed up as they go",
    last_update: now,
    last_push: new Date(Date.now() - 60_000).toISOString(),
    chunks_pushed: 42,
    pid: Deno.pid,
    idle_threshold: 30,
    zstd_level: 3,
    heartbeat: now,
    heartbeat_interval_seconds: 15,
    started_at: new Date(Date.now() - 3_600_000).toISOString(),
    recordings: {
      "20250301-rec-a1b2": {
        chunk_id: "20250301-rec-a1b2",
        size: 200_000,
        cut_offset: 150_000,
        pushed_offset: 100_000,
        spool_chunks: 2,
        spool_bytes: 9_000,
        oldest_pending_at: new Date(Date.now() - 40_000).toISOString(),
        state: "recording",
        remote: "https://github.com/o/r.git",
        branch: "asciinema-recordings",
        last_error: null,
      },
      "20250228-old-c3d4": {
        chunk_id: "20250228-old-c3d4",
        size: 5_000,
        cut_offset: 5_000,
        pushed_offset: 4_000,
        spool_chunks: 1,
        spool_bytes: 300,
        oldest_pending_at: new Date(Date.now() - 5_000).toISOString(),
        state: "ended",
        remote: "https://github.com/o/r.git",
        branch: "asciinema-recordings",
        last_error: null,
      },
    },
    remotes: {
      "github.com-o-r-asciinema-recordings": {
        url: "https://github.com/o/r.git",
        branch: "asciinema-recordings",
        last_push: new Date(Date.now() - 60_000).toISOString(),
        last_error: null,
        error_kind: null,
        failing_since: null,
        next_retry_at: null,
        queued_chunks: 3,
      },
    },
    last_error: null,
    ...overrides,
  };
}

const storedSecrets: SecretsHook = () =>
  Promise.resolve([
    { service: "asciinema-github-pat", present: true, store: "secret-service" },
    { service: "asciinema-pushover-app", present: true, store: "env" },
    { service: "asciinema-pushover-user", present: true, store: "env" },
    { service: "asciinema-ntfy-token", present: false, store: null },
  ]);

async function withLog(home: TestHome): Promise<void> {
  await Deno.mkdir(home.paths.logs, { recursive: true });
  let text = "";
  for (let i = 1; i <= 8; i++) {
    text += JSON.stringify({
      "@timestamp": new Date().toISOString(),
      level: "INFO",
      message: `log line ${i}`,
      logger: "chunker.daemon",
      properties: {},
    }) + "\n";
  }
  await Deno.writeTextFile(home.paths.logFile, text);
}

/** Runs the real CLI; returns exit code and stdout. */
async function cli(home: TestHome, args: string[]): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "daemon.ts", "status", ...args],
    cwd: ROOT,
    env: home.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (output.code !== 0 && output.code !== 1 && output.code !== 2) {
    throw new Error(`status crashed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { code: output.code, stdout };
}

/** The documented `status --json` schema (README, "Status JSON"). */
const Iso = z.iso.datetime();
const RecordingSchema = z.strictObject({
  id: z.string(),
  chunk_id: z.string(),
  state: z.enum(["recording", "ended", "held", "error"]),
  size: z.number().int().nonnegative(),
  cut_offset: z.number().int().nonnegative(),
  bytes_pushed: z.number().int().nonnegative(),
  bytes_pending: z.number().int().nonnegative(),
  spool_chunks: z.number().int().nonnegative(),
  spool_bytes: z.number().int().nonnegative(),
  oldest_pending_at: Iso.nullable(),
  oldest_pending_age_seconds: z.number().nonnegative().nullable(),
  remote: z.string(),
  branch: z.string(),
  last_error: z.string().nullable(),
});
const StatusJson = z.strictObject({
  schema: z.literal(1),
  generated_at: Iso,
  verdict: z.enum(["healthy", "degraded", "not_running"]),
  exit_code: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  problems: z.array(z.string()),
  next_steps: z.array(z.string()),
  service: z.strictObject({
    manager: z.string(),
    installed: z.boolean(),
    running: z.boolean(),
    source: z.enum(["manager", "health"]),
    pid: z.number().int().nullable(),
    pid_alive: z.boolean().nullable(),
    detail: z.string().nullable(),
  }),
  daemon: z.strictObject({
    health_found: z.boolean(),
    status: z.enum(["starting", "ok", "degraded", "error", "stopped"]).nullable(),
    message: z.string().nullable(),
    heartbeat: Iso.nullable(),
    heartbeat_age_seconds: z.number().nonnegative().nullable(),
    heartbeat_stale: z.boolean(),
    heartbeat_interval_seconds: z.number().positive(),
    started_at: Iso.nullable(),
    last_push: Iso.nullable(),
    chunks_pushed: z.number().int().nonnegative(),
    last_error: z.string().nullable(),
  }),
  config_error: z.string().nullable(),
  recordings: z.array(RecordingSchema),
  finished_waiting: z.array(RecordingSchema),
  remotes: z.array(z.strictObject({
    key: z.string(),
    url: z.string(),
    branch: z.string(),
    last_push: Iso.nullable(),
    last_error: z.string().nullable(),
    error_kind: z.string().nullable(),
    failing_since: Iso.nullable(),
    failing_seconds: z.number().nonnegative().nullable(),
    next_retry_at: Iso.nullable(),
    queued_chunks: z.number().int().nonnegative(),
  })),
  secrets: z.array(z.strictObject({
    service: z.string(),
    purpose: z.string(),
    present: z.boolean().nullable(),
    store: z.string().nullable(),
    error: z.string().optional(),
    warning: z.string().nullable(),
  })),
  notifiers: z.array(z.strictObject({
    name: z.string(),
    configured: z.boolean().nullable(),
    detail: z.string(),
  })),
  log_tail: z.array(z.string()).max(5),
});

Deno.test("healthy: running, recordings, secrets and notifiers shown; exit 0", async () => {
  const home = await makeTestHome();
  try {
    await writeHealth(home.paths.health, healthDoc());
    await withLog(home);
    const report = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.deepEqual(report.problems, []);
    assert.equal(report.verdict, "healthy");
    assert.equal(report.exit_code, 0);
    assert.equal(report.service.running, true);
    assert.equal(report.service.source, "health");
    assert.equal(report.service.pid_alive, true);
    assert.equal(report.daemon.chunks_pushed, 42);
    assert.equal(report.recordings.length, 1);
    const rec = report.recordings[0];
    assert.equal(rec.id, "20250301-rec-a1b2");
    assert.equal(rec.size, 200_000);
    assert.equal(rec.bytes_pushed, 100_000);
    assert.equal(rec.bytes_pending, 100_000);
    assert.equal(rec.spool_chunks, 2);
    assert.ok(rec.oldest_pending_age_seconds! >= 40);
    assert.deepEqual(report.finished_waiting.map((item) => item.id), ["20250228-old-c3d4"]);
    const pat = report.secrets.find((item) => item.service === "asciinema-github-pat")!;
    assert.equal(pat.store, "secret-service");
    assert.equal(pat.warning, null);
    const app = report.secrets.find((item) => item.service === "asciinema-pushover-app")!;
    assert.equal(app.store, "env");
    assert.match(app.warning ?? "", /environment/);
    assert.equal(report.notifiers.find((item) => item.name === "pushover")?.configured, true);
    assert.equal(report.notifiers.find((item) => item.name === "ntfy")?.configured, false);
    assert.equal(report.log_tail.length, 5);
    assert.match(report.log_tail[4], /INFO {2}daemon: log line 8$/);
    StatusJson.parse(JSON.parse(JSON.stringify(report)));

    const text = renderStatus(report, { color: false });
    assert.match(text, /^asciinema-chunker: healthy/);
    assert.match(text, /20250301-rec-a1b2 {2}recording: 195 KiB, pushed 98 KiB, spool 2 chunk/);
    assert.match(text, /Finished, waiting/);
    assert.match(text, /asciinema-pushover-app +stored \(env\)/);
    assert.match(text, /warning: kept in an environment variable/);
    assert.match(text, /log line 8/);
    assert.ok(!text.includes("\x1b["), "no colour unless asked");
    assert.ok(renderStatus(report, { color: true }).includes("\x1b[32m"));
  } finally {
    await home.cleanup();
  }
});

Deno.test("degraded: a remote failing for 10 minutes, or data waiting too long; exit 1", async () => {
  const home = await makeTestHome();
  try {
    const failingSince = new Date(Date.now() - 600_000).toISOString();
    const health = healthDoc({ status: "degraded", message: "pushing fails (network): offline" });
    health.remotes["github.com-o-r-asciinema-recordings"] = {
      ...health.remotes["github.com-o-r-asciinema-recordings"],
      last_error: "Could not resolve host: github.com",
      error_kind: "network",
      failing_since: failingSince,
      next_retry_at: new Date(Date.now() + 120_000).toISOString(),
      queued_chunks: 7,
    };
    await writeHealth(home.paths.health, health);
    const report = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.equal(report.verdict, "degraded");
    assert.equal(report.exit_code, 1);
    assert.match(report.problems.join("\n"), /failing for 10 min \(network\).*7 chunk/);
    assert.ok(report.remotes[0].failing_seconds! >= 600);
    assert.match(
      renderStatus(report),
      /failing for 10 min \(network\); last push .*; 7 queued; next try .*\(in 2 min\)/,
    );

    // The token rejected: the fix is named.
    health.remotes["github.com-o-r-asciinema-recordings"].error_kind = "auth";
    await writeHealth(home.paths.health, health);
    const auth = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.equal(auth.exit_code, 1);
    assert.ok(auth.next_steps.some((step) => step.includes("deno task daemon-setup")));

    // Behind: healthy remotes, but the oldest pending data is an hour old.
    const behind = healthDoc();
    behind.recordings["20250301-rec-a1b2"].oldest_pending_at = new Date(Date.now() - 3_600_000)
      .toISOString();
    await writeHealth(home.paths.health, behind);
    const late = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.equal(late.exit_code, 1);
    assert.match(late.problems.join("\n"), /20250301-rec-a1b2 is behind/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("killed with SIGKILL: dead pid with a fresh heartbeat means not running; exit 2", async () => {
  const home = await makeTestHome();
  try {
    await Deno.mkdir(home.paths.home, { recursive: true });
    // A stand-in daemon: writes health.json with its pid and a heartbeat, then waits.
    const code = `
      const now = new Date().toISOString();
      const health = ${JSON.stringify(healthDoc())};
      Object.assign(health, { pid: Deno.pid, heartbeat: now, last_update: now, status: "ok" });
      await Deno.writeTextFile(Deno.env.get("HEALTH_PATH"), JSON.stringify(health));
      console.log("ready");
      setInterval(() => {}, 1000);
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { HEALTH_PATH: home.paths.health },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    assert.match(seen, /ready/);
    const alive = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.equal(alive.service.pid, child.pid);
    assert.equal(alive.service.running, true, "running while the process lives");

    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();

    const result = await cli(home, ["--json"]);
    assert.equal(result.code, 2);
    const report = StatusJson.parse(JSON.parse(result.stdout));
    assert.equal(report.verdict, "not_running");
    assert.equal(report.daemon.status, "ok", "health.json still says ok");
    assert.equal(report.daemon.heartbeat_stale, false);
    assert.equal(report.service.pid, child.pid);
    assert.equal(report.service.pid_alive, false);
    assert.match(report.problems.join("\n"), /gone without a clean stop/);

    const text = await cli(home, []);
    assert.equal(text.code, 2);
    assert.match(text.stdout, /NOT RUNNING/);
    assert.ok(!text.stdout.includes("\x1b["), "no colour when stdout is not a terminal");
  } finally {
    await home.cleanup();
  }
});

Deno.test("a stale heartbeat means not running even when the pid lives; stopped too", async () => {
  const home = await makeTestHome();
  try {
    const old = new Date(Date.now() - 50_000).toISOString(); // > 3 x 15 s
    await writeHealth(home.paths.health, healthDoc({ heartbeat: old, last_update: old }));
    let report = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.equal(report.service.pid_alive, true);
    assert.equal(report.verdict, "not_running");
    assert.equal(report.exit_code, 2);
    assert.match(report.problems.join("\n"), /no heartbeat for 50 s/);

    await writeHealth(home.paths.health, healthDoc({ status: "stopped" }));
    report = await collectStatus({ paths: home.paths, secrets: storedSecrets });
    assert.equal(report.exit_code, 2);
    assert.match(report.problems.join("\n"), /was stopped/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("never started: exit 2 with the setup command, text and --json", async () => {
  const home = await makeBareHome();
  try {
    const json = await cli(home, ["--json"]);
    assert.equal(json.code, 2);
    const report = StatusJson.parse(JSON.parse(json.stdout));
    assert.equal(report.verdict, "not_running");
    assert.equal(report.daemon.health_found, false);
    assert.equal(report.service.installed, false);
    assert.match(report.problems[0], /never run/);
    assert.match(report.next_steps[0], /deno task daemon-setup/);
    // The test env stores secrets in the environment: shown as env, never the value.
    const env = { ...home.env, ASCIINEMA_PUSHOVER_APP: "app-secret-value-123" };
    const withSecret = await cli({ ...home, env }, ["--json"]);
    assert.ok(!withSecret.stdout.includes("app-secret-value-123"));
    const app = JSON.parse(withSecret.stdout).secrets.find((item: { service: string }) =>
      item.service === "asciinema-pushover-app"
    );
    assert.equal(app.store, "env");

    const text = await cli(home, []);
    assert.equal(text.code, 2);
    assert.match(text.stdout, /NOT RUNNING/);
    assert.match(text.stdout, /never run here/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("the service manager decides when one is installed", async () => {
  const home = await makeTestHome();
  try {
    // Installed, not running: exit 2 whatever health.json says.
    await writeHealth(home.paths.health, healthDoc());
    let report = await collectStatus({
      paths: home.paths,
      secrets: storedSecrets,
      serviceState: () => Promise.resolve({ installed: true, running: false, manager: "systemd" }),
    });
    assert.equal(report.exit_code, 2);
    assert.match(report.problems.join("\n"), /systemd service is installed but not running/);

    // Installed and running, heartbeat fresh: healthy.
    report = await collectStatus({
      paths: home.paths,
      secrets: storedSecrets,
      serviceState: () =>
        Promise.resolve({ installed: true, running: true, pid: Deno.pid, manager: "launchd" }),
    });
    assert.equal(report.exit_code, 0);
    assert.equal(report.service.source, "manager");

    // Running per the manager but no heartbeat for minutes: degraded.
    const old = new Date(Date.now() - 600_000).toISOString();
    await writeHealth(home.paths.health, healthDoc({ heartbeat: old }));
    report = await collectStatus({
      paths: home.paths,
      secrets: storedSecrets,
      serviceState: () => Promise.resolve({ installed: true, running: true, manager: "systemd" }),
    });
    assert.equal(report.exit_code, 1);
    assert.match(report.problems.join("\n"), /heartbeat is 10 min old/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("no keyring: status explains the unavailable store once, then lists the secrets it could not check", async () => {
  const home = await makeTestHome();
  try {
    // A configuration that needs every secret: a GitHub remote, Pushover set up, an ntfy topic.
    await Deno.writeTextFile(
      home.paths.config,
      JSON.stringify({
        repo_url: "https://github.com/o/r.git",
        notify: { pushover: { enabled: true }, ntfy: { url: "https://ntfy.sh/topic" } },
      }),
    );
    const env = {
      ...home.env,
      ASCIINEMA_CREDENTIAL_STORE: "secret-service",
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home.root, "no-bus")}`,
      ASCIINEMA_GITHUB_PAT: "",
    };
    const text = await cli({ ...home, env }, []);
    const section = text.stdout.slice(
      text.stdout.indexOf("Secrets:"),
      text.stdout.indexOf("Notifiers:"),
    );
    const lines = section.trim().split("\n");
    // "Secrets:", one explanation, one line per secret.
    assert.equal(lines.length, 2 + SECRETS.length, section);
    assert.match(lines[1], /^ {2}could not check these secrets: (the Secret Service|secret-tool)/);
    for (const [index, { service }] of SECRETS.entries()) {
      assert.match(lines[2 + index], new RegExp(`^ {4}${service} +unknown`), section);
    }
    const why = lines[1].replace(/^ {2}could not check these secrets: /, "");
    assert.equal(section.split(why).length - 1, 1, section);
  } finally {
    await home.cleanup();
  }
});

Deno.test("issue 26: on the embedded default (no setup) status talks about no secret and never asks the store", async () => {
  const home = await makeTestHome();
  try {
    // The keyring is unavailable, as on a machine where nothing was set up.
    const env = {
      ...home.env,
      ASCIINEMA_CREDENTIAL_STORE: "secret-service",
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home.root, "no-bus")}`,
    };
    const text = await cli({ ...home, env }, []);
    const section = text.stdout.slice(
      text.stdout.indexOf("Secrets:"),
      text.stdout.indexOf("Notifiers:"),
    );
    assert.equal(section.trim(), "Secrets:\n  none needed by this configuration", text.stdout);
    assert.doesNotMatch(text.stdout, /could not check|unknown|keyring|Secret Service/, text.stdout);
    const json = JSON.parse((await cli({ ...home, env }, ["--json"])).stdout);
    assert.deepEqual(json.secrets, []);
    StatusJson.parse(json);

    // The rule, in process: the hook is asked only when a secret is needed.
    let asked = 0;
    const hook: SecretsHook = () => {
      asked++;
      return Promise.reject(new Error("keyring unavailable"));
    };
    // No environment; https remotes need a token.
    const collect = () =>
      collectStatus({
        paths: home.paths,
        secrets: hook,
        env: { get: () => undefined },
        remoteNeedsToken: (url) => url.startsWith("https:"),
      });
    const local = await collect();
    assert.equal(asked, 0);
    assert.deepEqual(local.secrets, []);
    assert.equal(local.notifiers.find((n) => n.name === "pushover")?.configured, false);
    // A daemon that pushes to a local bare repository needs no token either.
    await writeHealth(
      home.paths.health,
      healthDoc({
        remotes: {
          local: {
            ...healthDoc().remotes["github.com-o-r-asciinema-recordings"],
            url: "/srv/b.git",
          },
        },
      }),
    );
    const bare = await collect();
    assert.equal(asked, 0);
    assert.deepEqual(bare.secrets, []);

    // A GitHub repository in config.json needs the token: asked, and shown as unknown.
    await Deno.writeTextFile(
      home.paths.config,
      JSON.stringify({ repo_url: "https://github.com/o/r.git" }),
    );
    const github = await collect();
    assert.equal(asked, 1);
    assert.deepEqual(github.secrets.map((s) => [s.service, s.present]), [
      ["asciinema-github-pat", null],
    ]);
    assert.match(renderStatus(github), /could not check this secret: keyring unavailable/);
  } finally {
    await home.cleanup();
  }
});
