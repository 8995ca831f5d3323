// Records the code names the running Node's V8 reports (test/fixtures/code-names.js) into
// test/golden/code-names/node<major>.json, the golden files the name parser is checked against:
//   node scripts/record-code-names.mjs          (with the addon built for this Node)
// Run it with each supported Node after building the addon against that Node's headers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-names-')), 'names.json');
// The names go to a file: some natives print to stdout ("Maglev is not enabled.").
const run = spawnSync(process.execPath, ['--allow-natives-syntax', path.join(root, 'test', 'fixtures', 'code-names.js'), scratch], { encoding: 'utf8' });
if (run.status !== 0) {
  console.error(run.stderr);
  process.exit(1);
}
const recorded = JSON.parse(fs.readFileSync(scratch, 'utf8'));
fs.rmSync(path.dirname(scratch), { recursive: true, force: true });
const major = process.versions.node.split('.')[0];
const file = path.join(root, 'test', 'golden', 'code-names', `node${major}.json`);
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, JSON.stringify(recorded, null, 1) + '\n');
console.log(`${path.relative(root, file)}: ${recorded.names.length} names from Node ${recorded.node} (V8 ${recorded.v8})`);
