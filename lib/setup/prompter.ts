/**
 * The prompts setup asks, and their implementation over @inquirer/prompts.
 * Steps take a {@linkcode Prompter}, so tests drive them with a fake one.
 *
 * @module
 */
import * as prompts from "@inquirer/prompts";
import { termSafe } from "../sys/mod.ts";

export interface Choice<T> {
  /** Label. */
  name: string;
  /** Value returned. */
  value: T;
  /** Shown under the menu when highlighted. */
  description?: string;
}

/** The prompts setup asks (masked input for secrets); each throws on Ctrl-C. */
export interface Prompter {
  /** A menu. */
  select<T>(message: string, choices: Choice<T>[], defaultValue?: T): Promise<T>;
  /** A line of text. */
  input(
    message: string,
    options?: { default?: string; validate?: (value: string) => true | string },
  ): Promise<string>;
  /** A secret: shown as `*` per character. */
  secret(
    message: string,
    options?: { validate?: (value: string) => true | string },
  ): Promise<string>;
  /** Yes or no. */
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
}

/**
 * The prompter over @inquirer/prompts. The package is imported statically, so
 * Deno resolves (and, with an empty cache, downloads) it before setup prints
 * its first line, never in the middle of the wizard. What it shows may quote
 * config.json or a remote (a URL, a branch): messages and choices are escaped
 * by `termSafe`, and a default that would need escaping is not offered.
 */
export function inquirerPrompter(): Prompter {
  return {
    select: <T>(message: string, choices: Choice<T>[], defaultValue?: T) =>
      prompts.select<T>({
        message: termSafe(message),
        choices: choices.map((choice) => ({
          ...choice,
          name: termSafe(choice.name),
          ...(choice.description ? { description: termSafe(choice.description) } : {}),
        })),
        default: defaultValue,
      }),
    input: (message, options = {}) =>
      prompts.input({
        message: termSafe(message),
        default: options.default === undefined || termSafe(options.default) !== options.default
          ? undefined
          : options.default,
        validate: options.validate && ((value: string) => {
          const verdict = options.validate!(value);
          return verdict === true ? true : termSafe(verdict);
        }),
      }),
    secret: (message, options = {}) =>
      prompts.password({ message: termSafe(message), mask: "*", validate: options.validate }),
    confirm: (message, defaultValue = true) =>
      prompts.confirm({ message: termSafe(message), default: defaultValue }),
  };
}
