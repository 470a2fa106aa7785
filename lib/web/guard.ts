/**
 * Who may talk to the viewer (pure): the decision for one request, and the
 * headers every answer carries. The viewer listens on 127.0.0.1 only; on
 * top of that a request is served only when
 *
 * - it comes from a loopback address;
 * - its `Host` is `127.0.0.1:<port>` or `localhost:<port>` (a page of another
 *   site that rebinds its DNS name to 127.0.0.1 still sends its own name);
 * - it is a `GET` or `HEAD` (nothing in the viewer writes);
 * - it carries the run's random token: once in the printed URL (that answer
 *   sets an `HttpOnly; SameSite=Strict` cookie, and the page drops the token
 *   from the address bar), then in that cookie;
 * - a request that shows only the cookie does not come from another site
 *   (`Sec-Fetch-Site`; the cookie is `SameSite=Strict` as well).
 *
 * No answer has CORS headers; every answer has a strict Content-Security-Policy
 * (scripts from the viewer only, no inline script, no framing).
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";

/** What the decision looks at. */
export interface RequestFacts {
  /** HTTP method. */
  method: string;
  /** The request URL (path and query are what count). */
  url: URL;
  /** The `Host` header (null when missing). */
  host: string | null;
  /** The `Cookie` header (null when missing). */
  cookie: string | null;
  /** The `Sec-Fetch-Site` header (null when missing: not a browser, or an old one). */
  fetchSite: string | null;
  /** The peer's IP address. */
  remote: string;
}

/** The run's secrets and address. */
export interface GuardConfig {
  /** The per-run random token. */
  token: string;
  /** The port the viewer listens on. */
  port: number;
}

/** What to do with a request. */
export type Verdict =
  | { kind: "serve" }
  | { kind: "login" }
  | { kind: "refuse"; status: number; reason: string };

/** The query parameter that carries the token in the printed URL. */
export const TOKEN_PARAM = "token";

/** Name of the cookie for the viewer on `port` (cookies ignore ports, so two viewers differ by name). */
export function cookieName(port: number): string {
  return `asciinema_viewer_${port}`;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (plain === "::1") return true;
  const v4 = plain.startsWith("::ffff:") ? plain.slice(7) : plain;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** A random token (32 bytes, URL-safe base64). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function sameSecret(given: string, token: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    if (part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The hosts a request may name: the loopback address (and `localhost`) with the port. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** Decides what to do with one request (see the module). */
export function judgeRequest(facts: RequestFacts, config: GuardConfig): Verdict {
  if (!isLoopback(facts.remote)) {
    return { kind: "refuse", status: 403, reason: "only this machine may use the viewer" };
  }
  const host = (facts.host ?? "").toLowerCase();
  if (!allowedHosts(config.port).includes(host)) {
    return {
      kind: "refuse",
      status: 421,
      reason: `wrong Host header: open http://127.0.0.1:${config.port}/ as printed`,
    };
  }
  if (facts.method !== "GET" && facts.method !== "HEAD") {
    return { kind: "refuse", status: 405, reason: "the viewer only reads (GET and HEAD)" };
  }
  const given = facts.url.searchParams.get(TOKEN_PARAM);
  if (given !== null) {
    if (!sameSecret(given, config.token)) {
      return {
        kind: "refuse",
        status: 403,
        reason: "wrong token: open the URL the viewer printed",
      };
    }
    return { kind: "login" };
  }
  if (facts.fetchSite === "cross-site") {
    return { kind: "refuse", status: 403, reason: "requests from other sites are refused" };
  }
  const cookie = cookieValue(facts.cookie, cookieName(config.port));
  if (cookie === undefined || !sameSecret(cookie, config.token)) {
    return {
      kind: "refuse",
      status: 403,
      reason: "no token: open the URL the viewer printed (it carries the token)",
    };
  }
  return { kind: "serve" };
}

/** The `Set-Cookie` value that lets the browser in after it showed the token. */
export function loginCookie(config: GuardConfig): string {
  return `${cookieName(config.port)}=${config.token}; HttpOnly; SameSite=Strict; Path=/`;
}

/** Scripts from the viewer only (the player needs WebAssembly), nothing inline, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers of every answer (no CORS headers, ever). */
export function securityHeaders(): Record<string, string> {
  return {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
  };
}
