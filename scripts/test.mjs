// `npm test`: everything a fresh machine with only Node and npm needs to run every test:
// install from the lockfile, build every package (tests run against the built ESM/CJS output
// where it matters), then run each package's tests through turbo.
import { install, run } from './lib.mjs';

install();
run('turbo', [
  'run',
  'build',
  'test',
  '--continue',
  '--output-logs=new-only',
  ...process.argv.slice(2),
]);
