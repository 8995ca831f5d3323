// npm run demo: profiles examples/calc.js through the preload in line mode, prints where the time
// went (the split between main's two calc() calls and the hottest functions) and writes the HTML
// flame graph next to the folded stacks.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { childrenOf, functionShares } = require(path.join(root, 'dist/delivery/summary.js'));
const { readProfile, renderProfile } = require(path.join(root, 'dist/formats/render.js'));

const output = path.resolve('sfprof-demo.folded');
const started = Date.now();
const child = spawnSync(process.execPath, ['-r', path.join(root, 'dist/bundle/auto.js'), path.join(root, 'examples/calc.js')], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, SFPROF_INTERVAL: '1ms', SFPROF_LINES: '1', SFPROF_OUTPUT: output, CALC_SCALE: process.env.CALC_SCALE ?? '1' },
});
if (child.status !== 0) {
  console.error(`demo: examples/calc.js exited with ${child.status ?? child.signal}`);
  process.exit(1);
}
const profile = readProfile(readFileSync(output), output);
const total = profile.totalSamples;
console.log(`\nProfiled examples/calc.js in ${((Date.now() - started) / 1000).toFixed(1)} s: ${total} samples, 1 ms interval, line mode.\n`);

const underMain = [...childrenOf(profile, (f) => f.startsWith('(anonymous) (') && f.includes('calc.js'))]
  .filter(([f]) => f.startsWith('main ('))
  .sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }));
const mainTotal = underMain.reduce((sum, [, n]) => sum + n, 0);
if (mainTotal > 0) {
  console.log('main() by call site (line mode splits one function by the line executing in it):');
  for (const [frame, samples] of underMain) {
    console.log(`  ${String(samples).padStart(6)}  ${((100 * samples) / mainTotal).toFixed(1).padStart(5)}%  ${frame}`);
  }
  console.log(`  (calc(200_000) does twice the work of calc(100_000): expect about 67% / 33%)\n`);
}
console.log('Hottest frames by self samples:');
for (const { label, self } of functionShares(profile).slice(0, 8)) {
  console.log(`  ${String(self).padStart(6)}  ${((100 * self) / total).toFixed(1).padStart(5)}%  ${label}`);
}
const html = path.resolve('sfprof-demo.html');
writeFileSync(html, renderProfile(profile, 'html', { title: 'sfprof demo: examples/calc.js' }));
console.log(`\nFlame graph: ${html} (open it in a browser)`);
console.log(`Folded stacks: ${output} (flamegraph.pl, speedscope, or: npx sfprof report ${path.basename(output)} -o demo.pb.gz)`);
