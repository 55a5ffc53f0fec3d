// `check-package` step: the packed size of the package in the current directory stays within a
// budget (`node check-pack-size.mjs <max KB>`), so that what every production install downloads
// cannot grow unnoticed (core once packed to 1.2 MB, mostly copies of itself and source maps).
import { execFileSync } from 'node:child_process';

const budgetKb = Number(process.argv[2]);
if (!(budgetKb > 0)) {
  console.error('usage: node check-pack-size.mjs <max packed size in KB>');
  process.exit(2);
}
const [pack] = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }),
);
const kb = pack.size / 1000;
if (kb > budgetKb) {
  console.error(`${pack.name}: packed ${kb.toFixed(1)} KB, over its budget of ${budgetKb} KB`);
  process.exit(1);
}
console.log(
  `${pack.name}: packed ${kb.toFixed(1)} KB (budget ${budgetKb} KB), ${pack.entryCount} files`,
);
