/**
 * What every SpectatorD transport shares: how often a failed socket is tried again, how much may
 * wait or be under way before batches are dropped, and the bounded wait for sends to complete.
 */

/** After a socket could not be set up, wait this long before trying again (lines meanwhile are dropped). */
export const RETRY_MS = 1000;

/** Batches kept while a socket is being set up (UDP connecting, the unix addon loading); more are dropped. */
export const MAX_QUEUED_BATCHES = 64;

/**
 * Bytes handed to a datagram socket whose send has not completed; any more are dropped. Sends
 * complete at once on a healthy socket, but Node reports it (and lets go of the buffer) only when
 * the event loop turns, and a unix datagram socket whose reader is slow holds sends back: this
 * bounds the memory a long synchronous burst, or a backed-up socket, can hold.
 */
export const MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

/** Bytes a stream socket may hold unwritten before batches are dropped. */
export const MAX_STREAM_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * Waits until `idle()` or the deadline (epoch ms), checking every few milliseconds. The timer is
 * ref'd on purpose: `await registry.stop()` as a script's last statement must settle, and the
 * wait is short (sends complete in microseconds) and bounded.
 */
export async function settle(idle: () => boolean, deadline: number): Promise<void> {
  while (!idle() && Date.now() < deadline) {
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(1, Math.min(5, deadline - Date.now()))),
    );
  }
}

/** An `Error` carrying an errno-style `code`, for failures that arrive without one. */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
