// The publish timeouts of core's tests, by what a test needs of them on a loaded machine (two
// busy cores, every package's suite at once).

/**
 * `timeoutMs` of the registries of tests that are not about timeouts. The local endpoint runs in
 * the test's own process, which a loaded machine can keep from answering for seconds; a publish
 * cut short there counts its batch as dropped (`http-error`) and fails a test about something
 * else. Tests of timeouts use an endpoint that hangs, never a slow machine.
 */
export const PATIENT_TIMEOUT_MS = 60_000;

/**
 * `timeoutMs` of tests of a timeout that need the request to have been written before it fires
 * (it arrived at the endpoint; it is not retried, being provably sent). With 200–300 ms, two busy
 * cores let the timeout fire before the request left (seen three times); still far below a step.
 */
export const SENT_BEFORE_TIMEOUT_MS = 2000;
