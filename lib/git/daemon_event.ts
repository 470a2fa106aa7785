/**
 * What the daemon reports ({@linkcode DaemonEvent}) and how a push failed
 * ({@linkcode ErrorKind}): the engine emits these events, the notification
 * policy turns them into notices and the token cache re-reads after an auth
 * failure. They live beside {@linkcode PublishError}, whose kind they carry.
 *
 * @module
 */

/** Kinds of push failure, as shown in health.json and used by notifications. */
export type ErrorKind =
  | "auth"
  | "network"
  | "remote"
  | "rejected"
  | "conflict"
  | "config"
  | "disk"
  | "input";

/** One event of the daemon, told apart by its `kind`. */
export type DaemonEvent =
  | {
    kind: "push-failed";
    /** The remote's key (its clone folder). */
    remote: string;
    /** How the push failed. */
    errorKind: ErrorKind;
    message: string;
    /** When pushes to this remote started failing. */
    since: Date;
    /** Chunks waiting to be pushed. */
    queued: number;
    /** The remote for people (default: the key). */
    label?: string;
  }
  | { kind: "push-ok"; remote: string; queued: number; label?: string }
  | { kind: "disk"; message: string }
  | { kind: "crash-restart"; message: string }
  | { kind: "behind"; id: string; ageSeconds: number }
  | { kind: "caught-up"; id: string }
  | { kind: "public-refused"; id: string; message: string };
