/**
 * Notifier and notification policy: exact Pushover and ntfy fields against a
 * loopback stand-in, a one-hour outage with a fake clock, a rejected token,
 * delivery failures, and the Pushover secrets never reaching the log.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createNotificationPolicy,
  createNotifier,
  type GetSecret,
  type Notice,
  NotificationPolicy,
  ntfyBackend,
  PUSHOVER_MESSAGE_MAX,
  pushoverBackend,
} from "../../../lib/notify/mod.ts";
import { log, setupLogging, shutdownLogging } from "../../../lib/sys/mod.ts";
import { parseSettings } from "../../../lib/sys/mod.ts";
import { type NotifyServer, startNotifyServer } from "../../support/notify_server.ts";
import { makeTestHome } from "../../support/env.ts";
import { checkHttpUrl, checkNtfyUrl } from "../../../lib/setup/mod.ts";

const APP_TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi";
const USER_KEY = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG";
const NTFY_TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2";

function secrets(values: Record<string, string> = {}): GetSecret {
  const all: Record<string, string> = {
    "asciinema-pushover-app": APP_TOKEN,
    "asciinema-pushover-user": USER_KEY,
    "asciinema-ntfy-token": NTFY_TOKEN,
    ...values,
  };
  return (service) => Promise.resolve(all[service]);
}

function settingsFor(server: NotifyServer, extra: Record<string, unknown> = {}) {
  return parseSettings({
    notify: {
      pushover: { api_url: server.pushoverUrl, sound: "siren" },
      ntfy: { url: server.ntfyUrl("asciinema"), tags: ["asciinema"] },
      ...extra,
    },
  });
}

const sample: Notice = {
  kind: "push_failing",
  key: "github.com-o-r",
  title: "asciinema backup failing on testhost",
  message: "Backups have failed for 3 min.\nRun `deno task daemon-status`.",
  priority: "normal",
  tags: ["warning"],
};

Deno.test("Pushover and ntfy receive the exact fields", async () => {
  const server = await startNotifyServer();
  try {
    const notifier = createNotifier(settingsFor(server), { getSecret: secrets() });
    assert.deepEqual(notifier.backends.map((backend) => backend.name), ["pushover", "ntfy"]);
    const result = await notifier.send(sample);
    assert.equal(result.delivered, true);
    assert.deepEqual(result.results.map((item) => item.ok), [true, true]);

    const [pushover, ntfy] = server.received;
    assert.equal(pushover.service, "pushover");
    assert.match(pushover.headers["content-type"], /^application\/x-www-form-urlencoded/);
    assert.deepEqual(pushover.form, {
      token: APP_TOKEN,
      user: USER_KEY,
      title: sample.title,
      message: sample.message,
      priority: "0",
      sound: "siren",
    });

    assert.equal(ntfy.service, "ntfy");
    assert.equal(ntfy.path, "/asciinema");
    assert.equal(ntfy.body, sample.message);
    assert.equal(ntfy.headers["title"], sample.title);
    assert.equal(ntfy.headers["priority"], "3");
    assert.equal(ntfy.headers["tags"], "warning,asciinema");
    assert.equal(ntfy.headers["authorization"], `Bearer ${NTFY_TOKEN}`);

    // Limits: Pushover's message is cut to 1024 characters; high priority maps per service.
    server.received.length = 0;
    await notifier.send({ ...sample, priority: "high", message: "x".repeat(5000) });
    assert.equal([...server.received[0].form.message].length, PUSHOVER_MESSAGE_MAX);
    assert.equal(server.received[0].form.priority, "1");
    assert.equal(server.received[1].headers["priority"], "5");
    assert.equal(server.received[1].body.length, 5000);
  } finally {
    await server.close();
  }
});

Deno.test("without secrets Pushover is skipped; ntfy sends without a token", async () => {
  const server = await startNotifyServer();
  try {
    const none: GetSecret = () => Promise.resolve(undefined);
    const notifier = createNotifier(settingsFor(server), { getSecret: none });
    const result = await notifier.send(sample);
    assert.equal(result.delivered, true);
    assert.equal(result.results[0].skipped, true);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0].service, "ntfy");
    assert.equal(server.received[0].headers["authorization"], undefined);

    const off = createNotifier(settingsFor(server, { enabled: false }), {
      getSecret: secrets(),
    });
    assert.equal(off.backends.length, 0);
    const nothing = await off.send(sample);
    assert.equal(nothing.delivered, false);
    assert.equal(nothing.permanent, true);
  } finally {
    await server.close();
  }
});

Deno.test("delivery failures: 4xx permanent, 5xx and status 0 passing, timeouts, never thrown", async () => {
  const server = await startNotifyServer();
  const release = Promise.withResolvers<void>();
  try {
    const pushover = pushoverBackend({ apiUrl: server.pushoverUrl, getSecret: secrets() });
    server.pushoverReply = () => ({
      status: 400,
      body: JSON.stringify({
        token: "invalid",
        errors: ["application token is invalid"],
        status: 0,
      }),
    });
    let result = await pushover.send(sample);
    assert.equal(result.ok, false);
    assert.equal(result.permanent, true);
    assert.match(result.error ?? "", /HTTP 400: application token is invalid/);

    server.pushoverReply = () => ({ status: 500, body: "oops" });
    result = await pushover.send(sample);
    assert.equal(result.ok, false);
    assert.equal(result.permanent, false);

    server.pushoverReply = () => ({ status: 200, body: JSON.stringify({ status: 0 }) });
    result = await pushover.send(sample);
    assert.equal(result.ok, false, "success only with status 1");

    const ntfy = ntfyBackend({ url: server.ntfyUrl(), getSecret: secrets(), timeoutMs: 200 });
    server.ntfyReply = () => ({ status: 200, body: "{}", hang: release.promise });
    result = await ntfy.send(sample);
    assert.equal(result.ok, false);
    assert.equal(result.permanent, false);
    assert.equal(result.error, "timed out");

    const broken: GetSecret = () => Promise.reject(new Error("keyring is locked"));
    result = await pushoverBackend({ apiUrl: server.pushoverUrl, getSecret: broken }).send(sample);
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /keyring is locked/);
  } finally {
    release.resolve();
    await server.close();
  }
});

/** Exponential backoff of the daemon: 2 s doubling, capped at 300 s. */
function backoffSchedule(totalSeconds: number): number[] {
  const times = [0];
  let delay = 2;
  let t = 0;
  while (t + delay <= totalSeconds) {
    t += delay;
    times.push(t);
    delay = Math.min(300, delay * 2);
  }
  return times;
}

Deno.test("one-hour outage: at most 2 failure notices, exactly 1 recovery notice", async () => {
  const server = await startNotifyServer();
  try {
    const notifier = createNotifier(settingsFor(server), { getSecret: secrets() });
    const t0 = Date.parse("2025-03-01T10:00:00Z");
    let now = t0;
    const sentAt: { kind: string; at: number }[] = [];
    const policy = NotificationPolicy.fromSettings(settingsFor(server), {
      clock: { now: () => now, wall: () => new Date(now) },
      host: "testhost",
      send: async (notice) => {
        sentAt.push({ kind: notice.kind, at: now - t0 });
        return await notifier.send(notice);
      },
    });
    let queued = 0;
    const attempts = backoffSchedule(3600);
    assert.ok(attempts.length > 10);
    for (const second of attempts) {
      now = t0 + second * 1000;
      queued++;
      await policy.pushFailing("github.com-o-r", {
        since: new Date(t0).toISOString(),
        queued,
        message: "fatal: unable to access 'https://github.com/o/r.git/': Could not resolve host",
        label: "https://github.com/o/r.git",
      });
      await policy.tick();
    }
    now = t0 + 3600_000 + 5_000;
    const recovery = await policy.pushSucceeded("github.com-o-r", { queued });
    assert.ok(recovery);
    // More successes send nothing more.
    assert.equal(await policy.pushSucceeded("github.com-o-r", { queued: 0 }), undefined);

    const failures = sentAt.filter((item) => item.kind === "push_failing");
    const recoveries = sentAt.filter((item) => item.kind === "recovered");
    assert.ok(failures.length >= 1 && failures.length <= 2, `failure notices: ${failures.length}`);
    assert.equal(recoveries.length, 1);
    assert.ok(failures[0].at >= 120_000, "nothing before the grace period");
    assert.ok(failures[0].at <= 300_000, "the person hears within minutes");

    // What the services received: the same, per service.
    for (const service of ["pushover", "ntfy"] as const) {
      const got = server.received.filter((item) => item.service === service);
      const titles = got.map((item) => item.form.title ?? item.headers["title"]);
      assert.equal(titles.filter((title) => /failing/.test(title)).length, failures.length);
      assert.equal(titles.filter((title) => /working again/.test(title)).length, 1);
    }
    const last = server.received.filter((item) => item.service === "pushover").at(-1)!;
    assert.match(last.form.message, /after 1 h down/);
    assert.match(last.form.message, new RegExp(`${queued} chunks that were queued`));
    const first = server.received[0].form.message;
    assert.match(first, /deno task daemon-status/);
    assert.match(first, /Could not resolve host/);
  } finally {
    await server.close();
  }
});

Deno.test("a rejected token gives one high-priority notice at once", async () => {
  const server = await startNotifyServer();
  try {
    const t0 = Date.parse("2025-03-01T10:00:00Z");
    let now = t0;
    // What the daemon builds.
    const policy = createNotificationPolicy(settingsFor(server), {
      getSecret: secrets(),
      clock: { now: () => now, wall: () => new Date(now) },
      host: "testhost",
    });
    // The daemon's events (ChunkerEvent shape) at its auth backoff for 20 minutes.
    const first = await policy.handleEvent({
      type: "push-failed",
      remote: "github.com-o-r",
      kind: "auth",
      message: "remote: Invalid username or token. fatal: Authentication failed",
      since: new Date(t0),
      queued: 1,
    });
    assert.equal(first?.kind, "auth_rejected");
    assert.equal(first?.priority, "high");
    assert.equal(server.received.length, 2, "sent at once, to both services");
    for (let minute = 5; minute <= 20; minute += 5) {
      now = t0 + minute * 60_000;
      await policy.handleEvent({
        type: "push-failed",
        remote: "github.com-o-r",
        kind: "auth",
        message: "Authentication failed",
        since: new Date(t0),
        queued: minute,
      });
    }
    const pushover = server.received.filter((item) => item.service === "pushover");
    const ntfy = server.received.filter((item) => item.service === "ntfy");
    assert.equal(pushover.length, 1);
    assert.equal(ntfy.length, 1);
    assert.equal(pushover[0].form.priority, "1");
    assert.equal(ntfy[0].headers["priority"], "5");
    assert.match(pushover[0].form.message, /deno task daemon-setup/);

    now = t0 + 25 * 60_000;
    const recovered = await policy.handleEvent({
      type: "push-ok",
      remote: "github.com-o-r",
      queued: 20,
    });
    assert.equal(recovered?.kind, "recovered");
    assert.match(recovered?.message ?? "", /25 min down; 20 chunks/);
  } finally {
    await server.close();
  }
});

Deno.test("throttle per kind and key; undelivered notices are retried by tick", async () => {
  const server = await startNotifyServer();
  try {
    const settings = parseSettings({ notify: { ntfy: { url: server.ntfyUrl() } } });
    const notifier = createNotifier(settings, {
      getSecret: secrets({ "asciinema-pushover-app": "", "asciinema-pushover-user": "" }),
    });
    let now = Date.parse("2025-03-01T10:00:00Z");
    const policy = NotificationPolicy.fromSettings(settings, {
      clock: { now: () => now, wall: () => new Date(now) },
      host: "testhost",
      send: (notice) => notifier.send(notice),
    });
    // Disk trouble: per key, once per 30 minutes.
    assert.ok(await policy.diskTrouble("ENOSPC writing spool/a", { key: "a" }));
    assert.equal(await policy.diskTrouble("ENOSPC again", { key: "a" }), undefined);
    assert.ok(await policy.diskTrouble("ENOSPC writing spool/b", { key: "b" }));
    now += 31 * 60_000;
    assert.ok(await policy.diskTrouble("ENOSPC still", { key: "a" }));
    assert.equal(server.received.length, 3);

    // A passing failure (503) is not counted: tick retries it.
    let fail = true;
    server.ntfyReply = () => fail ? { status: 503, body: "busy" } : { status: 200, body: "{}" };
    assert.equal(await policy.crashRestart("health.json said ok at start"), undefined);
    assert.equal(server.received.length, 4);
    fail = false;
    await policy.tick();
    assert.equal(server.received.length, 4, "not before a minute");
    now += 61_000;
    await policy.tick();
    assert.equal(server.received.length, 5);
    assert.match(server.received[4].headers["title"], /restarted after a crash/);
    await policy.tick();
    assert.equal(server.received.length, 5);

    // A permanent failure (4xx) counts as sent: no retry storm.
    server.ntfyReply = () => ({ status: 403, body: "forbidden" });
    now += 31 * 60_000;
    assert.ok(await policy.crashRestart("again"));
    now += 10 * 60_000;
    await policy.tick();
    assert.equal(server.received.length, 6);

    // A send function that throws never reaches the daemon.
    const angry = new NotificationPolicy({
      clock: { now: () => now, wall: () => new Date(now) },
      host: "h",
      send: () => {
        throw new Error("boom");
      },
    });
    assert.equal(await angry.authRejected("r", "401"), undefined);
  } finally {
    await server.close();
  }
});

Deno.test("the Pushover token and user key never appear in the log", async () => {
  const home = await makeTestHome();
  const server = await startNotifyServer();
  const logFile = join(home.root, "chunker.log");
  try {
    await setupLogging({ logFile, level: "debug" });
    const notifier = createNotifier(settingsFor(server), { getSecret: secrets() });
    const policy = new NotificationPolicy({
      host: "testhost",
      failureGraceSeconds: 0,
      send: (notice) => notifier.send(notice),
    });
    await policy.pushFailing("r", { since: Date.now() - 1000, queued: 1, message: "offline" });
    // A service that echoes the token back in its error.
    server.pushoverReply = (request) => ({
      status: 400,
      body: JSON.stringify({
        status: 0,
        errors: [`token ${request.form.token} for user ${request.form.user} is invalid`],
      }),
    });
    await policy.authRejected("r", "401");
    server.pushoverReply = () => ({ status: 500, body: "down" });
    await policy.crashRestart("crashed");
    // Whatever else the program logs with the values in it.
    log("test").info(`token=${APP_TOKEN} user=${USER_KEY}`);
    await shutdownLogging();

    const text = await Deno.readTextFile(logFile);
    assert.match(text, /via pushover/, "the log has the notifier's lines");
    assert.match(text, /\[REDACTED\] for user \[REDACTED\] is invalid/);
    assert.ok(!text.includes(APP_TOKEN), "app token in the log");
    assert.ok(!text.includes(USER_KEY), "user key in the log");
    assert.ok(!text.includes(NTFY_TOKEN), "ntfy token in the log");
  } finally {
    await shutdownLogging();
    await server.close();
    await home.cleanup();
  }
});

Deno.test("plain http:// to another machine: refused at config load naming the key, setup refuses it, and no backend sends a secret there", async () => {
  for (
    const [notify, key] of [
      [{ ntfy: { url: "http://ntfy.example.com/alerts" } }, "notify.ntfy.url"],
      [
        { pushover: { api_url: "http://api.pushover.net/1/messages.json" } },
        "notify.pushover.api_url",
      ],
      [{ ntfy: { url: "HTTP://10.0.0.7:8080/alerts" } }, "notify.ntfy.url"],
    ] as const
  ) {
    assert.throws(() => parseSettings({ notify }), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`^config\\.json: ${key.replaceAll(".", "\\.")}: plain http://`),
      );
      return true;
    });
  }
  for (
    const url of [
      "http://127.0.0.1:8080/t",
      "http://[::1]:9/t",
      "http://localhost/t",
      "https://ntfy.sh/t",
    ]
  ) {
    parseSettings({ notify: { ntfy: { url }, pushover: { api_url: url } } });
  }
  assert.match(
    String(checkNtfyUrl("http://ntfy.example.com/alerts")),
    /^notify\.ntfy\.url: plain http/,
  );
  assert.match(
    String(checkHttpUrl("http://api.example.com/1")),
    /^notify\.pushover\.api_url: plain/,
  );
  assert.equal(checkNtfyUrl("http://127.0.0.1:8/alerts"), true);
  assert.equal(checkHttpUrl("https://api.pushover.net/1/messages.json"), true);

  // The backends themselves, given such a URL anyway: no token goes out.
  const sent: { url: string; headers: Headers; body: string }[] = [];
  const fetchSpy: typeof fetch = async (input, init) => {
    sent.push({
      url: String(input),
      headers: new Headers(init?.headers),
      body: String(init?.body ?? ""),
    });
    return await Promise.resolve(new Response(JSON.stringify({ status: 1 }), { status: 200 }));
  };
  const ntfy = ntfyBackend({
    url: "http://ntfy.example.com/alerts",
    getSecret: secrets(),
    fetch: fetchSpy,
  });
  await ntfy.send(sample);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].headers.get("authorization"), null, "the ntfy token went out in clear");
  const pushover = pushoverBackend({
    apiUrl: "http://api.example.com/1/messages.json",
    getSecret: secrets(),
    fetch: fetchSpy,
  });
  const result = await pushover.send(sample);
  assert.equal(result.ok, false);
  assert.equal(result.permanent, true);
  assert.match(result.error ?? "", /notify\.pushover\.api_url: plain http/);
  assert.equal(sent.length, 1, "the Pushover secrets went out in clear");
  // Loopback http and https still carry them.
  await ntfyBackend({ url: "http://127.0.0.1:1/t", getSecret: secrets(), fetch: fetchSpy }).send(
    sample,
  );
  assert.equal(sent[1].headers.get("authorization"), `Bearer ${NTFY_TOKEN}`);
});
