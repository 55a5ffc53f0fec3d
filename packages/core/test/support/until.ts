/**
 * Waits until `predicate` holds, polling every 10 ms; throws once `timeoutMs` has passed (a
 * deadline only a broken component reaches: it turns a hang into a message).
 */
export async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
