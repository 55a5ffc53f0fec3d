// `check-package` step: every class of a package's build is defined once per format. A build that
// bundles each entry point on its own puts a copy of every shared class into each entry's file
// (core once shipped four), and `instanceof` then fails between objects of two entry points.
// Reads dist/*.mjs and dist/*.cjs as esbuild writes them: `var Name = class …` or `class Name`.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const definition =
  /(?:^|\n)\s*(?:var\s+([A-Za-z_$][\w$]*)\s*=\s*class\b|class\s+([A-Za-z_$][\w$]*))/g;
let problems = 0;
const counts = [];
for (const extension of ['.mjs', '.cjs']) {
  const seen = new Map();
  for (const name of readdirSync(dist).filter((file) => file.endsWith(extension))) {
    const text = readFileSync(join(dist, name), 'utf8');
    for (const match of text.matchAll(definition)) {
      const cls = match[1] ?? match[2];
      seen.set(cls, [...(seen.get(cls) ?? []), name]);
    }
  }
  for (const [cls, files] of seen) {
    if (files.length > 1) {
      console.error(
        `class ${cls} is defined ${files.length} times in ${extension}: ${files.join(', ')}`,
      );
      problems++;
    }
  }
  counts.push(`${seen.size} in ${extension}`);
}
if (problems > 0) process.exit(1);
console.log(`check-single-definitions: each class defined once per format (${counts.join(', ')})`);
