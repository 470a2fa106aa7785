/**
 * What the HTTP backends share: reading their secrets, one bounded POST, and
 * turning an answer into a {@linkcode BackendResult}.
 *
 * @module
 */
import { errorMessage, registerSecret, timeoutSignal } from "../sys/mod.ts";
import {
  type BackendResult,
  type GetSecret,
  type HttpBackendOptions,
  NOTIFY_TIMEOUT_MS,
} from "./notice.ts";

/** Cuts `text` to `max` characters, ending with `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}

/** Header values must be Latin-1: keep ASCII, replace the rest. */
export function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 250);
}

/** The part of a URL that is safe to log (no credentials, no query). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** An error for a backend result: aborts and timeouts read "timed out". */
export function errorText(error: unknown): string {
  const timedOut = error instanceof Error &&
    (error.name === "AbortError" || error.message === "timeout");
  return timedOut ? "timed out" : errorMessage(error);
}

/**
 * Reads `services` from the credential store in order, registering each
 * value as a secret; a store that cannot be read gives `backend`'s
 * transient failure result instead of the values.
 */
export async function readSecrets(
  getSecret: GetSecret,
  services: string[],
  backend: string,
): Promise<(string | undefined)[] | BackendResult> {
  const values: (string | undefined)[] = [];
  try {
    for (const service of services) {
      const value = await getSecret(service);
      registerSecret(value);
      values.push(value);
    }
  } catch (error) {
    return {
      backend,
      ok: false,
      permanent: false,
      error: `credential store: ${errorText(error)}`,
    };
  }
  return values;
}

/**
 * `backend`'s result for an HTTP answer that is not a success: a 4xx is
 * permanent (sending again cannot help; `permanentHint` is appended), a 5xx
 * is not. The error reads `HTTP <status><detail>`.
 */
export function httpFailure(
  backend: string,
  status: number,
  options: { detail?: string; permanentHint?: string } = {},
): BackendResult {
  const permanent = status >= 400 && status < 500;
  return {
    backend,
    ok: false,
    permanent,
    status,
    error: `HTTP ${status}${options.detail ?? ""}${permanent ? options.permanentHint ?? "" : ""}`,
  };
}

/** One POST with the backend's timeout; an answer, or what went wrong. */
export async function post(
  url: string,
  init: RequestInit,
  options: HttpBackendOptions,
): Promise<{ status: number; body: string; headers: Headers } | { error: string }> {
  const timer = timeoutSignal(options.timeoutMs ?? NOTIFY_TIMEOUT_MS);
  try {
    const response = await (options.fetch ?? fetch)(url, { ...init, signal: timer.signal });
    const body = await response.text();
    return { status: response.status, body, headers: response.headers };
  } catch (error) {
    return { error: timer.timedOut() ? "timed out" : errorText(error) };
  } finally {
    timer.clear();
  }
}
