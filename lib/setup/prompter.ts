/**
 * The prompts setup asks, and their implementation over @inquirer/prompts.
 * Steps take a {@linkcode Prompter}, so tests drive them with a fake one.
 *
 * @module
 */
import * as prompts from "@inquirer/prompts";

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
 * its first line, never in the middle of the wizard.
 */
export function inquirerPrompter(): Prompter {
  return {
    select: <T>(message: string, choices: Choice<T>[], defaultValue?: T) =>
      prompts.select<T>({ message, choices, default: defaultValue }),
    input: (message, options = {}) =>
      prompts.input({ message, default: options.default, validate: options.validate }),
    secret: (message, options = {}) =>
      prompts.password({ message, mask: "*", validate: options.validate }),
    confirm: (message, defaultValue = true) => prompts.confirm({ message, default: defaultValue }),
  };
}
