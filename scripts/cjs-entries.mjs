// Build step of a package with several entry points (see tsup.base.ts): writes the CommonJS file
// of every entry point the package exports (`exports[…].require.default`, `./dist/<entry>.cjs`),
// a one-line re-export of that entry's part of the one CommonJS bundle (dist/cjs-bundle.cjs,
// whose source exports each entry as a camel-cased namespace: `ipc-client` → `ipcClient`), so
// that every class exists once in the CommonJS build too.
import { readFileSync, writeFileSync } from 'node:fs';

const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
const { exports } = JSON.parse(readFileSync('package.json', 'utf8'));
const files = Object.values(exports)
  .map((target) => target?.require?.default)
  .filter((file) => typeof file === 'string' && /^\.\/dist\/[\w-]+\.cjs$/.test(file));
for (const file of files) {
  const entry = file.slice('./dist/'.length, -'.cjs'.length);
  writeFileSync(
    file,
    `'use strict';\n// The ${entry} entry point: its part of the one CommonJS bundle.\n` +
      `module.exports = require('./cjs-bundle.cjs').${camel(entry)};\n`,
  );
}
console.log(`cjs-entries: ${files.length} entry stubs`);
