/**
 * Where secrets live: the macOS Keychain, the Secret Service, the environment,
 * and the store that picks one (missing vs unavailable).
 *
 * @module
 */
export * from "./store.ts";
