/**
 * Remote URL handling: GitHub SSH forms to HTTPS, enterprise hosts, loopback
 * http allowed, any other http refused with a clear error, local paths and
 * other SSH remotes untouched, and credential-free display forms.
 */
import assert from "node:assert/strict";
import {
  displayUrl,
  isLoopbackHost,
  parseRemoteUrl,
  RemoteUrlError,
} from "../../../lib/git/mod.ts";

Deno.test("GitHub SSH forms become https://github.com/o/r.git", () => {
  for (
    const url of [
      "git@github.com:o/r.git",
      "github.com:o/r.git",
      "ssh://git@github.com/o/r.git",
      "ssh://git@github.com:22/o/r.git",
      "ssh://git@ssh.github.com:443/o/r.git",
      "git@ssh.github.com:o/r.git",
      "git+ssh://git@github.com/o/r.git",
      "ssh+git://git@github.com/o/r.git",
      "ssh://GIT@GitHub.COM/o/r.git",
      "  git@github.com:o/r.git  ",
      "https://github.com/o/r.git",
      "https://github.com/o/r.git/",
    ]
  ) {
    const remote = parseRemoteUrl(url);
    assert.equal(remote.url, "https://github.com/o/r.git", url);
    assert.equal(remote.kind, "https", url);
    assert.equal(remote.github, true, url);
    assert.equal(remote.needsToken, true, url);
    assert.equal(remote.origin, "https://github.com/", url);
  }
  // No .git suffix stays without one (GitHub serves both).
  assert.equal(parseRemoteUrl("git@github.com:o/r").url, "https://github.com/o/r");
  assert.throws(() => parseRemoteUrl("git@github.com:justowner"), RemoteUrlError);
});

Deno.test("credentials in an https URL are dropped from the push URL and from display", () => {
  const token = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
  const remote = parseRemoteUrl(`https://${token}@github.com/o/r.git`);
  assert.equal(remote.url, "https://github.com/o/r.git");
  assert.equal(remote.hadUserinfo, true);
  const enterprise = parseRemoteUrl("https://user:secret@ghe.example.com/o/r.git");
  assert.equal(enterprise.url, "https://ghe.example.com/o/r.git");
  assert.equal(enterprise.hadUserinfo, true);
  assert.equal(displayUrl(`https://${token}@github.com/o/r.git`), "https://github.com/o/r.git");
  assert.equal(
    displayUrl("https://user:secret@ghe.example.com/o/r.git?x=1#f"),
    "https://ghe.example.com/o/r.git",
  );
  assert.equal(displayUrl("ssh://git@host.example/o/r.git"), "ssh://git@host.example/o/r.git");
  assert.equal(displayUrl("ssh://git:pw@host.example/o/r.git"), "ssh://host.example/o/r.git");
  assert.equal(displayUrl("git@github.com:o/r.git"), "git@github.com:o/r.git");
  assert.equal(displayUrl("/srv/backup.git"), "/srv/backup.git");
  assert.ok(!displayUrl(`/tmp/${token}/x`).includes(token));
});

Deno.test("enterprise hosts: https stays https with the token; SSH forms stay SSH", () => {
  const https = parseRemoteUrl("https://ghe.example.com/o/r.git");
  assert.deepEqual(
    [https.kind, https.url, https.needsToken, https.github, https.origin],
    ["https", "https://ghe.example.com/o/r.git", true, false, "https://ghe.example.com/"],
  );
  const port = parseRemoteUrl("https://ghe.example.com:8443/o/r.git");
  assert.equal(port.origin, "https://ghe.example.com:8443/");
  assert.equal(port.port, 8443);
  for (const url of ["git@ghe.example.com:o/r.git", "ssh://git@ghe.example.com/o/r.git"]) {
    const remote = parseRemoteUrl(url);
    assert.equal(remote.kind, "ssh", url);
    assert.equal(remote.url, url);
    assert.equal(remote.needsToken, false);
    assert.equal(remote.host, "ghe.example.com");
  }
  // Other SSH hosts stay SSH as given.
  const other = parseRemoteUrl("ssh://backup@nas.local:2222/srv/rec.git");
  assert.deepEqual([other.kind, other.url, other.port], [
    "ssh",
    "ssh://backup@nas.local:2222/srv/rec.git",
    2222,
  ]);
  assert.equal(parseRemoteUrl("nas:rec.git").kind, "ssh");
});

Deno.test("plain http: loopback hosts only; anything else is refused with a clear error", () => {
  for (
    const url of [
      "http://127.0.0.1:8080/rec.git",
      "http://127.3.4.5/rec.git",
      "http://localhost:1234/rec.git",
      "http://[::1]:9000/rec.git",
    ]
  ) {
    const remote = parseRemoteUrl(url);
    assert.equal(remote.kind, "http-loopback", url);
    assert.equal(remote.needsToken, true, url);
    assert.ok(remote.origin!.startsWith("http://"), url);
  }
  assert.equal(parseRemoteUrl("http://127.0.0.1:8080/rec.git").origin, "http://127.0.0.1:8080/");
  assert.equal(parseRemoteUrl("http://[::1]:9000/rec.git").origin, "http://[::1]:9000/");
  for (
    const url of [
      "http://github.com/o/r.git",
      "http://ghe.example.com/o/r.git",
      "http://10.0.0.1/r.git",
      "http://128.0.0.1/r.git",
      "http://127.0.0.1.evil.example/r.git",
      "http://user:pw@example.com/r.git",
    ]
  ) {
    assert.throws(
      () => parseRemoteUrl(url),
      (error: unknown) =>
        error instanceof RemoteUrlError && /plain http:\/\/ is refused/.test(error.message) &&
        /use the https:\/\/ URL/.test(error.message) && !error.message.includes("pw@"),
      url,
    );
  }
});

Deno.test("loopback detection", () => {
  for (const host of ["127.0.0.1", "127.255.255.254", "localhost", "LOCALHOST", "::1", "[::1]"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (
    const host of ["128.0.0.1", "127.0.0.256", "10.0.0.1", "example.com", "::2", "127.0.0.1.x"]
  ) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

Deno.test("local paths and file:// are untouched and need no token", () => {
  for (const url of ["/srv/backup.git", "./rel/repo.git", "../up.git", "file:///srv/backup.git"]) {
    const remote = parseRemoteUrl(url);
    assert.equal(remote.kind, "local", url);
    assert.equal(remote.url, url);
    assert.equal(remote.needsToken, false);
  }
});

Deno.test("unsupported and malformed remotes are refused", () => {
  for (const url of ["", "   ", "ftp://example.com/r.git", "ext::sh -c evil", "https://a\nb"]) {
    assert.throws(() => parseRemoteUrl(url), RemoteUrlError, JSON.stringify(url));
  }
  assert.throws(() => parseRemoteUrl("https://example.com/r.git?token=x"), /query or fragment/);
  assert.equal(parseRemoteUrl("git://example.com/r.git").needsToken, false);
});
