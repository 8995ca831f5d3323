import assert from 'node:assert/strict';
import { test } from 'node:test';

import { displayFile, lineStarts, parseCodeName, SourceLines } from '../dist/symbolize.js';
import { NativeSymbols, shortCppName } from '../dist/native-symbols.js';

test('parseCodeName reads V8 JS names with tiers, anonymous functions and spaces', () => {
  assert.deepEqual(parseCodeName('JS:~main /work/app.js:28:14'), {
    kind: 'js', name: 'main', url: '/work/app.js', line: 28, column: 14, tier: 'interpreted',
  });
  assert.equal(parseCodeName('JS:*calc /a.js:1:2').tier, 'optimized');
  assert.equal(parseCodeName('JS:^calc /a.js:1:2').tier, 'baseline');
  assert.equal(parseCodeName('JS:+calc /a.js:1:2').tier, 'maglev');
  assert.deepEqual(parseCodeName('JS:~ /work/app.js:1:1'), {
    kind: 'js', name: '(anonymous)', url: '/work/app.js', line: 1, column: 1, tier: 'interpreted',
  });
  const getter = parseCodeName('JS:~get size /work/my dir/app.js:7:3');
  assert.equal(getter.name, 'get size');
  assert.equal(getter.url, '/work/my dir/app.js');
  const internal = parseCodeName('JS:~readFileSync node:fs:441:22');
  assert.equal(internal.kind, 'node');
  assert.equal(internal.url, 'node:fs');
  // A string key names its function, line breaks and U+2028 included.
  const broken = parseCodeName('JS:~a\nb\u2028c\r\nd /srv/app.js:4:5');
  assert.equal(broken.name, 'a\nb\u2028c\r\nd');
  assert.equal(broken.url, '/srv/app.js');
  assert.equal(parseCodeName('JS:~x\ny app.js:4:5').url, 'app.js');
  const esm = parseCodeName('JS:*handler file:///srv/app.mjs:3:20');
  assert.equal(esm.url, 'file:///srv/app.mjs');
  const script = parseCodeName('Script:~ /work/app.js');
  assert.equal(script.url, '/work/app.js');
  assert.equal(script.line, 1);
  assert.deepEqual(parseCodeName('Builtin:JSONParse'), { kind: 'builtin', name: 'Builtin:JSONParse' });
  assert.equal(parseCodeName('BytecodeHandler:Add').kind, 'bytecode-handler');
  assert.equal(parseCodeName('RegExp:a;b').kind, 'regexp');
  assert.equal(parseCodeName('').name, '(unnamed code)');
});

test('displayFile: relative under cwd (including names starting with ".."), absolute outside', () => {
  assert.equal(displayFile('/app/src/x.js', '/app'), 'src/x.js');
  assert.equal(displayFile('/app/..cache/x.js', '/app'), '..cache/x.js');
  assert.equal(displayFile('/other/x.js', '/app'), '/other/x.js');
  assert.equal(displayFile('file:///app/src/x.mjs', '/app'), 'src/x.mjs');
  assert.equal(displayFile('node:internal/timers', '/app'), 'node:internal/timers');
  assert.equal(displayFile('[eval]', '/app'), '[eval]');
});

test('lineStarts follows V8 line terminators', () => {
  assert.deepEqual(lineStarts('a\r\nb\rc\u2028d\ne'), [0, 3, 5, 7, 9]);
  const lines = new SourceLines(() => 'a\r\nb\rc\u2028d\ne');
  assert.deepEqual([0, 3, 5, 7, 9].map((o) => lines.lineAt('/x.js', o)), [1, 2, 3, 4, 5]);
  assert.equal(lines.lineAt('node:fs', 3), undefined, 'no source for internals');
  const failing = new SourceLines(() => {
    throw new Error('ENOENT');
  });
  assert.equal(failing.lineAt('/gone.js', 0), undefined);
});

test('shortCppName drops parameters and qualifiers, keeps anonymous namespaces', () => {
  assert.equal(shortCppName('node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)'), 'node::fs::Read');
  assert.equal(shortCppName('v8::internal::Heap::Scavenge() const'), 'v8::internal::Heap::Scavenge');
  assert.equal(shortCppName('(anonymous namespace)::Helper(int)'), '(anonymous namespace)::Helper');
  assert.equal(shortCppName('__libc_read'), '__libc_read');
});

test('NativeSymbols caches a whole symbol range and names the shared object', () => {
  const calls = [];
  const symbols = new NativeSymbols((address) => {
    calls.push(address);
    if (address >= 0x1000 && address < 0x1100) return { object: '/lib/libc.so.6', symbol: 'read(int)', start: 0x1000, size: 0x100 };
    if (address === 0x5000) return { object: '/usr/bin/node' };
    return null;
  });
  assert.deepEqual(symbols.frame(0x1010), { name: 'read [libc.so.6]', kind: 'native' });
  assert.deepEqual(symbols.frame(0x10ff), { name: 'read [libc.so.6]', kind: 'native' });
  assert.deepEqual(symbols.frame(0x5000), { name: '(native) [node]', kind: 'native' });
  assert.equal(symbols.frame(0x9000), undefined);
  assert.equal(symbols.frame(0x9000), undefined);
  assert.deepEqual(calls, [0x1010, 0x5000, 0x9000], 'one lookup per symbol or unknown address');
});
