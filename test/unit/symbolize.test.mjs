import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import { lineStarts, parseCodeName, SourceLines } from '../../dist/pipeline/symbolize.js';
import { displayFile } from '../../dist/pipeline/script-file.js';
import { loadNative } from '../../dist/native/binding.js';
import { NativeSymbols, shortCppName } from '../../dist/pipeline/native-symbols.js';

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

test('NativeSymbols caches a whole unnamed gap between symbols as one range', () => {
  const calls = [];
  const symbols = new NativeSymbols((address) => {
    calls.push(address);
    return { object: '/usr/bin/node', start: 0x2000, size: 0x800 };
  });
  assert.deepEqual(symbols.frame(0x2100), { name: '(native) [node]', kind: 'native' });
  assert.deepEqual(symbols.frame(0x27ff), { name: '(native) [node]', kind: 'native' });
  assert.deepEqual(calls, [0x2100]);
});

// Linux: it reads /proc/self/maps, and the symbol tables are symbol_table_linux.cc's (macOS answers
// with dladdr alone, without sizes).
test('the binding names addresses in loaded objects from their symbol tables: each answer covers its address', { skip: process.platform !== 'linux' && 'reads /proc/self/maps and the Linux symbol tables' }, () => {
  const binding = loadNative();
  const text = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    // libc: a shared object with thousands of symbols and unnamed code between them. (Node maps
    // parts of its own binary outside its loaded segments, where no object is expected.)
    .filter((line) => / r-xp /.test(line) && /\/libc[.-][^/]*$/.test(line))
    .map((line) => line.split(' ')[0].split('-').map((hex) => parseInt(hex, 16)));
  assert.equal(text.length, 1, 'libc has one text mapping');
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let named = 0;
  let gaps = 0;
  for (let i = 0; i < 400; i++) {
    const [low, high] = text[i % text.length];
    const address = low + Math.floor(random() * (high - low));
    const found = binding.nativeSymbol(address);
    assert.ok(found && found.object, `an object for 0x${address.toString(16)}`);
    assert.ok(found.start <= address, `0x${address.toString(16)} at or after its range`);
    if (found.symbol) {
      named++;
      assert.ok(found.size === 0 ? address === found.start : address < found.start + found.size, found.symbol);
    } else {
      gaps++;
      assert.ok(address < found.start + found.size, 'inside the unnamed gap');
      // Every address of the gap gets the same answer, so caching the range is right.
      for (const other of [found.start, found.start + found.size - 1]) {
        const again = binding.nativeSymbol(other);
        assert.equal(again.symbol, undefined);
        assert.deepEqual([again.start, again.size], [found.start, found.size]);
      }
    }
  }
  assert.ok(named > 20 && gaps > 20, `both kinds seen (named ${named}, gaps ${gaps})`);
  assert.equal(binding.nativeSymbol(8), null, 'an address in no object');
});


// Linux: Node's own table is scanned in the file for the first lookups, and sorted into a table for
// later ones (symbol_table.h); a frame must get the same name whichever way it was looked up.
test("a scan of Node's symbol table and the sorted table give the same answer for every address", { skip: process.platform !== 'linux' && 'the Linux symbol tables' }, () => {
  const binding = loadNative();
  const text = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => / r-xp /.test(line) && line.endsWith(` ${process.execPath}`))
    .map((line) => line.split(' ')[0].split('-').map((hex) => parseInt(hex, 16)))
    // Only its loaded segments: Node also maps a copy of part of its code elsewhere.
    .filter(([low]) => binding.nativeSymbol(low, 'table')?.object === fs.realpathSync(process.execPath));
  assert.ok(text.length >= 1, 'the executable has code mapped');
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const addresses = [];
  for (let i = 0; i < 200; i++) {
    const [low, high] = text[i % text.length];
    addresses.push(low + Math.floor(random() * (high - low)));
  }
  let named = 0;
  let gaps = 0;
  for (const address of addresses) {
    const table = binding.nativeSymbol(address, 'table');
    assert.ok(table && table.object, `an object for 0x${address.toString(16)}`);
    if (table.symbol) named++;
    else gaps++;
    // The address, and the edges of its symbol or gap: where a neighbour's answer begins.
    const edges = table.size > 0 ? [table.start, table.start + table.size - 1, table.start + table.size] : [table.start];
    for (const at of [address, ...edges]) {
      assert.deepEqual(binding.nativeSymbol(at, 'scan'), binding.nativeSymbol(at, 'table'), `0x${at.toString(16)}`);
    }
  }
  assert.ok(named > 20 && gaps > 0, `both kinds seen (named ${named}, gaps ${gaps})`);
});
