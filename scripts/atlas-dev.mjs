// `npm run atlas-dev -- [--port 7101] [--quiet] …`: the local Atlas endpoint (the
// `spectator-atlas-dev` command of @spectator/atlas-dev) from this repository, where `npx
// spectator-atlas-dev` would look for a package of that name on the registry instead: the
// root has no such bin. Installs and builds @spectator/atlas-dev first when that has not been done.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { env, root, run } from './lib.mjs';

const cli = join(root, 'packages/atlas-dev/dist/cli.mjs');
if (!existsSync(cli)) {
  if (!existsSync(join(root, 'node_modules/.bin/turbo'))) {
    // What the endpoint's build needs, and nothing else (see installFor in scripts/demo.mjs).
    run('npx', [
      '-y',
      'pnpm@10',
      'install',
      '--frozen-lockfile',
      '--filter=@spectator/atlas-dev...',
      '--filter=spectator-nodejs',
    ]);
  }
  // JavaScript only, as the demo builds it: the command needs no declarations.
  run('turbo', ['run', 'build', '--filter=@spectator/atlas-dev', '--output-logs=errors-only'], {
    env: { ...env, SPECTATOR_BUILD_DTS: '0' },
  });
}
await import(pathToFileURL(cli).href);
