/**
 * The one parser of numeric command-line options (`daemon.ts`'s subcommands,
 * `setup.ts`, `bootstrap.ts`): a number in a range, else commander's usage
 * error with a message that says what is expected.
 *
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";

/** The range a numeric option accepts, and what a usage error says. */
export interface NumberRange {
  /** Smallest value (default: any). */
  min?: number;
  /** Largest value (default: any). */
  max?: number;
  /** Only whole numbers. */
  whole?: boolean;
  /** The usage error's message for `value` (default: `expected <expected>`). */
  problem?: (value: string) => string;
}

/**
 * A parser for a numeric option: `value` as a number in `range` (blank text
 * is no number), else an `InvalidArgumentError` saying `expected <expected>`.
 */
export function numberOption(expected: string, range: NumberRange = {}): (value: string) => number {
  return (value) => {
    const n = Number(value);
    const ok = value.trim() !== "" && Number.isFinite(n) && n >= (range.min ?? -Infinity) &&
      n <= (range.max ?? Infinity) && (!range.whole || Number.isInteger(n));
    if (!ok) throw new InvalidArgumentError(range.problem?.(value) ?? `expected ${expected}`);
    return n;
  };
}
