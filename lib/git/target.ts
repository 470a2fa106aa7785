/**
 * Where a recording's chunks go ({@linkcode RemoteTarget}), how git reaches
 * it, the clone folder of each remote+branch, and the publisher's error.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { KindedError } from "../sys/mod.ts";
import type { GitAuth } from "./hermetic.ts";
import type { ErrorKind } from "./daemon_event.ts";

/** Where a recording's chunks go. */
export interface RemoteTarget {
  /** Remote URL or local path. */
  url: string;
  branch: string;
}

/** Resolves how git reaches a remote: the URL to use and any auth. */
export type AuthResolver = (url: string) => Promise<ResolvedAuth>;

/** What an {@linkcode AuthResolver} answers. */
export interface ResolvedAuth {
  /** The URL git should use. */
  url: string;
  /** Authentication (none: anonymous). */
  auth?: GitAuth;
  /** Set when the remote is asked without the token because it is out of the token's scope: the fix. */
  anonymous?: string;
}

/** The clone folder name of a remote+branch: readable part plus a hash. */
export function repoSlug(target: RemoteTarget): string {
  const tail = basename(target.url.replace(/\/+$/, "")).replace(/\.git$/, "") || "remote";
  const readable = `${tail}-${target.branch}`.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
  const hash = createHash("sha256").update(`${target.url}\n${target.branch}`).digest("hex");
  return `${readable}-${hash.slice(0, 10)}.git`;
}

/** A failed publish, classified. */
export class PublishError extends KindedError<ErrorKind> {}
