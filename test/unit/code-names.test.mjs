// The name parser against the code names each supported Node really reports (recorded from the
// runtimes by scripts/record-code-names.mjs into test/golden/code-names/): every function keeps its
// own name whatever tier marker V8 puts before it, and its tier is read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { parseCodeName } from '../../dist/pipeline/symbolize.js';
import { root } from '../lib/helpers.mjs';

const SUPPORTED = [20, 22, 24, 26];
const SCRIPT = '/app/code-names.js';
// Every function test/fixtures/code-names.js defines or calls by name, and what V8 calls the rest.
const DECLARED = new Set(['interpretedOnly', 'baselineFn', 'maglevFn', 'turbofanFn', 'osrLoop', 'Shape', 'area', 'get size', '#secret',
  'reveal', 'quoted name', 'hot', 'collect', 'native', 'evalDeclared', '(anonymous)']);

function recorded(major) {
  const file = path.join(root, 'test', 'golden', 'code-names', `node${major}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  return { ...data, names: data.names.map((name) => name.split('<fixture>').join(SCRIPT)) };
}

/** The tiers each function was seen in. */
function tiersByFunction(names) {
  const tiers = new Map();
  for (const raw of names) {
    const parsed = parseCodeName(raw);
    if (parsed.kind !== 'js' || parsed.url !== SCRIPT) continue;
    if (!tiers.has(parsed.name)) tiers.set(parsed.name, new Set());
    tiers.get(parsed.name).add(parsed.tier);
  }
  return tiers;
}

test('a golden file of real names for every supported Node, recorded by that Node', () => {
  for (const major of SUPPORTED) {
    const data = recorded(major);
    assert.equal(Number(data.node.slice(1).split('.')[0]), major, `node${major}.json was recorded by ${data.node}`);
    assert.ok(data.names.length >= 25, `node${major}.json has ${data.names.length} names`);
  }
});

for (const major of SUPPORTED) {
  test(`Node ${major}: every function keeps its own name and script, whatever the marker`, () => {
    const { names } = recorded(major);
    let js = 0;
    for (const raw of names) {
      if (!raw.includes(SCRIPT) || raw.startsWith('Script:')) continue;
      const parsed = parseCodeName(raw);
      js++;
      assert.equal(parsed.kind, 'js', raw);
      assert.ok(DECLARED.has(parsed.name), `${raw} → ${JSON.stringify(parsed.name)}`);
      assert.equal(parsed.url, SCRIPT, raw);
      assert.ok(parsed.tier !== undefined, `${raw}: no tier read`);
    }
    assert.ok(js >= 20, `${js} JS names`);
    const evalDeclared = names.map(parseCodeName).find((p) => p.name === 'evalDeclared');
    assert.ok(evalDeclared, 'eval code is named');
  });

  test(`Node ${major}: tiers are read (interpreted, baseline, optimized; maglev where V8 has it)`, () => {
    const tiers = tiersByFunction(recorded(major).names);
    assert.deepEqual([...tiers.get('interpretedOnly')], ['interpreted']);
    assert.ok(tiers.get('baselineFn').has('baseline'));
    assert.ok(tiers.get('turbofanFn').has('optimized'));
    // The loop's on-stack-replaced code (Node 26 marks it "o*") counts as optimized.
    assert.ok(tiers.get('osrLoop').has('optimized'));
    if (major >= 24) assert.ok(tiers.get('maglevFn').has('maglev'), 'Node 24+ runs Maglev');
    else assert.ok(!tiers.get('maglevFn').has('maglev'), 'Maglev is off in Node 20 and 22');
  });

  test(`Node ${major}: regexp code is named by its source, builtins by theirs`, () => {
    const parsed = recorded(major).names.map(parseCodeName);
    assert.ok(parsed.some((p) => p.kind === 'regexp' && p.name === 'RegExp:(a+)+b[0-9]{2,}'), 'the regexp');
    assert.ok(parsed.some((p) => p.kind === 'builtin' && p.name === 'Builtin:ArrayMap'));
    assert.ok(!parsed.some((p) => p.kind === 'native' && p.name.startsWith('RegExp')), 'no regexp taken for native code');
  });
}
