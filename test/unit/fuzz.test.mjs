// Property tests (fast-check) of every parser a user can feed:
//   - the folded, pprof (gzipped and raw) and .cpuprofile readers and readProfile's format detection,
//     on random text and bytes, on pprof and .cpuprofile documents with random fields, and on golden
//     and freshly written files cut short or with bytes flipped: a sane Profile or an InputError
//     naming the problem, nothing else;
//   - writer → reader round trips of random profiles (hostile frame names) in folded, pprof and
//     .cpuprofile: per-stack sample totals survive;
//   - SFPROF_* variables, start()'s options and the CLI's argv: a valid result or an OptionError
//     naming the option, the value and what is allowed, nothing else.
//
// A failing property prints its seed and counterexample path. To replay only that one:
//   FUZZ_SEED=<seed> FUZZ_PATH=<path> node --test --test-name-pattern='<test name>' test/unit/fuzz.test.mjs
// FUZZ_RUNS=<n> runs every property n times (for a longer hunt; the default keeps the file fast).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import fc from 'fast-check';
import { Function as PprofFunction, Line, Location, Profile as PprofProfile, Sample, StringTable, ValueType } from 'pprof-format';

import { parseCommandLine, recordEnv } from '../../dist/cli/args.js';
import { detectFormat, FORMATS, readProfile, renderProfile } from '../../dist/formats/render.js';
import { OptionError } from '../../dist/config/option-error.js';
import { optionsFromEnv } from '../../dist/config/env.js';
import { resolveOptions } from '../../dist/config/options.js';
import { Profile } from '../../dist/model/profile.js';
import { readCpuProfile } from '../../dist/formats/readers/cpuprofile.js';
import { readFolded } from '../../dist/formats/readers/folded.js';
import { InputError } from '../../dist/formats/readers/input-error.js';
import { readPprof } from '../../dist/formats/readers/pprof.js';
import { displayFile } from '../../dist/pipeline/script-file.js';
import { writeCpuProfile } from '../../dist/formats/writers/cpuprofile.js';
import { frameLabel, writeFolded } from '../../dist/formats/writers/folded.js';
import { encodePprof, writePprof } from '../../dist/formats/writers/pprof.js';
import { root } from '../lib/helpers.mjs';
import { buildTimedProfile, emptyProfile } from '../lib/profiles.mjs';

const RUNS = Number(process.env.FUZZ_RUNS) || undefined;
const replay = process.env.FUZZ_SEED !== undefined
  ? { seed: Number(process.env.FUZZ_SEED), path: process.env.FUZZ_PATH, endOnFailure: true }
  : {};

/** fc.assert with this file's run count; FUZZ_SEED/FUZZ_PATH replay a reported failure. */
function check(property, numRuns) {
  fc.assert(property, { numRuns: RUNS ?? numRuns, includeErrorInReport: true, ...replay });
}

// A hang fails the test instead of stalling the run; no property comes near this.
const LIMIT = { timeout: 120_000 };

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Any UTF-16 code unit, lone surrogates included (fc's 'binary' unit never makes those). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** Pieces that mean something to one of the formats, a terminal or a browser. */
const HOSTILE = [
  ';', '\n', '\r\n', '\r', '"', "'", '\\', '<script>', '</script>', '\0', '\t', '\x7f', '😀', '\uD83D', '\uDE00', '\uFFFD',
  '\u2028', '\u2029', '\u0085', ' ', '  ', '(', ')', ' (', ' ()', ':', ':12', ':007', ':0', ' (a.js:1)', ' (x)', '_[j]', '_[i]',
  '[worker 1]', '(anonymous)', 'Builtin:', 'node:', 'file:///', '%', '%41', '/', '..', '.', '{', '}', '1', '0',
];
const hostilePiece = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 3 },
  { arbitrary: fc.string({ unit: codeUnit, maxLength: 6 }), weight: 1 },
  { arbitrary: fc.constantFrom(...HOSTILE), weight: 3 },
);
/** Frame names: full unicode and the characters folded, JSON, HTML and protobuf care about; ≤200 units. */
const frameName = fc.array(hostilePiece, { maxLength: 10 }).map((parts) => parts.join('').slice(0, 200));

/** A path segment: anything without a "/", and not "" or a dot segment (paths get normalised). */
const segment = fc.string({ unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), codeUnit, fc.constantFrom(...HOSTILE)), minLength: 1, maxLength: 8 })
  .map((s) => s.replaceAll('/', '_'))
  .filter((s) => s !== '.' && s !== '..');
const fileName = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
  segment.map((s) => `node:${s}`),
).map((file) => file.slice(0, 200));

const frameArb = fc.record({
  name: frameName,
  file: fc.option(fileName, { nil: undefined }),
  line: fc.option(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { nil: undefined }),
  startLine: fc.option(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { nil: undefined }),
  kind: fc.constantFrom('js', 'node', 'builtin', 'native', 'synthetic', 'gc', 'thread'),
  tier: fc.option(fc.constantFrom('interpreted', 'baseline', 'maglev', 'optimized'), { nil: undefined }),
});

/** Frames and stacks (frame indices root first, with counts) from which a Profile is built. */
function profileSpec(maxCount) {
  return fc.record({
    frames: fc.array(frameArb, { minLength: 1, maxLength: 8 }),
    stacks: fc.array(
      fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), count: fc.integer({ min: 1, max: maxCount }) }),
      { minLength: 1, maxLength: 10 },
    ),
    intervalUs: fc.constantFrom(0, 100, 1000, 10_000),
  });
}

function buildProfile(spec) {
  const profile = emptyProfile({ cwd: process.cwd(), intervalUs: spec.intervalUs });
  const ids = spec.frames.map((frame) => {
    const clean = { name: frame.name, kind: frame.kind };
    for (const key of ['file', 'line', 'startLine', 'tier']) if (frame[key] !== undefined) clean[key] = frame[key];
    return profile.internFrame(clean);
  });
  for (const stack of spec.stacks) profile.addStack(stack.path.map((i) => ids[i % ids.length]), stack.count);
  return profile;
}

// ---------------------------------------------------------------------------------------------
// What every reader must give back

const isCount = (n) => Number.isSafeInteger(n) && n >= 0;
const isLine = (n) => n === undefined || (Number.isSafeInteger(n) && n >= 1);

/** A profile a reader returned: in-range ids, whole counts, finite metadata, and every format renders. */
function checkProfile(profile) {
  assert.ok(profile instanceof Profile, 'a Profile');
  for (const frame of profile.frames) {
    assert.equal(typeof frame.name, 'string');
    assert.equal(typeof frame.kind, 'string');
    assert.ok(frame.file === undefined || typeof frame.file === 'string', `file ${frame.file}`);
    assert.ok(isLine(frame.line) && isLine(frame.startLine), `lines ${frame.line} ${frame.startLine}`);
    assert.ok(frame.column === undefined || (Number.isSafeInteger(frame.column) && frame.column >= 1), `column ${frame.column}`);
  }
  let total = 0;
  for (const [index, stack] of profile.stackList.entries()) {
    assert.equal(stack.id, index);
    assert.ok(stack.frames.length > 0, 'a stack has frames');
    for (const id of stack.frames) assert.ok(Number.isInteger(id) && id >= 0 && id < profile.frames.length, `frame id ${id}`);
    assert.ok(isCount(stack.count) && stack.count > 0, `count ${stack.count}`);
    assert.ok(isCount(stack.unweighted) && stack.unweighted <= stack.count, `unweighted ${stack.unweighted}`);
    assert.ok(Number.isFinite(stack.cpuNs) && stack.cpuNs >= 0, `cpuNs ${stack.cpuNs}`);
    total += stack.count;
  }
  assert.ok(isCount(total), `total ${total}`);
  const m = profile.metadata;
  for (const key of ['startTime', 'durationNs', 'intervalUs']) assert.ok(Number.isFinite(m[key]), `metadata.${key} ${m[key]}`);
  assert.ok(m.durationNs >= 0 && m.intervalUs >= 0, `duration ${m.durationNs}, interval ${m.intervalUs}`);
  assert.ok(m.sampleWeightNs === undefined || (Number.isFinite(m.sampleWeightNs) && m.sampleWeightNs > 0), `weight ${m.sampleWeightNs}`);
  for (const [key, value] of Object.entries(m.drops)) assert.ok(isCount(value), `drops.${key} ${value}`);
  assert.ok(isCount(m.pid), `pid ${m.pid}`);
  for (let i = 0; i < profile.timeline.length; i++) {
    assert.ok(profile.timeline.stackIdAt(i) < profile.stackList.length);
    assert.ok(Number.isFinite(profile.timeline.timeNsAt(i)));
  }
  // What `sfprof report` does next: any profile read must render in every format. (A .cpuprofile
  // holds up to a million samples, too slow to write for every run; its writer's bound is tested
  // elsewhere.)
  for (const format of FORMATS) {
    if (format !== 'cpuprofile' || total <= 100_000) renderProfile(profile, format, { tiers: true, title: 't' });
  }
  assert.equal(readFolded(writeFolded(profile)).totalSamples, total);
}

/**
 * Runs a reader: its result must be a sane Profile, or it must throw an InputError whose message
 * says what was wrong (with `prefix`, as readProfile names the input and its format).
 */
function readsOrRejects(read, prefix) {
  let profile;
  try {
    profile = read();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    assert.equal(error.name, 'InputError');
    if (prefix) assert.ok(prefix.test(error.message), `message ${JSON.stringify(error.message)} does not match ${prefix}`);
    assert.ok(error.message.replace(prefix ?? '', '').length >= 10, `says what was wrong: ${JSON.stringify(error.message)}`);
    return 'rejected';
  }
  checkProfile(profile);
  return 'read';
}

const NAME = 'in/put.file';
/** readProfile names the input and the format it detected before saying what is wrong. */
const PREFIX = new RegExp(`^in/put\\.file \\((${FORMATS.join('|')})\\): .`);
const readAny = (bytes) => readsOrRejects(() => readProfile(bytes, NAME), PREFIX);

// ---------------------------------------------------------------------------------------------
// Readers on random and damaged input

const golden = (name) => fs.readFileSync(path.join(root, 'test', 'golden', name));
const timedPprof = writePprof(buildTimedProfile());
/** Valid files of every readable format: golden ones and ones the writers made. */
const VALID = {
  'basic.folded': golden('basic.folded'),
  'timed.cpuprofile': golden('timed.cpuprofile'),
  'written folded': Buffer.from(writeFolded(buildTimedProfile(), { tiers: true })),
  'written cpuprofile': Buffer.from(writeCpuProfile(buildTimedProfile())),
  'written pprof (gzip)': timedPprof,
  'written pprof (raw)': gunzipSync(timedPprof),
};

/** Files of other kinds that readProfile must turn away with an InputError. */
const OTHER = {
  'basic.html-data.json': golden('basic.html-data.json'),
  'timed.pprof.json': golden('timed.pprof.json'),
  'written html': Buffer.from(renderProfile(buildTimedProfile(), 'html', { title: 't' })),
};

/** A file (valid or not) cut at a random offset and with a few bytes flipped or replaced. */
const damaged = fc.record({
  file: fc.constantFrom(...Object.keys(VALID), ...Object.keys(OTHER)),
  cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  edits: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), byte: fc.integer({ min: 0, max: 255 }), flip: fc.boolean() }), { maxLength: 4 }),
}).map(({ file, cut, edits }) => {
  const bytes = Buffer.from(VALID[file] ?? OTHER[file]);
  for (const edit of edits) {
    const at = Math.floor(edit.at * bytes.length);
    bytes[at] = edit.flip ? bytes[at] ^ (1 << (edit.byte & 7)) : edit.byte;
  }
  return { file, bytes: cut === undefined ? bytes : bytes.subarray(0, Math.floor(cut * bytes.length)) };
});

test('every valid input file reads back as a sane profile', () => {
  for (const [file, bytes] of Object.entries(VALID)) {
    assert.equal(readAny(bytes), 'read', file);
  }
});

test('files of other kinds are InputErrors naming the format readProfile took them for', () => {
  for (const [file, bytes] of Object.entries(OTHER)) {
    assert.throws(() => readProfile(bytes, NAME), (error) => error instanceof InputError && PREFIX.test(error.message), file);
  }
});

test('readers on random text: a profile or an InputError', LIMIT, () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: codeUnit, maxLength: 100 }),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    // Folded-looking lines, so the parser gets past the first line.
    fc.tuple(
      fc.array(fc.tuple(frameName, fc.constantFrom(' ', '  ', ''), fc.oneof(fc.nat().map(String), fc.constantFrom('0', '-1', '1.5', '99999999999999999999', '1e3', ''))), { maxLength: 5 }),
      fc.constantFrom('\n', '\r\n'),
    ).map(([lines, end]) => lines.map(([stack, space, count]) => `${stack}${space}${count}`).join(end)),
  );
  check(fc.property(text, (s) => {
    readsOrRejects(() => readFolded(s));
    readsOrRejects(() => readCpuProfile(s));
    readAny(Buffer.from(s));
  }), 400);
});

test('readers on random bytes: a profile or an InputError', LIMIT, () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    // Past the gzip magic number and the JSON object start, so those paths get random data too.
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), b])),
    fc.uint8Array({ maxLength: 200 }).map((b) => gzipSync(b)),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from('{"'), b])),
  );
  check(fc.property(bytes, (b) => {
    readsOrRejects(() => readPprof(b));
    readAny(b);
  }), 400);
});

test('readers on files cut short or with bytes flipped: a profile or an InputError', LIMIT, () => {
  check(fc.property(damaged, ({ bytes }) => {
    readAny(bytes);
    // Each reader on its own too, whatever the format: the detection is not what keeps them safe.
    readsOrRejects(() => readPprof(bytes));
    const text = bytes.toString('utf8');
    readsOrRejects(() => readCpuProfile(text));
    readsOrRejects(() => readFolded(text));
  }), 500);
});

test('format detection: the same answer readProfile acts on, never an exception', LIMIT, () => {
  check(fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 }).map((s) => Buffer.from(s))), (bytes) => {
    const format = detectFormat(bytes);
    assert.ok(FORMATS.includes(format));
    try {
      readProfile(bytes, NAME);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      assert.ok(error.message.startsWith(`${NAME} (${format}): `), error.message);
    }
  }), 300);
});

/** A JSON value of any shape, for fields of a .cpuprofile. */
const json = fc.jsonValue({ maxDepth: 2 });
const timedCpuProfile = JSON.parse(writeCpuProfile(buildTimedProfile()));

test('.cpuprofile reader on documents with random fields: a profile or an InputError', LIMIT, () => {
  const field = fc.constantFrom('id', 'callFrame', 'hitCount', 'children', 'positionTicks', 'functionName', 'url', 'lineNumber', 'columnNumber');
  const mutation = fc.oneof(
    // A field of one node replaced, or removed.
    fc.record({ node: fc.nat(), field, value: fc.option(json, { nil: undefined }) }),
    // A top-level field replaced, or removed.
    fc.record({ top: fc.constantFrom('nodes', 'samples', 'timeDeltas', 'startTime', 'endTime'), value: fc.option(json, { nil: undefined }) }),
    // A sample or a time delta replaced.
    fc.record({ list: fc.constantFrom('samples', 'timeDeltas'), index: fc.nat(), value: fc.oneof(json, fc.integer({ min: -3, max: 40 })) }),
    // A node's children pointing elsewhere.
    fc.record({ node: fc.nat(), field: fc.constant('children'), value: fc.array(fc.integer({ min: -1, max: 40 }), { maxLength: 4 }) }),
  );
  check(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
    const doc = structuredClone(timedCpuProfile);
    for (const m of mutations) {
      if (m.top) {
        if (m.value === undefined) delete doc[m.top];
        else doc[m.top] = m.value;
      } else if (m.list) {
        if (Array.isArray(doc[m.list]) && doc[m.list].length) doc[m.list][m.index % doc[m.list].length] = m.value;
      } else if (Array.isArray(doc.nodes) && doc.nodes.length) {
        const node = doc.nodes[m.node % doc.nodes.length];
        if (!node || typeof node !== 'object') continue;
        const target = ['functionName', 'url', 'lineNumber', 'columnNumber'].includes(m.field) ? node.callFrame : node;
        if (!target || typeof target !== 'object') continue;
        if (m.value === undefined) delete target[m.field];
        else target[m.field] = m.value;
      }
    }
    const text = JSON.stringify(doc);
    readsOrRejects(() => readCpuProfile(text));
    readAny(Buffer.from(text));
  }), 500);
});

test('pprof reader on profiles with random fields: a profile or an InputError', LIMIT, () => {
  const int64 = fc.oneof(
    fc.integer({ min: -3, max: 12 }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.constantFrom(2 ** 53, Number.MAX_SAFE_INTEGER),
  );
  // The string table starts with these (index 1 on), then random ones; indices run a little past it.
  const BASE = ['samples', 'count', 'cpu', 'nanoseconds', 'f', 'a.js'];
  const index = fc.integer({ min: 0, max: BASE.length + 4 });
  const id = fc.integer({ min: 0, max: 6 });
  const valueType = fc.oneof(fc.constant([1, 2]), fc.constant([3, 4]), fc.tuple(index, index));
  const comment = fc.oneof(frameName, fc.constantFrom('sfprof.sample_weight_ns=1e400', 'sfprof.sample_weight_ns=-1', 'sfprof.sample_weight_ns=5',
    'sfprof.pid=-5', 'sfprof.pid=1e300', 'sfprof.pid=7', 'sfprof.drops.ring_full=-1', 'sfprof.drops.truncated=1.5',
    'sfprof.drops.other_threads=1e400', 'sfprof.drops.sampling_paused=2', 'sfprof.engine=x', 'sfprof.lines=1', 'sfprof.cwd=/'));
  const spec = fc.record({
    strings: fc.array(frameName, { maxLength: 4 }),
    sampleType: fc.array(valueType, { maxLength: 3 }),
    // pprof-format cannot encode a sample with neither locations nor values (a RangeError).
    samples: fc.array(fc.record({ locationId: fc.array(id, { maxLength: 4 }), value: fc.array(int64, { minLength: 1, maxLength: 3 }) }), { maxLength: 6 }),
    locations: fc.array(fc.record({ id, address: int64, lines: fc.array(fc.tuple(id, int64), { maxLength: 3 }) }), { maxLength: 6 }),
    functions: fc.array(fc.record({ id, name: index, filename: index, startLine: int64 }), { maxLength: 6 }),
    comments: fc.array(fc.oneof(comment, index), { maxLength: 6 }),
    periodType: fc.option(valueType, { nil: undefined }),
    period: int64,
    timeNanos: int64,
    durationNanos: int64,
    gzip: fc.boolean(),
  });
  check(fc.property(spec, (s) => {
    const table = new StringTable();
    for (const text of [...BASE, ...s.strings]) table.dedup(text);
    const encoded = new PprofProfile({
      sampleType: s.sampleType.map(([type, unit]) => new ValueType({ type, unit })),
      sample: s.samples.map((x) => new Sample(x)),
      location: s.locations.map((l) => new Location({ id: l.id, address: l.address, line: l.lines.map(([functionId, line]) => new Line({ functionId, line })) })),
      function: s.functions.map((f) => new PprofFunction(f)),
      stringTable: table,
      comment: s.comments.map((c) => (typeof c === 'string' ? table.dedup(c) : c)),
      periodType: s.periodType && new ValueType({ type: s.periodType[0], unit: s.periodType[1] }),
      period: s.period,
      timeNanos: s.timeNanos,
      durationNanos: s.durationNanos,
    }).encode();
    const bytes = s.gzip ? gzipSync(encoded) : encoded;
    readsOrRejects(() => readPprof(bytes));
    readAny(bytes);
  }), 400);
});

// ---------------------------------------------------------------------------------------------
// Round trips

/** Adds `count` under `key` in `map`. */
function tally(map, key, count) {
  map.set(key, (map.get(key) ?? 0) + count);
}

/** Sample totals per stack, the stack named by `keyOf(frame)` of each frame. */
function totalsBy(profile, keyOf) {
  const totals = new Map();
  for (const stack of profile.stackList) tally(totals, JSON.stringify(stack.frames.map((id) => keyOf(profile.frames[id]))), stack.count);
  return totals;
}

function assertSameTotals(actual, expected) {
  assert.deepEqual(new Map([...actual].sort()), new Map([...expected].sort()));
}

test('round trip through folded: totals per sanitised label path survive', LIMIT, () => {
  check(fc.property(profileSpec(2 ** 40), fc.boolean(), (spec, tiers) => {
    const profile = buildProfile(spec);
    const text = writeFolded(profile, { tiers });
    const back = readFolded(text);
    checkProfile(back);
    // The documented sanitising: labels that collide after it merge, so compare by label.
    const expected = totalsBy(profile, (frame) => frameLabel(frame, { tiers }));
    // A "_[j]"/"_[i]" ending reads back as a tier whether or not the writer put it there.
    assertSameTotals(totalsBy(back, (frame) => frameLabel(frame, { tiers: true })), expected);
    assert.equal(writeFolded(back, { tiers: true }), text);
  }), 300);
});

/** pprof strings and file:// URLs are UTF-8: a lone surrogate comes back as U+FFFD. */
const utf8 = (text) => text.toWellFormed();

test('round trip through pprof: totals per (name, file, line, start line) path survive', LIMIT, () => {
  check(fc.property(profileSpec(2 ** 48), fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: undefined }), (spec, weight) => {
    const profile = buildProfile(spec);
    if (weight !== undefined) profile.metadata.sampleWeightNs = weight;
    const bytes = writePprof(profile);
    const back = readPprof(bytes);
    checkProfile(back);
    assert.deepEqual(readPprof(encodePprof(profile)).stackList, back.stackList, 'raw and gzipped read the same');
    // A function without a name reads back as "(anonymous)".
    const key = (frame) => [utf8(frame.name) || '(anonymous)', utf8(frame.file ?? ''), frame.line ?? 0, frame.startLine ?? frame.line ?? 0];
    const keyBack = (frame) => [frame.name, frame.file ?? '', frame.line ?? 0, frame.startLine ?? 0];
    assertSameTotals(totalsBy(back, keyBack), totalsBy(profile, key));
  }), 300);
});

test('round trip through .cpuprofile: totals per (name, file, start line) path survive', LIMIT, () => {
  check(fc.property(profileSpec(50), (spec) => {
    // Node's pathToFileURL drops a path's trailing C0 control characters ("a\x01" becomes the URL
    // of "a"), so the writer loses them; here such files end in "x" until it encodes them.
    for (const frame of spec.frames) if (frame.file) frame.file = frame.file.replace(/[\x00-\x1f]+$/, 'x');
    const profile = buildProfile(spec);
    const back = readCpuProfile(writeCpuProfile(profile));
    checkProfile(back);
    // Files become file:// URLs (UTF-8; relative ones resolved against the profile's cwd) and come
    // back relative to the working directory when under it; node: files stay as they are.
    const fileOf = (file) => {
      if (!file) return '';
      if (file.startsWith('node:')) return file;
      return displayFile(path.resolve(process.cwd(), utf8(file)), process.cwd());
    };
    const key = (frame) => [frame.name || '(anonymous)', fileOf(frame.file), frame.startLine ?? frame.line ?? 0];
    const keyBack = (frame) => [frame.name, frame.file ?? '', frame.startLine ?? 0];
    assertSameTotals(totalsBy(back, keyBack), totalsBy(profile, key));
  }), 200);
});

// ---------------------------------------------------------------------------------------------
// Options, environment and argv

/** Strings that are near-valid values of some option, or just random. */
const word = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', '0', '1', '-1', '10ms', ' 10ms ', '500us', '500µs', '2.5ms', '.5ms', '1s', '2s', '99', '100', '1e3', '0x10', 'NaN',
    'Infinity', '9'.repeat(400), 'true', 'FALSE', 'yes', 'on', 'off', 'no', 'auto', 'itimer', 'perf', 'thread-cpu', ' PERF ',
    'folded', 'pprof', 'cpuprofile', 'html', 'HTML', 'svg', '-', 'out.folded', 'out.pb.gz', 'out.html', 'x.cpuprofile', 'dir/',
    'p-{pid}.txt', '{pid}', 'a.data', '60s', '5m', '1.5h', '999ms', '3', '100001'),
);

const VARIABLES = ['SFPROF_INTERVAL', 'SFPROF_OUTPUT', 'SFPROF_FORMAT', 'SFPROF_TIMER', 'SFPROF_LINES', 'SFPROF_GC_CAUSE', 'SFPROF_TIERS', 'SFPROF_SOURCE_MAPS', 'SFPROF_SUMMARY_FILE', 'SFPROF_PERIOD', 'SFPROF_KEEP'];

/** Rethrows anything but an OptionError; checks the message says what is allowed. */
function checkOptionError(error) {
  if (!(error instanceof OptionError)) throw error;
  const { message } = error;
  assert.match(message, /^sfprof[: ]/, message);
  assert.match(message, /expected|allowed|use a matching/, `says what is allowed: ${message}`);
  return message;
}

test('optionsFromEnv on arbitrary SFPROF_* values: a config start() accepts, or an OptionError', LIMIT, () => {
  const env = fc.record(Object.fromEntries(VARIABLES.map((name) => [name, word])), { requiredKeys: [] });
  check(fc.property(env, fc.nat(), (variables, pid) => {
    let config;
    try {
      config = optionsFromEnv({ ...variables, UNRELATED: 'x' }, pid);
    } catch (error) {
      const message = checkOptionError(error);
      const named = VARIABLES.filter((name) => message.startsWith(`sfprof: ${name} is `));
      assert.equal(named.length, 1, `names one variable: ${message}`);
      const [name] = named;
      const value = variables[name];
      assert.ok(value !== undefined, `${name} was set`);
      const conflict = name === 'SFPROF_FORMAT' &&
        message.startsWith(`sfprof: SFPROF_FORMAT is ${value.trim().toLowerCase()} but the output ${JSON.stringify(variables.SFPROF_OUTPUT)} `);
      assert.ok(message.includes(`is ${JSON.stringify(value)}; expected`) || conflict, `names the value: ${message}`);
      return;
    }
    assert.ok(FORMATS.includes(config.format));
    assert.equal(typeof config.tiers, 'boolean');
    assert.ok(typeof config.output === 'string' && config.output.length > 0 && !config.output.includes('{pid}'));
    // What the preload hands to start() must pass its checks.
    resolveOptions(config.options);
  }), 500);
});

const OPTION_NAMES = ['interval', 'lines', 'ringSlots', 'maxFrames', 'drainIntervalMs', 'timelineSamples', 'timer', 'sourceMaps'];

test('resolveOptions on arbitrary values: resolved options in range, or an OptionError naming the option', LIMIT, () => {
  const anything = fc.anything({ maxDepth: 1, withNullPrototype: true, withBigInt: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withObjectString: true });
  const value = fc.oneof(
    anything,
    word,
    fc.constantFrom(true, false, 16, 17, 4096, 1 << 20, 1 << 21, 0, 1, 255, 256, 60_000, 60_001, 1 << 24, (1 << 24) + 1, -0, 1.5, NaN,
      Infinity, 100, 99, 1_000_000, 1_000_001, 99.6, Symbol('s')),
  );
  const options = fc.oneof(
    { arbitrary: fc.record(Object.fromEntries(OPTION_NAMES.map((name) => [name, value])), { requiredKeys: [] }), weight: 8 },
    { arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...OPTION_NAMES, 'output', '__proto__'), fc.string()), value, { maxKeys: 3 }), weight: 1 },
    { arbitrary: anything, weight: 1 },
  );
  check(fc.property(options, (given) => {
    let resolved;
    try {
      resolved = resolveOptions(given);
    } catch (error) {
      const message = checkOptionError(error);
      if (message.startsWith('sfprof: options is ')) return;
      const keys = given !== null && typeof given === 'object' ? Object.keys(given) : [];
      if (keys.some((key) => message.startsWith(`sfprof: unknown option ${JSON.stringify(key)}; allowed: `))) return;
      const key = OPTION_NAMES.find((name) => message.startsWith(`sfprof: option ${JSON.stringify(name)} is `));
      assert.ok(key !== undefined, `names the option: ${message}`);
      // The value as given: quoted if a string, as written if a number (others as util.inspect shows them).
      const value = given[key];
      if (typeof value === 'string') assert.ok(message.includes(`is ${JSON.stringify(value)};`), `names the value: ${message}`);
      if (typeof value === 'number') assert.ok(message.includes(`is ${Object.is(value, -0) ? '-0' : value};`), `names the value: ${message}`);
      return;
    }
    assert.ok(Number.isInteger(resolved.intervalUs) && resolved.intervalUs >= 100 && resolved.intervalUs <= 1_000_000, `interval ${resolved.intervalUs}`);
    assert.equal(typeof resolved.lines, 'boolean');
    assert.ok(Number.isInteger(resolved.ringSlots) && resolved.ringSlots >= 16 && resolved.ringSlots <= 1 << 20 && (resolved.ringSlots & (resolved.ringSlots - 1)) === 0);
    assert.ok(Number.isInteger(resolved.maxFrames) && resolved.maxFrames >= 1 && resolved.maxFrames <= 255);
    assert.ok(Number.isInteger(resolved.drainIntervalMs) && resolved.drainIntervalMs >= 1 && resolved.drainIntervalMs <= 60_000);
    assert.ok(Number.isInteger(resolved.timelineSamples) && resolved.timelineSamples >= 0 && resolved.timelineSamples <= 1 << 24);
    assert.ok(['auto', 'itimer', 'perf', 'thread-cpu', 'pacer'].includes(resolved.timer));
    assert.ok(resolved.sourceMaps === undefined || typeof resolved.sourceMaps === 'boolean');
  }), 500);
});

test('CLI argv: a command or an OptionError saying what is wrong', LIMIT, () => {
  const arg = fc.oneof(
    { arbitrary: fc.constantFrom('record', 'report', 'top', 'diff', 'help', '-i', '--interval', '-o', '--output', '-f', '--format', '-t', '--timer', '-n',
      '--count', '--lines', '--tiers', '--source-maps', '--title', '--help', '-h', '--version', '-v', '--', '-', '--interval=1ms', '-i500us', '--output=',
      '--lines=1', '-hi', '-it', 'node', 'app.js', '--port'), weight: 4 },
    { arbitrary: word, weight: 3 },
    { arbitrary: fc.string({ maxLength: 10 }).map((s) => `-${s}`), weight: 1 },
    { arbitrary: fc.string({ maxLength: 10 }).map((s) => `--${s}`), weight: 1 },
  );
  const withValue = fc.constantFrom('-i', '--interval', '-o', '--output', '-f', '--format', '-t', '--timer', '-n', '--count', '--title');
  // Values include directories ("x/"), which only --output cares about.
  const value = fc.oneof(word, word.map((w) => `${w}/`));
  const option = fc.oneof(
    fc.tuple(withValue, value),
    fc.tuple(withValue, value).map(([flag, v]) => [flag.startsWith('--') ? `${flag}=${v}` : `${flag}${v}`]),
    fc.constantFrom('--lines', '--tiers', '--source-maps', '--help', '-h').map((flag) => [flag]),
    arg.map((a) => [a]),
  );
  // A verb, options with values, maybe "--", a command; or any words at all.
  const structured = fc.tuple(
    fc.constantFrom('record', 'report', 'top', 'diff'),
    fc.array(option, { maxLength: 5 }),
    fc.boolean(),
    fc.array(fc.oneof(fc.constantFrom('node', 'app.js'), word), { maxLength: 3 }),
  ).map(([verb, options, dashes, rest]) => [verb, ...options.flat(), ...(dashes ? ['--'] : []), ...rest]);
  const argv = fc.oneof(structured, fc.array(arg, { maxLength: 8 }));
  check(fc.property(argv, (args) => {
    let command;
    try {
      command = parseCommandLine(args);
    } catch (error) {
      if (!(error instanceof OptionError)) throw error;
      assert.match(error.message, /^sfprof[: ]/, error.message);
      assert.ok(error.message.length > 20, error.message);
      return;
    }
    switch (command.kind) {
      case 'help':
        assert.match(command.usage, /^Usage:/);
        break;
      case 'version':
        break;
      case 'record': {
        assert.ok(command.command.length > 0 && command.command.every((a) => typeof a === 'string'));
        assert.ok(command.format === undefined || FORMATS.includes(command.format));
        assert.ok(command.output === undefined || command.output.length > 0);
        // The child's preload reads the flags back from SFPROF_* (cli/main.ts): it must accept them.
        const config = optionsFromEnv(recordEnv(command), 1);
        if (command.format !== undefined) assert.equal(config.format, command.format);
        assert.equal(config.tiers, command.tiers);
        break;
      }
      case 'report':
        assert.ok(typeof command.input === 'string' && command.output.length > 0);
        assert.ok(command.output === '-' || !command.output.endsWith('/'), 'not a directory, as for record');
        assert.ok(FORMATS.includes(command.format));
        if (command.tiers) assert.equal(command.format, 'folded');
        if (command.title !== undefined) assert.equal(command.format, 'html');
        break;
      case 'diff':
        assert.ok(typeof command.base === 'string' && typeof command.next === 'string');
        assert.ok(command.base !== '-' || command.next !== '-', 'at most one of them is standard input');
        assert.ok(command.output === '-' || !command.output.endsWith('/'), 'not a directory, as for record');
        assert.ok(['html', 'folded', 'pprof'].includes(command.format));
        if (command.title !== undefined) assert.equal(command.format, 'html');
        break;
      case 'top':
        assert.ok(typeof command.input === 'string');
        assert.ok(Number.isInteger(command.count) && command.count >= 1 && command.count <= 100_000);
        break;
      default:
        assert.fail(`unknown command kind ${command.kind}`);
    }
  }), 500);
});

// ---------------------------------------------------------------------------------------------
// Inputs the properties found, kept as examples

/** A raw pprof with one function "f" at one location, and the given samples, lines and comments. */
function tinyPprof({ line = 5, values = [1], comments = [] } = {}) {
  const strings = new StringTable();
  const id = (text) => strings.dedup(text);
  return new PprofProfile({
    sampleType: [new ValueType({ type: id('samples'), unit: id('count') })],
    function: [new PprofFunction({ id: 1, name: id('f') })],
    location: [new Location({ id: 1, line: [new Line({ functionId: 1, line })] })],
    sample: values.map((value) => new Sample({ locationId: [1], value: [value] })),
    comment: comments.map(id),
    stringTable: strings,
  }).encode();
}

test('found by fuzzing: pprof counts, lines and comments out of range', () => {
  // -1 as an int64 decodes as 2^64 - 1: not a line (it was kept), not a count (it was counted).
  assert.equal(readPprof(tinyPprof({ line: -1 })).frames[0].line, undefined);
  assert.throws(() => readProfile(tinyPprof({ values: [-1] }), 'p'), /^InputError: p \(pprof\): sample 0: value 18446744073709552000 is not a count/);
  assert.throws(() => readPprof(tinyPprof({ values: [2n ** 60n] })), /sample 0: value \d+ is not a count/);
  assert.throws(() => readPprof(tinyPprof({ values: [2 ** 52, 2 ** 52] })), /the sample counts add up to 9007199254740992, more than 9007199254740991/);
  // An infinite sample weight wrote a .cpuprofile with null times; a negative pid was kept.
  const profile = readPprof(tinyPprof({ comments: ['sfprof.sample_weight_ns=1e400', 'sfprof.pid=-5', 'sfprof.drops.ring_full=1.5'] }));
  assert.equal(profile.metadata.sampleWeightNs, undefined);
  assert.equal(profile.metadata.pid, 0);
  assert.equal(profile.metadata.drops.ringFull, 0);
  checkProfile(profile);
});

test('found by fuzzing: .cpuprofile fields of the wrong type are InputErrors, not crashes or odd counts', () => {
  const node = (id, extra = {}, call = {}) => ({ id, callFrame: { functionName: `f${id}`, scriptId: '0', url: '', lineNumber: -1, columnNumber: -1, ...call }, hitCount: 0, ...extra });
  const read = (doc) => readProfile(Buffer.from(JSON.stringify(doc)), 'c');
  const tree = (leaf = {}, call = {}) => ({ nodes: [node(1, { children: [2] }), node(2, { hitCount: 1, ...leaf }, call)] });
  // Was a count of "05" (string concatenation), of 1.5, a TypeError, RangeErrors when written as pprof.
  assert.throws(() => read(tree({ hitCount: '5' })), /^InputError: c \(cpuprofile\): nodes\[1\]: "hitCount" is "5", not a count$/);
  assert.throws(() => read(tree({ hitCount: 1.5 })), /nodes\[1\]: "hitCount" is 1\.5, not a count/);
  assert.throws(() => read({ nodes: [node(1, { children: 5 })] }), /nodes\[0\]: "children" is 5, not a list of node ids/);
  assert.throws(() => read({ ...tree(), startTime: {} }), /"startTime" is \{\}, not a time in µs/);
  assert.throws(() => read({ ...tree(), endTime: 'x' }), /"endTime" is "x", not a time in µs/);
  assert.throws(() => read(tree({}, { functionName: { toString: 1 } })), /node 2: "functionName" is \{"toString":1\}, not a string/);
  assert.throws(() => read({ ...tree(), samples: [2, 2], timeDeltas: [1e305, 1e305] }), /"timeDeltas" add up past any time at timeDeltas\[1\]/);
  // A fractional line is no line.
  assert.equal(read(tree({}, { lineNumber: 1.5 })).frames[0].line, undefined);
});

test('a .cpuprofile of a deep recursion sampled at every depth reads back right, each node\'s frame made once', LIMIT, () => {
  // Each sample walked its node's stack to the root making every frame afresh (a file:// URL
  // turned into a path each time): quadratic, minutes for an 8,000-deep chain (1.2 MB). Counted
  // through the URL conversion, not timed.
  const depth = 1000;
  const nodes = Array.from({ length: depth + 1 }, (_, i) => ({
    id: i + 1,
    callFrame: { functionName: i === 0 ? '(root)' : `f${i % 7}`, scriptId: '1', url: 'file:///srv/a.js', lineNumber: i % 7, columnNumber: 0 },
    hitCount: 0,
    children: i < depth ? [i + 2] : [],
  }));
  // Leaf first, so a stack is walked before its ancestors' are known; then every depth once more.
  const samples = [depth + 1, ...nodes.slice(1).map((node) => node.id), depth + 1];
  const symbolize = createRequire(import.meta.url)('../../dist/pipeline/script-file.js');
  const displayFile = symbolize.displayFile;
  let conversions = 0;
  symbolize.displayFile = (...args) => {
    conversions++;
    return displayFile(...args);
  };
  let profile;
  try {
    profile = readCpuProfile(JSON.stringify({ nodes, startTime: 0, endTime: samples.length, samples, timeDeltas: samples.map(() => 1) }));
  } finally {
    symbolize.displayFile = displayFile;
  }
  assert.ok(conversions <= depth, `${conversions} URL conversions for ${depth} nodes`);
  assert.equal(profile.totalSamples, depth + 2);
  assert.equal(profile.stackList.length, depth);
  assert.equal(profile.frames.length, 7);
  for (const stack of profile.stackList) {
    const names = stack.frames.map((id) => profile.frames[id].name);
    assert.deepEqual(names, names.map((_, i) => `f${(i + 1) % 7}`));
  }
  assert.equal(profile.stackList.find((stack) => stack.frames.length === depth).count, 3);
});

test('found by fuzzing: folded labels read back as the writer wrote them', () => {
  const again = (text) => writeFolded(readFolded(text), { tiers: true });
  // Were " ( 1", "f (x:7) 1" and "f (x:100000000000000000000) 1": an empty file is no file, and a
  // line with a leading zero, past 2^53 or 0 stays part of the file.
  for (const text of [' ( () 1\n', 'f (x:007) 1\n', 'f (x:99999999999999999999) 1\n', 'f (x:0) 1\n']) assert.equal(again(text), text);
  assert.deepEqual(readFolded('f (x:007) 1\n').frames[0], { name: 'f', file: 'x:007', kind: 'js' });
  // A frame with an empty name alone on its stack is written as " 1"; it reads back.
  const profile = emptyProfile();
  profile.addStack([profile.internFrame({ name: '', kind: 'js' })], 1);
  assert.equal(writeFolded(profile), ' 1\n');
  assert.equal(again(' 1\n'), ' 1\n');
  assert.throws(() => readProfile(Buffer.from(`a ${2 ** 52}\nb ${2 ** 52}\n`), 'f'), /^InputError: f \(folded\): the sample counts add up to/);
});

test('found by fuzzing: options of any type are OptionErrors; a directory is no --output', () => {
  const rejects = (options, pattern) => assert.throws(() => resolveOptions(options), (error) => error instanceof OptionError && pattern.test(error.message));
  // Were TypeErrors (a symbol, an object without a prototype) or accepted (an array, a bigint, a list).
  rejects({ interval: Symbol('s') }, /^sfprof: option "interval" is Symbol\(s\); expected a duration/);
  rejects({ lines: Object.create(null) }, /^sfprof: option "lines" is \[Object: null prototype\] \{\}; expected true or false$/);
  rejects({ maxFrames: Object.create(null) }, /option "maxFrames" is \[Object: null prototype\] \{\}; expected an integer/);
  rejects([], /^sfprof: options is \[\]; expected an object$/);
  rejects({ interval: 1000n }, /option "interval" is 1000n; expected a duration/);
  rejects({ interval: ['10ms'] }, /option "interval" is \[ '10ms' \]; expected a duration/);
  // The preload refused SFPROF_OUTPUT=dir/ only once the command ran; now record refuses it at once.
  for (const verb of ['record', 'report']) {
    const args = verb === 'record' ? ['record', '-o', 'out/', 'node'] : ['report', 'a.folded', '-o', 'out/'];
    assert.throws(() => parseCommandLine(args), new RegExp(`^OptionError: sfprof ${verb}: --output is "out/"; expected a file path \\(or - for standard output\\), not a directory$`));
  }
  assert.equal(parseCommandLine(['record', '-o', '-', 'node']).output, '-');
});
