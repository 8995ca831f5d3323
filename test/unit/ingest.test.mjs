// The ingest stage offline: hand-built sample records and code events through SampleIngester into a
// Profile (event replay order, leaf frames, GC and idle samples, truncation, workers' builtins).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Profile } from '../../dist/model/profile.js';
import { SampleIngester } from '../../dist/pipeline/ingest.js';
import { addDropStacks } from '../../dist/pipeline/session.js';
import { encodeSamples } from '../../dist/native/records.js';
import { SourceLines, Symbolizer } from '../../dist/pipeline/symbolize.js';

// 40 lines of 9 characters plus a newline: line n starts at script offset 10 * (n - 1).
const APP_SOURCE = Array.from({ length: 40 }, (_, i) => `//${String(i + 1).padStart(7, '0')}`).join('\n') + '\n';
const TEXTS = { '/app/app.js': APP_SOURCE };

function makeIngester(lines = false) {
  const profile = new Profile({
    startTime: 0,
    durationNs: 0,
    intervalUs: 1000,
    engine: 'test',
    lines,
    pid: 1,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
  });
  const symbolizer = new Symbolizer('/app', lines, new SourceLines((file) => TEXTS[file]));
  const ingester = new SampleIngester(profile, { cwd: '/app', lines, symbolizer });
  return { profile, ingester };
}

const add = (seq, start, size, name, codeType = 1) => ({ seq, type: 0, codeType, start, size, name, scriptId: 1 });
const move = (seq, start, newStart) => ({ seq, type: 1, codeType: 1, start, size: 0, newStart });
const positions = (seq, start, pairs, codeType = 1) => ({
  seq,
  type: 2,
  codeType,
  start,
  size: 0,
  positions: Uint32Array.from(pairs),
});
const sample = (codeSeq, frames, vmState = 0, flags = 0) => ({ timeNs: codeSeq * 1000, codeSeq, vmState, flags, frames });
const batch = (samples, events = []) => ({ ...encodeSamples(samples), events });

function label(frame) {
  return frame.file ? `${frame.name} (${frame.file}:${frame.line})` : frame.name;
}

/** The profile's stacks as { "root;...;leaf": count }. */
function render(profile) {
  const out = {};
  for (const stack of profile.stacks.values()) {
    const key = stack.frames.map((id) => label(profile.frames[id])).join(';');
    out[key] = (out[key] ?? 0) + stack.count;
  }
  return out;
}

function kindsOf(profile, name) {
  return profile.frames.filter((f) => f.name === name).map((f) => f.kind);
}

// The interpreter's code: where the pc is when the top frame is interpreted.
const HANDLER_PC = 0x6010;
const handler = () => add(0, 0x6000, 0x40, 'BytecodeHandler:Add');
const MAIN = 'JS:~main /app/app.js:1:1';
const ALPHA = 'JS:*alpha /app/app.js:3:1';
const BETA = 'JS:*beta /app/app.js:5:1';
const GAMMA = 'JS:*gamma /app/app.js:7:1';

// ---------------------------------------------------------------------------------------------
// Replay ordering

test('a sample resolves against the code layout of its moment: before and after a move', () => {
  const { profile, ingester } = makeIngester();
  const events = [
    add(1, 0x1000, 0x100, ALPHA),
    add(2, 0x2000, 0x100, MAIN, 0),
    move(3, 0x1000, 0x3000), // alpha moves away …
    add(4, 0x1000, 0x100, BETA), // … and beta takes its old place
  ];
  ingester.ingest(
    batch(
      [
        sample(2, [0x1010, 0x2010]), // before the move: 0x1010 is alpha
        sample(4, [0x1010, 0x2010]), // after: 0x1010 is beta
        sample(4, [0x3010, 0x2010]), // after: alpha is at 0x3000
      ],
      events,
    ),
  );
  assert.deepEqual(render(profile), {
    'main (app.js:1);alpha (app.js:3)': 2,
    'main (app.js:1);beta (app.js:5)': 1,
  });
});

test('a walk address seen before a move resolves again after it (cached frame ids go stale)', () => {
  const { profile, ingester } = makeIngester();
  const events = [add(1, 0x1000, 0x100, ALPHA), add(2, 0x2000, 0x100, MAIN, 0), move(3, 0x1000, 0x3000), add(4, 0x1000, 0x100, BETA)];
  // The same caller address twice before the move (the second from the cache), then after it.
  ingester.ingest(batch([sample(2, [0x2010, 0x1010]), sample(2, [0x2010, 0x1010]), sample(4, [0x2010, 0x1010]), sample(4, [0x2010, 0x3010])], events));
  assert.deepEqual(render(profile), {
    'alpha (app.js:3);main (app.js:1)': 3,
    'beta (app.js:5);main (app.js:1)': 1,
  });
});

test('an event stamped with a sample’s own codeSeq is applied before that sample', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([sample(2, [0x1010, 0x2010])], [add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x100, ALPHA)]));
  assert.deepEqual(render(profile), { 'main (app.js:1);alpha (app.js:3)': 1 });
});

test('events newer than every sample of a batch wait for the next batch', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(
    batch(
      [sample(2, [0x4010, 0x2010])], // gamma (seq 3) does not exist yet at this moment
      [add(1, 0x1000, 0x100, ALPHA), add(2, 0x2000, 0x100, MAIN, 0), add(3, 0x4000, 0x100, GAMMA)],
    ),
  );
  assert.deepEqual(render(profile), { 'main (app.js:1);(native)': 1 });
  assert.equal(ingester.codeMap.lookup(0x4010), undefined); // held back, not applied
  assert.equal(ingester.codeMap.lookup(0x1010)?.name, ALPHA);

  // Next batch: seq 3 resolves for a sample stamped 3; seq 4 (replacing main) is again newer than
  // every sample and must not affect it.
  ingester.ingest(batch([sample(3, [0x4010, 0x2010])], [add(4, 0x2000, 0x100, 'JS:~other /app/app.js:9:1', 0)]));
  assert.deepEqual(render(profile), {
    'main (app.js:1);(native)': 1,
    'main (app.js:1);gamma (app.js:7)': 1,
  });
  assert.equal(ingester.codeMap.lookup(0x2010)?.name, MAIN);

  // A batch with no samples applies nothing, final or not: no sample can need those events.
  ingester.ingest(batch([], [add(5, 0x5000, 0x10, 'JS:*delta /app/app.js:11:1')]));
  assert.equal(ingester.codeMap.lookup(0x2010)?.name, MAIN);
  assert.equal(ingester.codeMap.lookup(0x5000), undefined);
  ingester.ingest(batch([], []), true);
  assert.equal(ingester.codeMap.lookup(0x2010)?.name, MAIN);
  assert.equal(ingester.codeMap.lookup(0x5000), undefined);
});

test('final resolves its own samples and then drops the events no sample needs', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(
    batch(
      [sample(1, [HANDLER_PC, 0x2010]), sample(2, [0x1008, 0x2010])],
      [handler(), add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x10, ALPHA), add(3, 0x3000, 0x10, GAMMA)],
    ),
    true,
  );
  assert.deepEqual(render(profile), { 'main (app.js:1)': 1, 'main (app.js:1);alpha (app.js:3)': 1 });
  // gamma (seq 3) is newer than every sample: a thread that ended never needs it.
  assert.equal(ingester.codeMap.lookup(0x3000), undefined);
});

// ---------------------------------------------------------------------------------------------
// Synthetic frames

test('synthetic frames: GC, program, idle, unknown, native leaf, truncated root', () => {
  const { profile, ingester } = makeIngester();
  const events = [handler(), add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x100, ALPHA)];
  ingester.ingest(
    batch(
      [
        sample(2, [0x9990], 1), // GC: only the pc frame
        sample(2, [0x2010], 0), // JS state, no JS frames
        sample(2, [], 0), // not even a pc
        sample(2, [0x9990], 8), // idle
        sample(2, [0x9990], 10), // idle in embedder code (V8 14's IDLE_EXTERNAL)
        sample(2, [HANDLER_PC, 0x2010, 0xdead0]), // caller unresolved, pc in the top frame
        sample(2, [0x9990, 0x2010]), // pc in no code object
        sample(2, [HANDLER_PC, 0x2010], 0, 1), // truncated
        sample(2, [0x1010, 0x2010], 0, 1), // truncated, JIT leaf
      ],
      events,
    ),
  );
  assert.deepEqual(render(profile), {
    '(garbage collector)': 1,
    '(program)': 2,
    '(idle)': 2,
    '(unknown);main (app.js:1)': 1,
    'main (app.js:1);(native)': 1,
    '(truncated);main (app.js:1)': 1,
    '(truncated);main (app.js:1);alpha (app.js:3)': 1,
  });
  assert.deepEqual(kindsOf(profile, '(garbage collector)'), ['gc']);
  assert.deepEqual(kindsOf(profile, '(program)'), ['synthetic']);
  assert.deepEqual(kindsOf(profile, '(unknown)'), ['synthetic']);
  assert.deepEqual(kindsOf(profile, '(native)'), ['native']);
  assert.deepEqual(kindsOf(profile, '(truncated)'), ['synthetic']);
});

test('a GC sample with JS frames keeps them and ends in (garbage collector)', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([sample(1, [0x9990, 0x2010], 1)], [add(1, 0x2000, 0x100, MAIN, 0)]));
  assert.deepEqual(render(profile), { 'main (app.js:1);(native);(garbage collector)': 1 });
});

// ---------------------------------------------------------------------------------------------
// Leaf rules

test('an optimized pc the walk left out becomes the leaf', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([sample(2, [0x1010, 0x2010])], [add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x100, ALPHA)]));
  assert.deepEqual(render(profile), { 'main (app.js:1);alpha (app.js:3)': 1 });
  assert.deepEqual(kindsOf(profile, 'alpha'), ['js']);
});

test('a pc in a bytecode handler or the interpreter entry under an interpreted top frame is dropped', () => {
  const { profile, ingester } = makeIngester();
  const events = [
    add(1, 0x2000, 0x100, MAIN, 0),
    add(2, 0x6000, 0x40, 'BytecodeHandler:Add'),
    add(3, 0x6100, 0x40, 'Builtin:InterpreterEntryTrampoline'),
    add(4, 0x6200, 0x40, 'Builtin:ToString'),
  ];
  ingester.ingest(
    batch(
      [
        sample(4, [0x6010, 0x2010]),
        sample(4, [0x6110, 0x2010]),
        sample(4, [0x6210, 0x2010]), // an ordinary builtin stays
      ],
      events,
    ),
  );
  assert.deepEqual(render(profile), {
    'main (app.js:1)': 2,
    'main (app.js:1);Builtin:ToString': 1,
  });
  assert.deepEqual(kindsOf(profile, 'Builtin:ToString'), ['builtin']);
});

test('a JIT pc in the same code as the walk\'s first frame is a recursive activation and is kept', () => {
  // V8's walk leaves out a JIT-compiled top frame, so the walk's alpha is the caller of the pc's alpha.
  const { profile, ingester } = makeIngester();
  const events = [add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x100, ALPHA)];
  ingester.ingest(batch([sample(2, [0x1020, 0x1010, 0x2010])], events));
  assert.deepEqual(render(profile), { 'main (app.js:1);alpha (app.js:3);alpha (app.js:3)': 1 });
});

test('a batch whose samples cannot be decoded keeps its code events for later samples', () => {
  const { profile, ingester } = makeIngester();
  assert.throws(() => ingester.ingest({ samples: Uint32Array.from([1, 0, 1, 0, 0, 0, 0, 0, 5]), addresses: new Float64Array(0), events: [add(1, 0x1000, 0x100, ALPHA)] }));
  ingester.ingest(batch([sample(1, [0x1010, 0x1010])], []), true);
  assert.deepEqual(render(profile), { 'alpha (app.js:3);alpha (app.js:3)': 1 });
});

test('a recursive leaf in a different code object of the same function is kept', () => {
  // main interpreted at the top of the walk, main's optimized code at the pc: two entries.
  const { profile, ingester } = makeIngester();
  ingester.ingest(
    batch([sample(2, [0x7010, 0x2010])], [add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x7000, 0x100, 'JS:*main /app/app.js:1:1')]),
  );
  assert.deepEqual(render(profile), { 'main (app.js:1);main (app.js:1)': 1 });
});

// ---------------------------------------------------------------------------------------------
// Line mode

// calc (JIT): pc offsets [0,0x10) → script offset 25 (line 3), [0x10,0x20) → 45 (line 5), ≥0x20 → 72 (line 8).
// main (bytecode): offsets [0,4) → 195 (line 20), [4,8) → 215 (line 22), ≥8 → 235 (line 24).
// outer (JIT): offsets [0,0x10) → 290 (line 30), ≥0x10 → 310 (line 32).
const LINE_EVENTS = [
  handler(),
  // V8 logs each code object's positions just before its add.
  positions(1, 0x1000, [0, 25, 0x10, 45, 0x20, 72]),
  add(2, 0x1000, 0x100, 'JS:*calc /app/app.js:3:14'),
  positions(3, 0x2000, [0, 195, 4, 215, 8, 235], 0),
  add(4, 0x2000, 0x100, 'JS:~main /app/app.js:20:1', 0),
  positions(5, 0x3000, [0, 290, 0x10, 310]),
  add(6, 0x3000, 0x100, 'JS:*outer /app/app.js:30:1'),
  add(7, 0x4000, 0x100, 'JS:~nolines /app/app.js:36:5', 0), // no positions table
  positions(8, 0x5000, [0, 10], 0),
  add(9, 0x5000, 0x100, 'JS:~emit node:events:500:10', 0),
];
const LINE_SAMPLES = [
  sample(9, [0x1005, 0x2004]), // calc offset 5 (leaf), main offset 4
  sample(9, [0x1018, 0x2008]), // calc offset 0x18, main offset 8
  sample(9, [0x1000, 0x3010, 0x2008]), // outer as caller: return address 0x10 → position before it
  sample(9, [0x3010, 0x2008]), // outer as leaf: offset 0x10 itself
  sample(9, [HANDLER_PC, 0x4010, 0x2003]), // no table: name's line; main offset 3
  sample(9, [HANDLER_PC, 0x5004, 0x2003]), // node internal: no source, name's line
];

test('line mode: frames carry the executing line from the positions table and the source', () => {
  const { profile, ingester } = makeIngester(true);
  ingester.ingest(batch(LINE_SAMPLES, LINE_EVENTS));
  assert.deepEqual(render(profile), {
    'main (app.js:22);calc (app.js:3)': 1,
    'main (app.js:24);calc (app.js:5)': 1,
    'main (app.js:24);outer (app.js:30);calc (app.js:3)': 1,
    'main (app.js:24);outer (app.js:32)': 1,
    'main (app.js:20);nolines (app.js:36)': 1,
    'main (app.js:20);emit (node:events:500)': 1,
  });
  assert.deepEqual(kindsOf(profile, 'emit'), ['node']);
});

test('line mode: a bytecode caller frame uses its offset itself, not the position before it', () => {
  const { profile, ingester } = makeIngester(true);
  // main at bytecode offset 4 exactly, as a caller of calc: line 22, not 20.
  ingester.ingest(batch([sample(9, [0x1000, 0x3000, 0x2004])], LINE_EVENTS));
  assert.deepEqual(render(profile), { 'main (app.js:22);outer (app.js:30);calc (app.js:3)': 1 });
});

test('line mode: a JIT caller at offset 0x11 resolves to the entry at 0x10', () => {
  const { profile, ingester } = makeIngester(true);
  ingester.ingest(batch([sample(9, [0x1000, 0x3011, 0x2004])], LINE_EVENTS));
  assert.deepEqual(render(profile), { 'main (app.js:22);outer (app.js:32);calc (app.js:3)': 1 });
});

test('function mode: frames carry the line in the code name', () => {
  const { profile, ingester } = makeIngester(false);
  ingester.ingest(batch(LINE_SAMPLES, LINE_EVENTS));
  assert.deepEqual(render(profile), {
    'main (app.js:20);calc (app.js:3)': 2,
    'main (app.js:20);outer (app.js:30);calc (app.js:3)': 1,
    'main (app.js:20);outer (app.js:30)': 1,
    'main (app.js:20);nolines (app.js:36)': 1,
    'main (app.js:20);emit (node:events:500)': 1,
  });
});

test('files outside the working directory stay absolute', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([sample(1, [HANDLER_PC, 0x2010])], [handler(), add(1, 0x2000, 0x100, 'JS:~lib /opt/lib/x.js:4:2', 0)]));
  assert.deepEqual(render(profile), { 'lib (/opt/lib/x.js:4)': 1 });
});

// ---------------------------------------------------------------------------------------------
// Counting

test('identical stacks aggregate; framesTotal and framesUnresolved count JS frames', () => {
  const { profile, ingester } = makeIngester();
  const events = [handler(), add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x100, ALPHA)];
  ingester.ingest(
    batch(
      [
        sample(2, [0x1010, 0x2010]), // 1 JS frame
        sample(2, [0x1020, 0x2080]), // same stack, other addresses; 1 JS frame
        sample(2, [0x1030, 0x2000]), // 1 JS frame
        sample(2, [HANDLER_PC, 0x2010, 0xbad0, 0xbad8]), // 3 JS frames, 2 unresolved
        sample(2, [0x9990], 1), // GC only: no JS frames counted
      ],
      events,
    ),
  );
  ingester.ingest(batch([sample(2, [0x1040, 0x2040])])); // a later batch adds to the same stack
  assert.deepEqual(render(profile), {
    'main (app.js:1);alpha (app.js:3)': 4,
    '(unknown);(unknown);main (app.js:1)': 1,
    '(garbage collector)': 1,
  });
  assert.equal(profile.totalSamples, 6);
  assert.equal(ingester.framesTotal, 7);
  assert.equal(ingester.framesUnresolved, 2);
});

test('a drain\'s repeated addresses: every occurrence counted, a pc as leaf and as walk frame resolved apart', () => {
  const { profile, ingester } = makeIngester();
  const events = [add(1, 0x2000, 0x100, MAIN, 0), add(2, 0x1000, 0x100, ALPHA)];
  // One table of four addresses for five samples: the later ones come from the drain's cache.
  const drain = batch([...Array(3).fill(sample(2, [0x1010, 0x2010, 0xbad0])), sample(2, [0x1010, 0x1010, 0x2010]), sample(2, [0x1010, 0x2010])], events);
  assert.equal(drain.addresses.length, 3);
  ingester.ingest(drain);
  assert.deepEqual(render(profile), {
    '(unknown);main (app.js:1);alpha (app.js:3)': 3,
    'main (app.js:1);alpha (app.js:3);alpha (app.js:3)': 1,
    'main (app.js:1);alpha (app.js:3)': 1,
  });
  assert.equal(ingester.framesTotal, 9);
  assert.equal(ingester.framesUnresolved, 3);
});

test('addDropStacks adds lost-sample and unrecorded other-thread stacks, nothing for zero counts', () => {
  const { profile } = makeIngester();
  addDropStacks(profile, { ringFull: 3, busy: 0, nonJsThread: 2, truncated: 9 });
  assert.deepEqual(render(profile), {
    '(lost samples);(ring full)': 3,
    '[other threads];(unrecorded)': 2,
  });
  addDropStacks(profile, { ringFull: 0, busy: 4, nonJsThread: 0, truncated: 0 });
  assert.deepEqual(render(profile), {
    '(lost samples);(ring full)': 3,
    '(lost samples);(sampling paused)': 4,
    '[other threads];(unrecorded)': 2,
  });
  assert.ok(profile.frames.every((f) => f.kind === 'synthetic'));
  // '(lost samples)' is one interned frame shared by both stacks.
  assert.equal(profile.frames.filter((f) => f.name === '(lost samples)').length, 1);
  // Signals on other threads already in the profile as records are not added again.
  addDropStacks(profile, { ringFull: 0, busy: 0, nonJsThread: 5, truncated: 0 }, 4);
  assert.equal(render(profile)['[other threads];(unrecorded)'], 3);

  const empty = makeIngester().profile;
  addDropStacks(empty, { ringFull: 0, busy: 0, nonJsThread: 0, truncated: 0 });
  assert.equal(empty.stacks.size, 0);
  assert.equal(empty.totalSamples, 0);
});

test('line mode: a position before the function\'s own start (inlined from elsewhere) keeps the function line', () => {
  const { profile, ingester } = makeIngester(true);
  const events = [
    handler(),
    add(1, 0x2000, 0x100, MAIN, 0),
    // calc starts on line 3; offsets [0,0x10) map to script offset 5 (line 1), which cannot be calc's
    positions(2, 0x1000, [0, 5, 0x10, 45, 0x20, 100000]),
    add(3, 0x1000, 0x100, 'JS:*calc /app/app.js:3:14'),
  ];
  ingester.ingest(batch([sample(3, [0x1004, 0x2010]), sample(3, [0x1014, 0x2010]), sample(3, [0x1024, 0x2010])], events));
  assert.deepEqual(render(profile), {
    'main (app.js:1);calc (app.js:3)': 2, // line 1 rejected; offset past the source rejected
    'main (app.js:1);calc (app.js:5)': 1,
  });
});
