/**
 * `ipc.status` values of Netflix's common IPC metrics: Java Spectator's `IpcStatus` (there is no
 * `not_found`: a 404 is `success`). See `docs/ipc-metrics.md` in the repository.
 */
export type IpcStatus =
  | 'success'
  | 'bad_request'
  | 'unexpected_error'
  | 'connection_error'
  | 'unavailable'
  | 'throttled'
  | 'timeout'
  | 'cancelled'
  | 'access_denied'
  | 'application_error';

/** `ipc.result` values; only `success` status maps to `success`. */
export type IpcResult = 'success' | 'failure';

/**
 * How HTTP statuses map to `ipc.status`: `netflix` treats 503 as 429 (`throttled`), `standard`
 * maps 503 to `unavailable`.
 */
export type IpcStatusMode = 'netflix' | 'standard';

/**
 * Maps an HTTP status to `ipc.status` by the Netflix convention: 503 is treated as 429 first
 * (unless `standard`), then 200 → success; 401, 402, 403, 407, 511 → access_denied; 404 → success;
 * 405, 406 → bad_request; 408 → timeout; 429 → throttled; other < 100 → unexpected_error; other
 * < 400 → success; other < 500 → bad_request; the rest → unexpected_error.
 */
export function ipcStatusForHttpStatus(status: number, mode: IpcStatusMode = 'netflix'): IpcStatus {
  if (status === 503) {
    if (mode === 'standard') return 'unavailable';
    status = 429;
  }
  switch (status) {
    case 200:
    case 404:
      return 'success';
    case 401:
    case 402:
    case 403:
    case 407:
    case 511:
      return 'access_denied';
    case 405:
    case 406:
      return 'bad_request';
    case 408:
      return 'timeout';
    case 429:
      return 'throttled';
  }
  if (status < 100) return 'unexpected_error';
  if (status < 400) return 'success';
  if (status < 500) return 'bad_request';
  return 'unexpected_error';
}

/** `ipc.result` for an `ipc.status`. */
export function ipcResultFor(status: IpcStatus): IpcResult {
  return status === 'success' ? 'success' : 'failure';
}
