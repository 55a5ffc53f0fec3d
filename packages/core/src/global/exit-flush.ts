import type { Registry } from '../registry/registry.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Flushes the global registry when the process ends normally:
 *
 * - `beforeExit` (the event loop emptied): publish what is unsent, once per burst of activity,
 *   then release the sockets so the process can exit.
 * - SIGTERM / SIGINT when the app installed no handler of its own: stop the registry (final
 *   publish, bounded by `timeoutMs`), then re-raise the signal with the default behaviour, so
 *   the process ends exactly as the signal would have ended it. An app with its own handler
 *   keeps full control (and its graceful shutdown reaches `beforeExit`).
 *
 * Not flushed: SIGKILL, fatal crashes, and `process.exit()` (which runs no asynchronous work);
 * call `await registry.stop()` before `process.exit()`.
 */
export function installExitFlush(registry: Registry): void {
  let flushing = false;
  process.on('beforeExit', () => {
    const { uri, output } = registry.config;
    if (flushing || !registry.started || (uri === undefined && output === 'atlas')) return;
    if (!registry.hasUnpublishedUpdates()) return;
    flushing = true;
    // The pending publish keeps the loop alive; beforeExit fires again once it is done, and
    // then finds nothing new to send.
    void registry
      .publish()
      .then(() => registry.releaseConnections())
      .finally(() => {
        flushing = false;
      });
  });

  for (const signal of SIGNALS) {
    const onSignal = () => {
      // Someone else listens too: the app owns shutdown; do not exit behind its back.
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, onSignal);
      const reraise = () => process.kill(process.pid, signal);
      registry.stop().then(reraise, reraise);
    };
    process.on(signal, onSignal);
  }
}
