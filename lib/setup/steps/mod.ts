/**
 * The setup steps, one file each, in the order the wizard runs them.
 *
 * @module
 */
export { preflightStep } from "./preflight.ts";
export { existingStep } from "./existing.ts";
export { repositoryStep } from "./repository.ts";
export { tokenStep } from "./token.ts";
export { checkRecipients, encryptionStep } from "./encryption.ts";
export { notificationsStep } from "./notifications.ts";
export { chunkingFromFlags, chunkingStep } from "./chunking.ts";
export { reviewStep } from "./review.ts";
export { apply } from "./install.ts";
