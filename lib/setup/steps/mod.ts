/**
 * The setup steps, one file each, in the order the wizard runs them.
 *
 * @module
 */
export { preflightStep } from "./preflight.ts";
export { existingStep } from "./existing.ts";
export { askBranch, askRepository, repositoryStep } from "./repository.ts";
export { askToken, describeVerdict, tokenStep, verifyToken } from "./token.ts";
export {
  checkRecipients,
  configuredRecipients,
  encryptionStep,
  encryptionSummary,
} from "./encryption.ts";
export {
  askNotifications,
  notificationsStep,
  type NotifyAnswer,
  sendTestNotice,
} from "./notifications.ts";
export { askChunking, chunkingFromFlags, chunkingStep } from "./chunking.ts";
export { reviewStep, summarize } from "./review.ts";
export { apply, configPatch } from "./install.ts";
