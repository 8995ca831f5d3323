// The HTTP profile endpoint: routes, the seconds parameter, one profile at a time, go tool pprof
// fetching from it, SFPROF_HTTP parsing, and that the server never keeps a process alive.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { readProfile } from '../../dist/formats/render.js';
import { parseHttpEnv } from '../../dist/config/http.js';
import { startProfileServer } from '../../dist/delivery/http-server.js';
import { OptionError } from '../../dist/config/option-error.js';
import { requireTool, root, tempDir, toolWorks } from '../lib/helpers.mjs';
import { buildTimedProfile } from '../lib/profiles.mjs';

const execFileAsync = promisify(execFile);
const TITLE = 'checkout-api (pid 4242)';
const EXPECTED_TOTAL = buildTimedProfile().totalSamples;

/**
 * A ProfileSource that records the seconds asked. Unless gated, profileFor resolves after a short
 * delay with a hand-built profile; gated, it waits until the test calls release().
 */
function fakeSource({ gated = false, fail } = {}) {
  const waiters = [];
  const pending = [];
  const source = {
    title: TITLE,
    calls: [],
    profileFor(seconds) {
      source.calls.push(seconds);
      for (const waiter of waiters.splice(0)) if (!waiter()) waiters.push(waiter);
      if (fail) return new Promise((_, reject) => setTimeout(() => reject(new Error(fail)), 10));
      return new Promise((resolve) => {
        const done = () => resolve(buildTimedProfile());
        if (gated) pending.push(done);
        else setTimeout(done, 20);
      });
    },
    /** Resolves once profileFor has been called `count` times in all. */
    called(count) {
      if (source.calls.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push(() => source.calls.length >= count && (resolve(), true)));
    },
    release() {
      for (const done of pending.splice(0)) done();
    },
  };
  return source;
}

async function withServer(source, body) {
  const server = await startProfileServer({ host: '127.0.0.1', port: 0 }, source);
  const { port } = server.address();
  try {
    await body(`http://127.0.0.1:${port}`, server);
  } finally {
    await server.close();
  }
}

function assertTextError(response, status) {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type'), /^text\/plain/);
  assert.equal(response.headers.get('x-go-pprof'), '1');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
}

test('profile: 200, pprof that reads back with every sample, seconds passed to the source', async () => {
  const source = fakeSource();
  await withServer(source, async (base) => {
    const response = await fetch(`${base}/debug/pprof/profile?seconds=2`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('content-disposition'), 'attachment; filename="profile"');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    const body = new Uint8Array(await response.arrayBuffer());
    assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b], 'gzipped profile.proto');
    assert.equal(readProfile(body, 'response').totalSamples, EXPECTED_TOTAL);
    assert.deepEqual(source.calls, [2]);

    // Absent means 30, as in Go; the bounds are accepted.
    for (const [query, seconds] of [['', 30], ['?seconds=1', 1], ['?seconds=3600', 3600], ['?seconds=07', 7]]) {
      const again = await fetch(`${base}/debug/pprof/profile${query}`);
      assert.equal(again.status, 200, query);
      await again.arrayBuffer();
      assert.equal(source.calls.at(-1), seconds, query);
    }
    assert.equal(source.calls.length, 5);
  });
});

test('bad seconds values: 400 naming the parameter and the value; the source is not called', async () => {
  const source = fakeSource();
  await withServer(source, async (base) => {
    for (const value of ['abc', '5s', '1.5', '0', '-1', '3601', '99999999', '', '1e3', ' 5', '0x10']) {
      for (const route of ['/debug/pprof/profile', '/debug/sfprof/flamegraph']) {
        const response = await fetch(`${base}${route}?seconds=${encodeURIComponent(value)}`);
        assertTextError(response, 400);
        const text = await response.text();
        assert.ok(text.includes('"seconds"'), `${route} ${JSON.stringify(value)}: ${text}`);
        assert.ok(text.includes(JSON.stringify(value)), `${route} ${JSON.stringify(value)}: ${text}`);
        assert.match(text, /integer from 1 to 3600/);
      }
    }
    assert.deepEqual(source.calls, []);
  });
});

test('one profile at a time: two at once give one 200 and one 429 with Retry-After', async () => {
  const source = fakeSource({ gated: true });
  await withServer(source, async (base) => {
    const url = `${base}/debug/pprof/profile?seconds=5`;
    const requests = [fetch(url), fetch(url)];
    // The profile being taken cannot answer before release(): the first answer is the refusal.
    const first = await Promise.race(requests);
    assertTextError(first, 429);
    assert.match(await first.text(), /already being taken/);
    const retryAfter = first.headers.get('retry-after');
    assert.match(retryAfter, /^\d+$/);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 5, retryAfter);

    // A flame graph is refused too while the profile runs.
    const flame = await fetch(`${base}/debug/sfprof/flamegraph?seconds=1`);
    assertTextError(flame, 429);
    assert.ok(Number(flame.headers.get('retry-after')) >= 1);
    await flame.text();

    source.release();
    const responses = await Promise.all(requests);
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 429]);
    const ok = responses.find((r) => r.status === 200);
    assert.equal(readProfile(new Uint8Array(await ok.arrayBuffer()), 'response').totalSamples, EXPECTED_TOTAL);
    assert.deepEqual(source.calls, [5]);

    // Once it is done, the next one is served.
    const next = fetch(`${base}/debug/pprof/profile?seconds=1`);
    await source.called(2);
    source.release();
    assert.equal((await next).status, 200);
  });
});

test('a client that disconnects before the profile is ready: profile discarded, server goes on', async () => {
  const source = fakeSource({ gated: true });
  await withServer(source, async (base) => {
    const controller = new AbortController();
    const request = fetch(`${base}/debug/pprof/profile?seconds=3`, { signal: controller.signal });
    await source.called(1);
    controller.abort();
    await assert.rejects(request, { name: 'AbortError' });
    // Let the server see the connection close before the profile arrives.
    await new Promise((resolve) => setTimeout(resolve, 100));
    source.release();

    const next = fetch(`${base}/debug/sfprof/flamegraph?seconds=2`);
    await source.called(2);
    source.release();
    const response = await next;
    assert.equal(response.status, 200);
    await response.text();
    assert.deepEqual(source.calls, [3, 2]);
  });
});

test('profileFor rejecting: 503 with its message, and the next request reaches the source', async () => {
  const source = fakeSource({ fail: 'sampling stopped' });
  await withServer(source, async (base) => {
    for (const route of ['/debug/pprof/profile?seconds=1', '/debug/sfprof/flamegraph?seconds=1']) {
      const response = await fetch(`${base}${route}`);
      assertTextError(response, 503);
      assert.match(await response.text(), /sampling stopped/);
    }
    assert.deepEqual(source.calls, [1, 1]);
  });
});

test('flamegraph: HTML page with the title', async () => {
  const source = fakeSource();
  await withServer(source, async (base) => {
    const response = await fetch(`${base}/debug/sfprof/flamegraph?seconds=4`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    const html = await response.text();
    assert.match(html, /^<!doctype html>/i);
    assert.ok(html.includes(`<title>${TITLE}</title>`), 'title');
    assert.deepEqual(source.calls, [4]);
  });
});

test('index, 404 and 405', async () => {
  const source = fakeSource();
  await withServer(source, async (base) => {
    for (const route of ['/', '/debug/pprof/']) {
      const response = await fetch(`${base}${route}`);
      assert.equal(response.status, 200, route);
      assert.match(response.headers.get('content-type'), /^text\/plain/);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      const text = await response.text();
      assert.ok(text.includes('/debug/pprof/profile?seconds=N'), text);
      assert.ok(text.includes('/debug/sfprof/flamegraph?seconds=N'), text);
    }
    for (const route of ['/nope', '/debug/pprof/heap', '/debug/pprof/profile/x', '/debug/sfprof/']) {
      const response = await fetch(`${base}${route}`);
      assertTextError(response, 404);
      assert.match(await response.text(), /not found/);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      for (const route of ['/debug/pprof/profile?seconds=1', '/debug/sfprof/flamegraph', '/']) {
        const response = await fetch(`${base}${route}`, { method });
        assert.equal(response.status, 405, `${method} ${route}`);
        assert.equal(response.headers.get('allow'), 'GET');
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
        await response.arrayBuffer();
      }
    }
    assert.deepEqual(source.calls, []);
  });
});

test('listen errors are one line naming host:port; close() frees the port', async () => {
  const source = fakeSource();
  const first = await startProfileServer({ host: '127.0.0.1', port: 0 }, source);
  const { host, port } = first.address();
  assert.equal(host, '127.0.0.1');
  assert.ok(port > 0);
  await assert.rejects(startProfileServer({ host: '127.0.0.1', port }, source), (error) => {
    assert.ok(error instanceof Error);
    assert.ok(!error.message.includes('\n'), error.message);
    assert.ok(error.message.includes(`127.0.0.1:${port}`), error.message);
    assert.match(error.message, /address already in use/);
    return true;
  });
  await first.close();
  const second = await startProfileServer({ host: '127.0.0.1', port }, source);
  assert.equal(second.address().port, port);
  await second.close();
  await second.close(); // twice is harmless
});

test('parseHttpEnv: forms, port range, loopback rule, garbage', () => {
  assert.equal(parseHttpEnv({}), undefined);
  assert.equal(parseHttpEnv({ SFPROF_HTTP: '' }), undefined);
  const valid = [
    ['127.0.0.1:6060', { host: '127.0.0.1', port: 6060 }],
    ['[::1]:6060', { host: '::1', port: 6060 }],
    ['localhost:6060', { host: 'localhost', port: 6060 }],
    ['LocalHost:80', { host: 'LocalHost', port: 80 }],
    [':6060', { host: '127.0.0.1', port: 6060 }],
    ['127.1.2.3:0', { host: '127.1.2.3', port: 0 }],
    [':65535', { host: '127.0.0.1', port: 65535 }],
    ['[0:0:0:0:0:0:0:1]:7000', { host: '0:0:0:0:0:0:0:1', port: 7000 }],
  ];
  for (const [value, expected] of valid) {
    assert.deepEqual(parseHttpEnv({ SFPROF_HTTP: value }), expected, value);
  }

  const refused = (env, ...patterns) => {
    assert.throws(() => parseHttpEnv(env), (error) => {
      assert.ok(error instanceof OptionError, `${JSON.stringify(env)}: ${error}`);
      assert.ok(!error.message.includes('\n'), error.message);
      for (const pattern of patterns) assert.ok(error.message.includes(pattern), `${JSON.stringify(env)}: ${error.message} lacks ${pattern}`);
      return true;
    });
  };
  for (const value of ['abc', '6060', '127.0.0.1', '127.0.0.1:', ':', ':65536', ':99999', ':-1', ':60x', '::1:6060',
    '[::1]', '[127.0.0.1]:6060', '[nope]:1', '300.1.1.1:80', 'bad host:80', 'a:b:c', 'http://127.0.0.1:6060', ':6.5e3']) {
    refused({ SFPROF_HTTP: value }, 'SFPROF_HTTP', JSON.stringify(value), 'host:port');
  }
  refused({ SFPROF_HTTP: ':70000' }, '0 to 65535');
  refused({ SFPROF_HTTP: '6060' }, ':6060');
  refused({ SFPROF_HTTP: '::1:6060' }, '[::1]:6060');

  // Non-loopback hosts only with SFPROF_HTTP_ALLOW_REMOTE.
  for (const value of ['0.0.0.0:6060', '[::]:6060', '10.1.2.3:6060', 'example.com:6060', '[::ffff:10.0.0.1]:80']) {
    refused({ SFPROF_HTTP: value }, 'SFPROF_HTTP', JSON.stringify(value), 'not a loopback address', 'SFPROF_HTTP_ALLOW_REMOTE=1');
    refused({ SFPROF_HTTP: value, SFPROF_HTTP_ALLOW_REMOTE: '0' }, 'SFPROF_HTTP_ALLOW_REMOTE=1');
    refused({ SFPROF_HTTP: value, SFPROF_HTTP_ALLOW_REMOTE: '' }, 'SFPROF_HTTP_ALLOW_REMOTE=1');
    const parsed = parseHttpEnv({ SFPROF_HTTP: value, SFPROF_HTTP_ALLOW_REMOTE: '1' });
    assert.equal(parsed.port, value === '[::ffff:10.0.0.1]:80' ? 80 : 6060, value);
  }
  assert.deepEqual(parseHttpEnv({ SFPROF_HTTP: '0.0.0.0:0', SFPROF_HTTP_ALLOW_REMOTE: '1' }), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parseHttpEnv({ SFPROF_HTTP: '[::ffff:127.0.0.1]:80' }), { host: '::ffff:127.0.0.1', port: 80 });
  refused({ SFPROF_HTTP: '0.0.0.0:6060', SFPROF_HTTP_ALLOW_REMOTE: 'maybe' }, 'SFPROF_HTTP_ALLOW_REMOTE', '"maybe"', 'expected 1');
});

const goWorks = toolWorks('go', ['version']);

async function goPprof(url) {
  // go tool pprof saves what it fetches under PPROF_TMPDIR ($HOME/pprof otherwise).
  const env = { ...process.env, PPROF_TMPDIR: tempDir('sfprof-pprof-') };
  try {
    const { stdout, stderr } = await execFileAsync('go', ['tool', 'pprof', '-raw', url], { env, timeout: 120_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { status: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

test('go tool pprof fetches a profile over HTTP and prints every sample', async (t) => {
  if (!requireTool(t, 'go', goWorks, 'golang-go')) return;
  const source = fakeSource();
  await withServer(source, async (base) => {
    const run = await goPprof(`${base}/debug/pprof/profile?seconds=1`);
    assert.equal(run.status, 0, run.stderr);
    const section = run.stdout.split('\nSamples:\n')[1].split('\nLocations')[0];
    const counts = section.split('\n').slice(1).map((line) => /^\s*(\d+)(?:\s+(\d+))?:/.exec(line)).filter(Boolean);
    assert.equal(counts.reduce((sum, m) => sum + Number(m[1]), 0), EXPECTED_TOTAL, run.stdout);
    assert.match(run.stdout, /Comment: sfprof\.engine=/);
    assert.deepEqual(source.calls, [1]);
  });
});

test('go tool pprof shows the reason for a 400', async (t) => {
  if (!requireTool(t, 'go', goWorks, 'golang-go')) return;
  const source = fakeSource();
  await withServer(source, async (base) => {
    const run = await goPprof(`${base}/debug/pprof/profile?seconds=0`);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /400 Bad Request - invalid value for "seconds": "0"; expected an integer from 1 to 3600/);
    assert.deepEqual(source.calls, []);
  });
});

/** Runs `node -e code`; resolves with its exit status, signal, stdout and stderr, calling onLine per stdout line. */
function runChild(code, onLine = () => {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const lines = (stdout + chunk).split('\n').slice(stdout.split('\n').length - 1);
      stdout += chunk;
      for (const line of lines.slice(0, -1)) onLine(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

const serverModule = JSON.stringify(path.join(root, 'dist', 'delivery', 'http-server.js'));

test('the server never keeps a process alive: idle, or with a profile request in progress', async () => {
  const idle = await runChild(`
    const { startProfileServer } = require(${serverModule});
    startProfileServer({ host: '127.0.0.1', port: 0 }, { title: 't', profileFor: () => new Promise(() => {}) })
      .then((server) => console.log('listening', server.address().port));
  `);
  assert.equal(idle.signal, null, `killed: ${idle.stderr}`);
  assert.equal(idle.status, 0, idle.stderr);
  assert.match(idle.stdout, /^listening [1-9]\d*$/m);

  // The child stays up (a timer) until a profile request arrives, then has only the server, the
  // request's socket and a profile that never comes: it must still exit.
  let request;
  const busy = await runChild(`
    const { startProfileServer } = require(${serverModule});
    const keep = setInterval(() => {}, 1000);
    const source = { title: 't', profileFor() { clearInterval(keep); return new Promise(() => {}); } };
    startProfileServer({ host: '127.0.0.1', port: 0 }, source)
      .then((server) => console.log('listening', server.address().port));
  `, (line) => {
    const port = /^listening (\d+)$/.exec(line)?.[1];
    if (port) request = fetch(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=1`).then((r) => r.status, (e) => e);
  });
  assert.equal(busy.signal, null, `killed: ${busy.stderr}`);
  assert.equal(busy.status, 0, busy.stderr);
  assert.ok(request, busy.stdout);
  const outcome = await request;
  assert.ok(outcome instanceof Error, `the request was answered (${outcome}) instead of cut off by the exit`);
});
