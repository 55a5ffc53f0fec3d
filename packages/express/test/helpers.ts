// Express's part of the test support; the framework-independent part (servers on 127.0.0.1:0,
// raw requests, the Atlas endpoint's measurements) is @spectator/test-support, re-exported here.
import express4 from 'express4';
import express5 from 'express5';

export * from '@spectator/test-support';

/** Both majors, for `describe.each`. */
export const EXPRESS_MAJORS = [
  { major: 4, express: express4 },
  { major: 5, express: express5 },
] as const;
