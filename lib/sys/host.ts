/**
 * Host names for the rule "a secret never goes over plain `http://` to
 * another machine": loopback hosts, and URLs that would.
 *
 * @module
 */

/** A host name as compared everywhere: lower case, no brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.+$/, "");
}

/** True for loopback hosts: 127.0.0.0/8, ::1 (with or without brackets) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = normalizeHost(host);
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) return v4.slice(1).every((part) => Number(part) <= 255);
  const mapped = /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.exec(h);
  return mapped !== null;
}

/**
 * True when `url` is plain `http://` to a host that is not loopback: what
 * is sent there (a token, a notice) crosses the network in clear. False for
 * `https://`, loopback `http://` and anything that does not parse.
 */
export function isPlainHttpToRemote(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname);
}
