// Build step after tsup (`tsup && node ../../scripts/esm-declarations.mjs`): tsup writes the
// ESM declarations as dist/*.d.ts and ignores outExtension for them. In a `"type": "module"`
// package those would do for `import`, but the exports map wants explicit .d.mts beside .d.cts.
// This renames each dist/*.d.ts to .d.mts and points its relative imports of shared chunks
// ('./registry-XYZ.js') at '.mjs', so they resolve to the renamed chunk declarations.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const relativeJs = /((?:from|import)\s*\(?\s*['"])(\.\.?\/[^'"]+)\.js(['"])/g;

const files = readdirSync(dist).filter((name) => name.endsWith('.d.ts'));
if (process.env.SPECTATOR_BUILD_DTS === '0') process.exit(0); // a JavaScript-only build (tsup.base.ts)
if (files.length === 0) {
  console.error(`esm-declarations: no .d.ts files in ${dist}`);
  process.exit(1);
}
for (const name of files) {
  const from = join(dist, name);
  const text = readFileSync(from, 'utf8').replace(relativeJs, '$1$2.mjs$3');
  writeFileSync(from.replace(/\.d\.ts$/, '.d.mts'), text);
  rmSync(from);
}
console.log(`esm-declarations: ${files.length} .d.ts → .d.mts in ${dist}`);
