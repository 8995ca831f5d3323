// Production mode through the preload: the HTTP endpoint of a running app, snapshots on SIGUSR2, the
// push of each period to a Pyroscope-compatible receiver, and memory over many periods.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { readProfile } from '../../dist/formats/render.js';
import { fixtures, preload, receiver, reply, requireTool, root, tempDir, toolWorks } from '../lib/helpers.mjs';

const app = path.join(fixtures, 'busy-slices.js');
const goWorks = toolWorks('go', ['version']);

/** Starts the app with the preload; resolves stdout/stderr/status at exit, and lets tests wait for a stderr line. */
function startApp(env) {
  const child = spawn(process.execPath, ['-r', preload, app], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', SFPROF_TIMER: 'itimer', SFPROF_INTERVAL: '1ms', ...env },
  });
  let stdout = '';
  let stderr = '';
  const waiters = [];
  child.stdout.on('data', (data) => (stdout += data));
  child.stderr.on('data', (data) => {
    stderr += data;
    for (const waiter of waiters.splice(0)) waiter();
  });
  const done = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr })));
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  done.then(() => clearTimeout(kill));
  return {
    child,
    done,
    /** Resolves with the first match of `pattern` in stderr (rejects if the app exits first). */
    async stderrMatch(pattern) {
      for (;;) {
        const match = pattern.exec(stderr);
        if (match) return match;
        const exited = await Promise.race([new Promise((resolve) => waiters.push(() => resolve(false))), done.then(() => true)]);
        if (exited && !pattern.exec(stderr)) throw new Error(`app exited without ${pattern}: ${stderr}`);
      }
    },
  };
}

test('HTTP endpoint: a running app serves pprof and a flame graph of the next N seconds; 400, 429; go tool pprof reads it', async (t) => {
  const dir = tempDir();
  const output = path.join(dir, 'app.pb.gz');
  const run = startApp({ RUN_MS: '9000', SFPROF_HTTP: '127.0.0.1:0', SFPROF_OUTPUT: output });
  const [, port] = await run.stderrMatch(/serving profiles on http:\/\/127\.0\.0\.1:(\d+)\//);
  const base = `http://127.0.0.1:${port}`;

  const first = fetch(`${base}/debug/pprof/profile?seconds=2`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const second = await fetch(`${base}/debug/sfprof/flamegraph?seconds=1`);
  assert.equal(second.status, 429, 'one profile at a time');
  assert.ok(Number(second.headers.get('retry-after')) >= 1);
  const response = await first;
  assert.equal(response.status, 200);
  const window = readProfile(Buffer.from(await response.arrayBuffer()), 'window.pb.gz');
  assert.ok(window.totalSamples > 50, `2 s of a busy app at 1 ms: ${window.totalSamples} samples`);

  const bad = await fetch(`${base}/debug/pprof/profile?seconds=abc`);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /seconds.*"abc".*expected an integer/);

  const page = await fetch(`${base}/debug/sfprof/flamegraph?seconds=1`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="application\/json" id="sfprof-data">/);

  if (requireTool(t, 'go', goWorks, 'golang-go')) {
    const { stdout } = await promisify(execFile)('go', ['tool', 'pprof', '-raw', `${base}/debug/pprof/profile?seconds=1`], { timeout: 60_000 });
    assert.match(stdout, /Samples:\nsamples\/count cpu\/nanoseconds/);
  }

  // The server never keeps the app alive: it ends when its work does, with its profile.
  const result = await run.done;
  assert.equal(result.status, 0, result.stderr);
  const whole = readProfile(fs.readFileSync(output), output);
  assert.ok(whole.totalSamples > window.totalSamples, 'the exit profile has the whole run, windows included');
});

test('SIGUSR2 writes a snapshot and sampling goes on; an app that listens for SIGUSR2 keeps it', async () => {
  for (const appListens of [false, true]) {
    const dir = tempDir();
    const output = path.join(dir, 'app.folded');
    const run = startApp({ RUN_MS: '2500', SFPROF_OUTPUT: output, SFPROF_SNAPSHOT_SIGNAL: 'SIGUSR2', APP_USR2: appListens ? '1' : '0' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run.child.kill('SIGUSR2');
    const result = await run.done;
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.signal, null);
    const snapshots = fs.readdirSync(dir).filter((f) => /^app-snapshot-\d{8}T\d{6}\.\d{3}Z\.folded$/.test(f));
    const whole = readProfile(fs.readFileSync(output), output);
    if (appListens) {
      assert.match(result.stdout, /app got SIGUSR2/);
      assert.deepEqual(snapshots, [], 'the app\'s own signal');
    } else {
      assert.equal(snapshots.length, 1, fs.readdirSync(dir).join(', '));
      const snapshot = readProfile(fs.readFileSync(path.join(dir, snapshots[0])), snapshots[0]);
      assert.ok(snapshot.totalSamples > 10);
      assert.ok(whole.totalSamples > snapshot.totalSamples, 'sampling went on after the snapshot');
      assert.match(result.stderr, /wrote a snapshot of \d+ samples/);
    }
  }
});

/** A Pyroscope-compatible receiver that answers every upload with `status`. */
const answering = (status, options) => receiver((_entry, response) => reply(response, status), options);
/** A receiver that takes uploads and never answers. */
const stalled = () => receiver(() => {});

test('Pyroscope push: each period arrives as pprof with the app name, tags and times; the token is sent, never printed', async (t) => {
  const backend = await answering(200);
  const dir = tempDir();
  const run = startApp({
    RUN_MS: '3500',
    SFPROF_OUTPUT: path.join(dir, 'app.pb.gz'),
    SFPROF_PERIOD: '1s',
    SFPROF_PYROSCOPE_URL: backend.url,
    SFPROF_PYROSCOPE_APP: 'shop-api',
    SFPROF_PYROSCOPE_TAGS: 'region=eu1',
    SFPROF_PYROSCOPE_TOKEN_VAR: 'SHOP_PROFILES_TOKEN',
    SHOP_PROFILES_TOKEN: 'secret-token-123',
  });
  const result = await run.done;
  await backend.close();
  assert.equal(result.status, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /secret-token-123/);
  // Three periods end while the app runs; the last, partial one is pushed at exit.
  assert.ok(backend.requests.length >= 3, `${backend.requests.length} uploads`);
  for (const request of backend.requests) {
    assert.equal(request.url.pathname, '/ingest');
    const name = request.url.searchParams.get('name');
    assert.match(name, /^shop-api\{.*region=eu1.*\}$/);
    assert.match(name, /pid=\d+/);
    assert.equal(request.url.searchParams.get('format'), 'pprof');
    const from = Number(request.url.searchParams.get('from'));
    const until = Number(request.url.searchParams.get('until'));
    assert.ok(from > 1.7e9 && until >= from, `${from}..${until} in seconds`);
    assert.equal(request.headers.authorization, 'Bearer secret-token-123');
    const profile = readProfile(request.body, 'upload.pb.gz');
    assert.ok(profile.totalSamples > 0);
  }
  if (requireTool(t, 'go', goWorks, 'golang-go')) {
    const file = path.join(dir, 'upload.pb.gz');
    fs.writeFileSync(file, backend.requests[0].body);
    const { stdout } = await promisify(execFile)('go', ['tool', 'pprof', '-raw', file], { timeout: 60_000 });
    assert.match(stdout, /samples\/count cpu\/nanoseconds/);
  }
});

test('Pyroscope push to a failing or stalled backend: the app runs and exits as usual, one warning', async () => {
  for (const mode of ['failing', 'stalled']) {
    const backend = mode === 'failing' ? await answering(500) : await stalled();
    const dir = tempDir();
    const run = startApp({
      RUN_MS: '3000',
      SFPROF_OUTPUT: path.join(dir, 'app.pb.gz'),
      SFPROF_PERIOD: '1s',
      SFPROF_PYROSCOPE_URL: backend.url,
    });
    const result = await run.done;
    await backend.close();
    assert.equal(result.status, 0, `${mode}: ${result.stderr}`);
    assert.equal(result.signal, null);
    const warnings = result.stderr.split('\n').filter((line) => /push|upload|pyroscope/i.test(line) && !/pushed \d+/.test(line));
    // A failing backend is reported at once; a stalled one only when its 10 s timeout runs out,
    // which this short run does not wait for. Either way no flood, and nothing was acknowledged.
    assert.ok(warnings.length <= 3, `${mode}: ${result.stderr}`);
    if (mode === 'failing') assert.ok(warnings.length >= 1, result.stderr);
    assert.match(result.stderr, /pushed 0, /);
    // The periods were still written locally.
    assert.ok(fs.readdirSync(dir).length >= 2);
  }
});

test('the last period is pushed at exit however the app ends: on its own, by process.exit(), by SIGTERM', async (t) => {
  const backend = await answering(200);
  t.after(backend.close); // also when an assertion fails: an open server would keep this file running
  const ways = {
    'runs out of work': { RUN_MS: '1500' },
    'calls process.exit(0)': { RUN_MS: '1500', EXIT_AT_END: '1' },
    'gets SIGTERM': { RUN_MS: '60000' },
  };
  for (const [how, env] of Object.entries(ways)) {
    const dir = tempDir();
    const before = backend.requests.length;
    // A 60 s period never ends in these runs: the one upload is the period cut at exit.
    const run = startApp({ ...env, SFPROF_OUTPUT: path.join(dir, 'app.pb.gz'), SFPROF_PERIOD: '60s', SFPROF_PYROSCOPE_URL: backend.url });
    if (how === 'gets SIGTERM') {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // a second of work to profile
      run.child.kill('SIGTERM');
    }
    const result = await run.done;
    if (how === 'gets SIGTERM') assert.equal(result.signal, 'SIGTERM', `${how}: ${result.stderr}`);
    else assert.equal(result.status, 0, `${how}: ${result.stderr}`);
    assert.equal(backend.requests.length - before, 1, `${how}: ${result.stderr}`);
    assert.match(result.stderr, /pushed 1, failed 0, dropped 0/, how);
    // The upload is the period's file, byte for byte.
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1, `${how}: ${files.join()}`);
    const upload = backend.requests.at(-1);
    assert.ok(upload.body.equals(fs.readFileSync(path.join(dir, files[0]))), how);
    assert.ok(readProfile(upload.body, 'upload.pb.gz').totalSamples > 0, how);
    assert.equal(upload.url.searchParams.get('format'), 'pprof');
  }
});

test('at exit one attempt at the last upload: no retries for a failing backend, a bounded wait for a stalled one', async (t) => {
  for (const mode of ['failing', 'stalled']) {
    const backend = mode === 'failing' ? await answering(503) : await stalled();
    t.after(backend.close);
    const dir = tempDir();
    const started = Date.now();
    const result = await startApp({ RUN_MS: '1000', SFPROF_OUTPUT: path.join(dir, 'app.pb.gz'), SFPROF_PERIOD: '60s', SFPROF_PYROSCOPE_URL: backend.url }).done;
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.status, 0, `${mode}: ${result.stderr}`);
    assert.equal(backend.requests.length, 1, `${mode}: one attempt at exit`);
    assert.match(result.stderr, /pushed 0, failed 1, dropped 0/, mode);
    assert.match(result.stderr, mode === 'failing' ? /could not push a profile to .*: HTTP 503 \(at exit\)/ : /no answer within 3000 ms \(at exit\)/);
    // The stalled upload is given up after the wait (3 s), long before the request's own 10 s timeout.
    assert.ok(seconds < 30, `${mode}: the app took ${seconds} s`);
    assert.equal(fs.readdirSync(dir).length, 1, 'the period is in its file all the same');
  }
});

test('Pyroscope push over HTTPS: uploads arrive when the app trusts the certificate; an untrusted one costs a warning', async (t) => {
  // A self-signed certificate for 127.0.0.1, made for this test only (test/fixtures/tls).
  const tls = path.join(fixtures, 'tls');
  const backend = await answering(200, { tls: { cert: fs.readFileSync(path.join(tls, 'cert.pem')), key: fs.readFileSync(path.join(tls, 'key.pem')) } });
  t.after(backend.close);
  const { requests, url } = backend;

  // Node reads extra trusted certificates from NODE_EXTRA_CA_CERTS, as it would a private CA's.
  const trusted = await startApp({ RUN_MS: '2500', SFPROF_OUTPUT: path.join(tempDir(), 'app.pb.gz'), SFPROF_PERIOD: '1s', SFPROF_PYROSCOPE_URL: url, NODE_EXTRA_CA_CERTS: path.join(tls, 'cert.pem') }).done;
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.ok(requests.length >= 2, `${requests.length} uploads: ${trusted.stderr}`);
  for (const request of requests) {
    assert.equal(request.url.pathname, '/ingest');
    assert.ok(readProfile(request.body, 'upload.pb.gz').totalSamples > 0);
  }
  assert.match(trusted.stderr, new RegExp(`pushed ${requests.length}, failed 0, dropped 0`));

  // Trusted through OpenSSL's store instead (--use-openssl-ca and SSL_CERT_FILE): the upload at exit,
  // made by a child process, needs the flag passed on, or its certificate check fails.
  const viaOpenssl = requests.length;
  const openssl = await startApp({ RUN_MS: '1500', SFPROF_OUTPUT: path.join(tempDir(), 'app.pb.gz'), SFPROF_PERIOD: '60s', SFPROF_PYROSCOPE_URL: url, NODE_OPTIONS: '--use-openssl-ca', SSL_CERT_FILE: path.join(tls, 'cert.pem') }).done;
  assert.equal(openssl.status, 0, openssl.stderr);
  assert.equal(requests.length - viaOpenssl, 1, openssl.stderr);
  assert.match(openssl.stderr, /pushed 1, failed 0, dropped 0/);

  const before = requests.length;
  const untrusted = await startApp({ RUN_MS: '1500', SFPROF_OUTPUT: path.join(tempDir(), 'app.pb.gz'), SFPROF_PERIOD: '1s', SFPROF_PYROSCOPE_URL: url }).done;
  assert.equal(untrusted.status, 0, untrusted.stderr);
  assert.equal(requests.length, before, 'nothing is sent to a server whose certificate is not trusted');
  assert.match(untrusted.stderr, /could not push a profile to https:\/\/127\.0\.0\.1:\d+\/ingest: .*certificate/);
});

test('an app whose stderr reader is gone keeps running when sfprof has a line to say', async () => {
  // A log collector at the end of the pipe died: a write to process.stderr would emit an unhandled
  // 'error' and end the app. The snapshot's line and the exit line go nowhere, and the app goes on.
  const dir = tempDir();
  const child = spawn(process.execPath, ['-r', preload, app], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', RUN_MS: '2500', SFPROF_PERIOD: '1s', SFPROF_OUTPUT: path.join(dir, 'app.pb.gz') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.destroy();
  const exited = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal })));
  await new Promise((resolve) => setTimeout(resolve, 800));
  child.kill('SIGUSR2');
  assert.deepEqual(await exited, { status: 0, signal: null });
  const files = fs.readdirSync(dir);
  assert.equal(files.filter((f) => f.includes('-snapshot-')).length, 1, files.join());
  assert.ok(files.filter((f) => !f.includes('-snapshot-')).length >= 2, files.join());
});

test('continuous mode over 20 periods at 1 ms: RSS stays flat', async () => {
  const dir = tempDir();
  const run = startApp({
    RUN_MS: '21000',
    RSS_EVERY_MS: '500',
    SFPROF_TIMER: 'perf',
    SFPROF_OUTPUT: path.join(dir, 'app.pb.gz'),
    SFPROF_PERIOD: '1s',
    SFPROF_KEEP: '3',
  });
  const result = await run.done;
  assert.equal(result.status, 0, result.stderr);
  const rss = result.stdout.split('\n').filter((l) => l.startsWith('rss ')).map((l) => Number(l.split(' ')[2]) / 1048576);
  assert.ok(rss.length >= 30, `${rss.length} readings`);
  // After 5 periods of warm-up, 15 more periods of sampling may not lift RSS's floor by more than
  // 16 MB: what a period holds is written and dropped, so only the code map and V8's own heap can
  // grow. The floor (the lowest of the last readings), not the peak: V8's heap swings with the
  // timing of its collections, a leak lifts every reading.
  const warm = Math.max(...rss.slice(8, 12));
  const floor = Math.min(...rss.slice(-8));
  assert.ok(floor <= warm + 16, `RSS ${rss.map((v) => v.toFixed(1)).join(' ')} MB`);
  assert.equal(fs.readdirSync(dir).length, 3);
});

test('HTTP endpoint: the window covers the seconds asked for even when the event loop is busy past its end', async () => {
  // The app asks its own endpoint for 1 s, then keeps the loop busy for 2.5 s: the window's timer
  // fires late, and the profile must still hold that one second.
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const script = `
    const http = require('node:http');
    http.get('http://127.0.0.1:${port}/debug/pprof/profile?seconds=1', (res) => {
      const chunks = []; res.on('data', (c) => chunks.push(c));
      res.on('end', () => { process.stdout.write(Buffer.concat(chunks).toString('base64')); process.exit(0); });
    }).on('finish', () => setTimeout(() => { const end = Date.now() + 2500; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); }, 100));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-r', preload, '-e', script], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', SFPROF_TIMER: 'itimer', SFPROF_INTERVAL: '1ms', SFPROF_HTTP: `127.0.0.1:${port}`, SFPROF_OUTPUT: path.join(tempDir(), 'app.pb.gz') },
  });
  let stdout = '';
  child.stdout.on('data', (data) => (stdout += data));
  const [status] = await once(child, 'exit');
  assert.equal(status, 0);
  const profile = readProfile(Buffer.from(stdout, 'base64'), 'profile.pb.gz');
  assert.equal(profile.metadata.durationNs, 1e9, 'the window is the second asked for');
  // The busy stretch filled the rest of the second and went on 1.5 s past it: at most one second of
  // samples (the tick bounds itimer at ~250 a second), not 2.5.
  assert.ok(profile.totalSamples > 50 && profile.totalSamples <= 300, `one second of samples, got ${profile.totalSamples}`);
});
