/** Who may talk to the viewer (lib/web/guard.ts): loopback, Host, method, token then cookie. */
import assert from "node:assert/strict";
import {
  allowedHosts,
  CONTENT_SECURITY_POLICY,
  cookieName,
  cookieValue,
  isLoopback,
  judgeRequest,
  loginCookie,
  newToken,
  type RequestFacts,
  securityHeaders,
} from "../../../lib/web/guard.ts";
import { redirectPage } from "../../../lib/web/open.ts";

const config = { token: "s3cret-token-value", port: 8123 };

function facts(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    method: "GET",
    url: new URL("http://127.0.0.1:8123/api/recordings"),
    host: "127.0.0.1:8123",
    cookie: `${cookieName(8123)}=${config.token}`,
    fetchSite: "same-origin",
    remote: "127.0.0.1",
    ...over,
  };
}

Deno.test("guard: the cookie of this run, from this machine, to this address: served", () => {
  assert.deepEqual(judgeRequest(facts(), config), { kind: "serve" });
  assert.deepEqual(judgeRequest(facts({ host: "localhost:8123" }), config), { kind: "serve" });
  assert.deepEqual(judgeRequest(facts({ method: "HEAD" }), config), { kind: "serve" });
  assert.deepEqual(judgeRequest(facts({ fetchSite: null }), config), { kind: "serve" });
});

Deno.test("guard: the token in the URL logs in (even from another site's link)", () => {
  const url = new URL(`http://127.0.0.1:8123/?token=${config.token}`);
  assert.deepEqual(judgeRequest(facts({ url, cookie: null }), config), { kind: "login" });
  assert.deepEqual(
    judgeRequest(facts({ url, cookie: null, fetchSite: "cross-site" }), config),
    { kind: "login" },
  );
  assert.equal(
    loginCookie(config),
    `${cookieName(8123)}=${config.token}; HttpOnly; SameSite=Strict; Path=/`,
  );
});

Deno.test("guard: refused without the token, with a wrong one, or another run's cookie", () => {
  const refused = (over: Partial<RequestFacts>) => judgeRequest(facts(over), config);
  assert.equal(refused({ cookie: null }).kind, "refuse");
  assert.equal(refused({ cookie: `${cookieName(8123)}=nope` }).kind, "refuse");
  assert.equal(refused({ cookie: `${cookieName(9000)}=${config.token}` }).kind, "refuse");
  assert.equal(refused({ cookie: `${cookieName(8123)}=${config.token}x` }).kind, "refuse");
  const wrong = refused({ url: new URL("http://127.0.0.1:8123/?token=guess"), cookie: null });
  assert.deepEqual([wrong.kind, wrong.kind === "refuse" && wrong.status], ["refuse", 403]);
});

Deno.test("guard: DNS rebinding (another Host), other machines, writing methods, other sites", () => {
  const verdict = (over: Partial<RequestFacts>) => judgeRequest(facts(over), config);
  for (const host of ["evil.example:8123", "127.0.0.1:9999", "127.0.0.1", null, "0.0.0.0:8123"]) {
    const v = verdict({ host });
    assert.deepEqual([v.kind, v.kind === "refuse" && v.status], ["refuse", 421], String(host));
  }
  for (const remote of ["192.168.1.5", "10.0.0.1", "::ffff:8.8.8.8", "2001:db8::1"]) {
    const v = verdict({ remote });
    assert.deepEqual([v.kind, v.kind === "refuse" && v.status], ["refuse", 403], remote);
  }
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const v = verdict({ method });
    assert.deepEqual([v.kind, v.kind === "refuse" && v.status], ["refuse", 405], method);
  }
  const cross = verdict({ fetchSite: "cross-site" });
  assert.deepEqual([cross.kind, cross.kind === "refuse" && cross.status], ["refuse", 403]);
  assert.deepEqual(allowedHosts(1), ["127.0.0.1:1", "localhost:1"]);
});

Deno.test("guard: loopback addresses", () => {
  for (const address of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) {
    assert.ok(isLoopback(address), address);
  }
  for (const address of ["128.0.0.1", "0.0.0.0", "::", "localhost", "127.0.0.1.evil", ""]) {
    assert.ok(!isLoopback(address), address);
  }
});

Deno.test("guard: cookies parsed by name; tokens are long and random", () => {
  assert.equal(cookieValue("a=1; b = 2 ;c=3", "b"), "2");
  assert.equal(cookieValue("ab=1", "a"), undefined);
  assert.equal(cookieValue(null, "a"), undefined);
  const a = newToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newToken());
});

Deno.test("guard: every answer's headers: strict CSP, no CORS, no framing, no sniffing", () => {
  const headers = securityHeaders();
  assert.equal(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /'unsafe-inline'|'unsafe-eval'|\*/);
  assert.equal(headers["x-content-type-options"], "nosniff");
  assert.equal(headers["x-frame-options"], "DENY");
  assert.ok(!Object.keys(headers).some((name) => name.startsWith("access-control-")));
});

Deno.test("open: the redirect file escapes the URL", () => {
  const page = redirectPage('http://127.0.0.1:1/?token=a"><script>x</script>&b');
  assert.ok(!page.includes("<script>x"));
  assert.match(page, /url=http:\/\/127\.0\.0\.1:1\/\?token=a&#34;&#62;&#60;script&#62;/);
});
