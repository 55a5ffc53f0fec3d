/**
 * Resolves once `check()` holds, polling every 5 ms (for states no publish request has finished
 * yet, which `waitFor` does not look at). The deadline only turns a hang into a message: a busy
 * machine may need many seconds.
 */
export async function until(check: () => boolean, timeoutMs = 45_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
