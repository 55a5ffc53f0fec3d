import type { Registry } from '../registry/registry.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

interface SignalExitEmitter {
  count?: unknown;
}

/**
 * How many of the signal listeners belong to `signal-exit` (v4 keeps its emitter on
 * `globalThis` under `Symbol.for('signal-exit emitter')`, v3 on `process.__signal_exit_emitter__`;
 * `count` is its number of loaded copies, one listener per signal each). Libraries such as
 * execa, write-file-atomic or proper-lockfile load it. It re-raises a signal only when it is the
 * only listener left, so counting it as "the app's own handler" would leave nobody to exit: we
 * treat it as absent, flush, remove ourselves and re-raise, and then it exits as it would have.
 */
function signalExitListeners(): number {
  const count = (emitter: SignalExitEmitter | undefined) =>
    typeof emitter?.count === 'number' ? emitter.count : 0;
  const v4 = (globalThis as Record<symbol, SignalExitEmitter | undefined>)[
    Symbol.for('signal-exit emitter')
  ];
  const v3 = (process as { __signal_exit_emitter__?: SignalExitEmitter }).__signal_exit_emitter__;
  return count(v4) + count(v3);
}

/**
 * Marks the signal listeners of this exit flush, in every installed copy and major version of
 * the package (hence no version in the key). Two copies each counting the other's listener as
 * "the app's own handler" would both leave the signal alone, and SIGTERM would be ignored.
 */
export const EXIT_FLUSH_MARK: unique symbol = Symbol.for('@spectator/core.exit-flush');

type MarkedListener = ((...args: unknown[]) => void) & { [EXIT_FLUSH_MARK]?: true };

const isExitFlush = (listener: unknown): boolean =>
  typeof listener === 'function' && (listener as MarkedListener)[EXIT_FLUSH_MARK] === true;

/** Signal listeners that belong to the app: neither an exit flush nor signal-exit. */
function appListeners(signal: NodeJS.Signals): number {
  const others = process.listeners(signal).filter((listener) => !isExitFlush(listener)).length;
  return others - signalExitListeners();
}

/**
 * Flushes the global registry when the process ends normally:
 *
 * - `beforeExit` (the event loop emptied): publish what is unsent, once per burst of activity,
 *   within `timeoutMs`, then release the sockets so the process can exit.
 * - SIGTERM / SIGINT when the app installed no handler of its own: stop the registry (final
 *   publish, bounded by `timeoutMs`), then re-raise the signal with the default behaviour, so
 *   the process ends exactly as the signal would have ended it. An app with its own handler
 *   keeps full control (and its graceful shutdown reaches `beforeExit`).
 *
 * Our signal listener is put first (`prependListener`): a handler the app registered earlier with
 * `process.once`, or one that removes itself when called (NestJS's shutdown hooks), is then still
 * registered when we count, instead of gone and mistaken for no handler at all. Other copies of
 * this flush (another installed major, with its own registry) are marked and do not count as the
 * app's handler: each flushes its own registry, and the last one to finish re-raises the signal.
 *
 * Not flushed: SIGKILL, fatal crashes, and `process.exit()` (which runs no asynchronous work);
 * call `await registry.stop()` before `process.exit()`.
 *
 * At `'exit'` (a natural end or `process.exit()`), a started registry that recorded something
 * and never had a uri says once that it published nothing.
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
      // Neither rejects today; should one, no unhandled rejection may come out of an exit path.
      .catch(() => undefined)
      .finally(() => {
        flushing = false;
      });
  });

  // Last words of a process that recorded without a uri: a short script that never reaches its
  // first step would otherwise end without a word. `'exit'` also runs on `process.exit()`.
  process.on('exit', () => {
    try {
      registry.noteExit();
    } catch {
      // Nothing may throw from an exit listener.
    }
  });

  for (const signal of SIGNALS) {
    let flushing = false;
    const reraise = () => {
      process.removeListener(signal, onSignal);
      // Another copy still flushing its registry re-raises when it is done.
      if (process.listeners(signal).some(isExitFlush)) return;
      process.kill(process.pid, signal);
    };
    const onSignal: MarkedListener = () => {
      // The same signal again while flushing (a second Ctrl-C): exit now.
      if (flushing) return reraise();
      // Someone else listens too: the app owns shutdown; do not exit behind its back.
      if (appListeners(signal) > 0) return;
      // Stay registered while flushing: signal-exit exits at once when it is the last listener.
      flushing = true;
      registry.stop().then(reraise, reraise);
    };
    onSignal[EXIT_FLUSH_MARK] = true;
    process.prependListener(signal, onSignal);
  }
}
