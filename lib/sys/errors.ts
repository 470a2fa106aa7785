/**
 * The package's error helpers: {@linkcode KindedError}, the base of every
 * error a caller branches on by kind (with an optional `cause`), and
 * {@linkcode errorMessage}, the one way to turn anything thrown into text.
 *
 * @module
 */

/** An error with a kind a caller can branch on; its name is its class's name. */
export class KindedError<Kind extends string> extends Error {
  /** What kind of failure. */
  readonly kind: Kind;
  /** Creates the error; `options.cause` keeps the error it came from. */
  constructor(kind: Kind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The message of anything thrown: an `Error`'s message, anything else as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
