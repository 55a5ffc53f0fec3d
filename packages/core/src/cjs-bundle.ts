/**
 * The CommonJS build's one module: every entry point's exports, namespaced by entry. Each
 * `dist/<entry>.cjs` re-exports its part (see tsup.base.ts), so that the entry points of a
 * CommonJS app share one copy of each class. Not an entry point of its own.
 */
export * as index from './index.js';
export * as ipc from './ipc/index.js';
export * as runtime from './runtime/index.js';
export * as ipcClient from './ipc-client/index.js';
