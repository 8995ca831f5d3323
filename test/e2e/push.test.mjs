// The Pyroscope push client against a local receiver: the request it sends, retries, the bounded
// queue, warnings, that it never keeps a process alive and never shows the token.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { pathToFileURL } from 'node:url';

import { OptionError } from '../../dist/config/option-error.js';
import { parsePushEnv } from '../../dist/config/push.js';
import { Pusher } from '../../dist/delivery/push.js';
import { receiver, reply, requireTool, root, tempDir, toolWorks } from '../lib/helpers.mjs';
import { buildTimedProfile, emptyProfile } from '../lib/profiles.mjs';

const TOKEN = 'tok-5ecret-Qx81';
const T0 = 1_700_000_000_000;

/** A pusher whose warnings are captured. */
function makePusher(url, overrides = {}) {
  const warnings = [];
  const pusher = new Pusher({
    url,
    appName: 'svc',
    tags: { hostname: 'h1', pid: '42' },
    authToken: TOKEN,
    backoffBaseMs: 5,
    warn: (line) => warnings.push(line),
    ...overrides,
  });
  return { pusher, warnings };
}

/**
 * Awaits `promise` with the event loop held open: the pusher's own sockets and timers are unref'd,
 * so with no receiver listening nothing else would keep this process waiting for them.
 */
async function keepAlive(promise) {
  const hold = setInterval(() => {}, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(hold);
  }
}

function assertNoToken(warnings, stats) {
  for (const line of warnings) assert.ok(!line.includes(TOKEN), `token in warning: ${line}`);
  assert.ok(!(stats.lastError ?? '').includes(TOKEN), `token in lastError: ${stats.lastError}`);
}

test('POSTs raw gzipped pprof to <url>/ingest with the series name, times in seconds, token and tenant', async (t) => {
  const rx = await receiver((_entry, res) => reply(res, 200));
  t.after(() => rx.close());
  const { pusher, warnings } = makePusher(rx.url, { tags: { hostname: 'h1', pid: '42', version: '1.2' }, tenant: 'team-a' });
  const profile = buildTimedProfile();
  pusher.push(profile, T0, T0 + 10_000);
  // A measured sample weight sets sampleRate; a sub-second range still covers a whole second.
  pusher.push(emptyProfile({ sampleWeightNs: 2_000_000 }), T0 + 10_400, T0 + 10_900);
  await pusher.flush();

  assert.deepEqual(pusher.stats(), { sent: 2, failed: 0, dropped: 0, retries: 0 });
  assert.deepEqual(warnings, []);
  assert.equal(rx.requests.length, 2);
  const [first, second] = rx.requests;
  assert.equal(first.method, 'POST');
  assert.equal(first.url.pathname, '/ingest');
  // The query is URL-encoded: no raw braces or commas on the wire.
  assert.doesNotMatch(first.rawUrl, /[{},]/);
  assert.deepEqual(Object.fromEntries(first.url.searchParams), {
    name: 'svc{hostname=h1,pid=42,version=1.2}',
    from: '1700000000',
    until: '1700000010',
    format: 'pprof',
    spyName: 'sfprof',
    sampleRate: '1000', // intervalUs 1000 and no measured weight: 1 ms a sample
  });
  assert.equal(first.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(first.headers['x-scope-orgid'], 'team-a');
  assert.equal(first.headers['content-type'], 'application/octet-stream');
  assert.deepEqual([...first.body.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
  assert.equal(Number(first.headers['content-length']), first.body.length);

  assert.equal(second.url.searchParams.get('sampleRate'), '500');
  assert.equal(second.url.searchParams.get('from'), '1700000010');
  assert.equal(second.url.searchParams.get('until'), '1700000011');
});

test('a base URL with a path prefix and a trailing slash; no token or tenant: no such headers', async (t) => {
  const rx = await receiver((_entry, res) => reply(res, 204));
  t.after(() => rx.close());
  const { pusher } = makePusher(`${rx.url}/pyroscope/`, { authToken: undefined, tags: {} });
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await pusher.flush();
  assert.equal(pusher.stats().sent, 1);
  assert.equal(rx.requests[0].url.pathname, '/pyroscope/ingest');
  assert.equal(rx.requests[0].url.searchParams.get('name'), 'svc{}');
  assert.equal(rx.requests[0].headers.authorization, undefined);
  assert.equal(rx.requests[0].headers['x-scope-orgid'], undefined);
});

const goWorks = toolWorks('go', ['version']);

test('the uploaded body decodes with go tool pprof -raw and holds every sample', async (t) => {
  if (!requireTool(t, 'go', goWorks, 'golang-go')) return;
  const rx = await receiver((_entry, res) => reply(res, 200));
  t.after(() => rx.close());
  const { pusher } = makePusher(rx.url);
  const profile = buildTimedProfile();
  pusher.push(profile, T0, T0 + 10_000);
  await pusher.flush();
  assert.equal(pusher.stats().sent, 1);

  const file = path.join(tempDir('sfprof-push-'), 'upload.pb.gz');
  fs.writeFileSync(file, rx.requests[0].body);
  const raw = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(raw.status, 0, raw.stderr);
  const section = raw.stdout.split('\nSamples:\n')[1]?.split('\nLocations')[0];
  assert.ok(section, `no Samples section in:\n${raw.stdout}`);
  const counts = section.split('\n').slice(1).map((line) => /^\s*(\d+)(?:\s+(\d+))?:/.exec(line)).filter(Boolean);
  assert.ok(counts.length > 0);
  assert.equal(counts.reduce((sum, m) => sum + Number(m[1]), 0), profile.totalSamples);
});

test('500 twice then 200: retried twice and sent once, no warning', async (t) => {
  const rx = await receiver((_entry, res, n) => (n <= 2 ? reply(res, 500, '{"code":"internal","message":"boom"}') : reply(res, 200)));
  t.after(() => rx.close());
  const { pusher, warnings } = makePusher(rx.url);
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await pusher.flush();
  assert.deepEqual(pusher.stats(), { sent: 1, failed: 0, dropped: 0, retries: 2 });
  assert.equal(rx.requests.length, 3);
  assert.ok(rx.requests.every((r) => r.body.equals(rx.requests[0].body)), 'every try sends the same body');
  assert.deepEqual(warnings, []);
});

test('429 is retried too', async (t) => {
  const rx = await receiver((_entry, res, n) => (n === 1 ? reply(res, 429) : reply(res, 200)));
  t.after(() => rx.close());
  const { pusher } = makePusher(rx.url);
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await pusher.flush();
  assert.deepEqual(pusher.stats(), { sent: 1, failed: 0, dropped: 0, retries: 1 });
});

test('400: not retried, counted failed, one warning naming the status', async (t) => {
  const rx = await receiver((_entry, res) => reply(res, 400, '{"code":"invalid_argument","message":"bad name"}'));
  t.after(() => rx.close());
  const { pusher, warnings } = makePusher(rx.url);
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await pusher.flush();
  const stats = pusher.stats();
  assert.equal(stats.failed, 1);
  assert.equal(stats.retries, 0);
  assert.equal(stats.sent, 0);
  assert.match(stats.lastError, /HTTP 400.*bad name/);
  assert.equal(rx.requests.length, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /could not push a profile to http:\/\/127\.0\.0\.1:\d+\/ingest: HTTP 400/);
  assertNoToken(warnings, stats);
});

test('a receiver that never answers: each try times out, the upload fails after maxAttempts, flush resolves', async (t) => {
  const rx = await receiver(() => {});
  t.after(() => rx.close());
  const { pusher, warnings } = makePusher(rx.url, { timeoutMs: 300, maxAttempts: 3 });
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await pusher.flush();
  assert.deepEqual(pusher.stats(), { sent: 0, failed: 1, dropped: 0, retries: 2, lastError: 'no answer within 300 ms (3 attempts)' });
  assert.equal(rx.requests.length, 3);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /no answer within 300 ms/);
});

test('a backend that is down: failures after the first cost no more warnings, push never throws', async () => {
  // A port that was just free: connections are refused.
  const probe = http.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const url = `http://127.0.0.1:${probe.address().port}`;
  await new Promise((resolve) => probe.close(resolve));
  const { pusher, warnings } = makePusher(url, { maxAttempts: 2 });
  for (let i = 0; i < 3; i++) {
    pusher.push(emptyProfile(), T0 + i * 1000, T0 + (i + 1) * 1000);
    await keepAlive(pusher.flush());
  }
  const stats = pusher.stats();
  assert.equal(stats.failed, 3);
  assert.equal(stats.retries, 3);
  assert.match(stats.lastError, /ECONNREFUSED/);
  assert.equal(warnings.length, 1);
});

test('bad input to push counts a failure instead of throwing', async () => {
  const { pusher, warnings } = makePusher('http://127.0.0.1:9');
  assert.doesNotThrow(() => pusher.push(emptyProfile(), Number.NaN, T0));
  assert.doesNotThrow(() => pusher.push({}, T0, T0 + 1000));
  await pusher.flush();
  assert.equal(pusher.stats().failed, 2);
  assert.equal(pusher.stats().sent, 0);
  assert.equal(warnings.length, 1, 'the second failure falls in the same minute');
  assert.match(warnings[0], /could not prepare the upload/);
});

test('the queue is bounded: with a stalled receiver, 10 pushes keep maxQueued and drop the oldest queued', async (t) => {
  let stall = true;
  const rx = await receiver((_entry, res) => {
    if (!stall) reply(res, 200);
  });
  t.after(() => rx.close());
  const { pusher, warnings } = makePusher(rx.url, { maxQueued: 3, timeoutMs: 600_000 });
  for (let i = 0; i < 10; i++) pusher.push(emptyProfile(), T0 + i * 10_000, T0 + (i + 1) * 10_000);
  assert.equal(pusher.stats().dropped, 7);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /queue full \(3\)/);

  await rx.waitFor(1);
  // Unstall: the hanging request's connection is cut (a network error, retried) and the rest go through.
  stall = false;
  rx.dropConnections();
  await pusher.flush();
  assert.deepEqual(pusher.stats(), { sent: 3, failed: 0, dropped: 7, retries: 1 });
  const froms = rx.requests.map((r) => (Number(r.url.searchParams.get('from')) * 1000 - T0) / 10_000);
  // The first was already in flight; 1–7 were the oldest queued when the queue was full.
  assert.deepEqual(froms, [0, 0, 8, 9]);
});

test('with maxQueued 1 a new profile replaces the one in flight', async (t) => {
  const rx = await receiver((entry, res) => {
    if (entry.url.searchParams.get('from') !== String(T0 / 1000)) reply(res, 200);
  });
  t.after(() => rx.close());
  const { pusher } = makePusher(rx.url, { maxQueued: 1, timeoutMs: 600_000 });
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await rx.waitFor(1);
  pusher.push(emptyProfile(), T0 + 1000, T0 + 2000);
  await pusher.flush();
  assert.deepEqual(pusher.stats(), { sent: 1, failed: 0, dropped: 1, retries: 0 });
  assert.equal(rx.requests.length, 2);
});

test('an upload in flight does not keep the process alive', { timeout: 60_000 }, async (t) => {
  const rx = await receiver(() => {});
  t.after(() => rx.close());
  const script = `
    import { Pusher } from ${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'delivery', 'push.js')).href)};
    import { buildTimedProfile } from ${JSON.stringify(pathToFileURL(path.join(root, 'test', 'lib', 'profiles.mjs')).href)};
    // Long timeouts: only unref'd sockets and timers let this process end before them.
    const pusher = new Pusher({ url: process.env.RECEIVER, appName: 'child', tags: {}, timeoutMs: 3_600_000, backoffBaseMs: 3_600_000 });
    pusher.push(buildTimedProfile(), Date.now() - 1000, Date.now());
    process.once('message', () => {
      console.log(JSON.stringify(pusher.stats()));
      process.disconnect();
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', RECEIVER: rx.url },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit');
  // The child's upload has reached the receiver, which never answers; then the child's own work ends.
  await rx.waitFor(1);
  child.send('done');
  const [code, signal] = await exited;
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { sent: 0, failed: 0, dropped: 0, retries: 0 });
  assert.equal(rx.requests.length, 1);
});

test('the token never shows in warnings or errors, even when the server echoes it', async (t) => {
  const rx = await receiver((entry, res, n) =>
    reply(res, n === 1 ? 401 : 503, JSON.stringify({ message: `rejected ${entry.headers.authorization}` })));
  t.after(() => rx.close());
  const { pusher, warnings } = makePusher(rx.url, { maxAttempts: 2 });
  pusher.push(emptyProfile(), T0, T0 + 1000);
  await pusher.flush();
  pusher.push(emptyProfile(), T0 + 1000, T0 + 2000);
  await pusher.flush();
  const stats = pusher.stats();
  assert.equal(stats.failed, 2);
  assert.equal(stats.retries, 1);
  assert.equal(rx.requests[0].headers.authorization, `Bearer ${TOKEN}`, 'the token was sent');
  assert.match(warnings[0], /HTTP 401: .*rejected Bearer <token>/);
  assert.match(stats.lastError, /HTTP 503: .*rejected Bearer <token>/);
  assertNoToken(warnings, stats);

  // Nor in the errors for a bad token.
  const bad = `${TOKEN}\nX`;
  assert.throws(() => new Pusher({ url: rx.url, appName: 'a', tags: {}, authToken: bad }), (error) => {
    assert.ok(error instanceof OptionError);
    assert.ok(!error.message.includes(TOKEN), error.message);
    return true;
  });
});

test('an echoed token that straddles the cut of a long error text does not leave a piece of itself', async (t) => {
  // The server's text is cut to 200 characters; the token sits across character 200. Every offset
  // around the cut is tried, so some prefix of the token always ends exactly there.
  for (let pad = 185; pad <= 200; pad++) {
    const rx = await receiver((entry, res) => reply(res, 401, `${'x'.repeat(pad)} ${entry.headers.authorization} tail`));
    const { pusher, warnings } = makePusher(rx.url, { maxAttempts: 1 });
    pusher.push(emptyProfile(), T0, T0 + 1000);
    await pusher.flush();
    await rx.close();
    const stats = pusher.stats();
    for (const text of [...warnings, stats.lastError]) {
      for (let length = 4; length <= TOKEN.length; length++) {
        assert.ok(!text.includes(TOKEN.slice(0, length)), `pad ${pad}: ${TOKEN.slice(0, length)} in ${text}`);
      }
    }
  }
});

test('unsent(): uploads queued or in flight', async (t) => {
  const rx = await receiver(() => {});
  t.after(() => rx.close());
  const { pusher } = makePusher(rx.url, { timeoutMs: 60_000 });
  assert.equal(pusher.unsent(), 0);
  pusher.push(emptyProfile(), T0, T0 + 1000);
  pusher.push(emptyProfile(), T0 + 1000, T0 + 2000);
  await keepAlive(rx.waitFor(1));
  assert.equal(pusher.unsent(), 2, 'one in flight, one queued');
});

test('Pusher rejects bad settings with an OptionError naming them', () => {
  const cases = [
    [{ url: 'ftp://x' }, /push option "url" is "ftp:\/\/x"; expected an http:\/\/ or https:\/\/ URL/],
    [{ appName: 'a b' }, /push option "appName" is "a b"; expected/],
    [{ tags: { 'a-b': '1' } }, /tag key "a-b"/],
    [{ tags: { k: 'v,w' } }, /k="v,w"; expected a value/],
    [{ maxQueued: 0 }, /push option "maxQueued" is 0; expected a positive integer/],
  ];
  for (const [override, pattern] of cases) {
    assert.throws(() => new Pusher({ url: 'http://127.0.0.1:4040', appName: 'a', tags: {}, ...override }), (error) => {
      assert.ok(error instanceof OptionError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
  }
});

test('parsePushEnv: off without a URL; reads app, tags, tenant and the token through the variable it names', () => {
  assert.equal(parsePushEnv({}), undefined);
  assert.equal(parsePushEnv({ SFPROF_PYROSCOPE_URL: '' }), undefined);

  const config = parsePushEnv({
    SFPROF_PYROSCOPE_URL: 'https://pyroscope.example:4040/',
    SFPROF_PYROSCOPE_APP: 'checkout-api.v2',
    SFPROF_PYROSCOPE_TAGS: 'region=eu-west-1, version = 1.2.3,',
    SFPROF_PYROSCOPE_TOKEN_VAR: 'MY_PYRO_TOKEN',
    MY_PYRO_TOKEN: TOKEN,
    SFPROF_PYROSCOPE_TENANT: 'team-a',
  });
  assert.deepEqual(config, {
    url: 'https://pyroscope.example:4040/',
    appName: 'checkout-api.v2',
    tags: { region: 'eu-west-1', version: '1.2.3', hostname: os.hostname(), pid: String(process.pid) },
    authToken: TOKEN,
    tenant: 'team-a',
  });

  const given = parsePushEnv({ SFPROF_PYROSCOPE_URL: 'http://127.0.0.1:4040', SFPROF_PYROSCOPE_TAGS: 'hostname=web-1,pid=7' });
  assert.deepEqual(given.tags, { hostname: 'web-1', pid: '7' });
  const script = process.argv[1];
  assert.equal(given.appName, path.basename(script, path.extname(script)).replace(/[^A-Za-z0-9_.-]/g, '_') || 'node');
  assert.equal(given.authToken, undefined);
  assert.equal(given.tenant, undefined);
  // What parsePushEnv gives, Pusher takes.
  assert.doesNotThrow(() => new Pusher(config));
});

test('parsePushEnv: bad values throw an OptionError naming the variable, the value and what is allowed', () => {
  const url = { SFPROF_PYROSCOPE_URL: 'http://127.0.0.1:4040' };
  const cases = [
    [{ SFPROF_PYROSCOPE_URL: 'ftp://host/' }, /SFPROF_PYROSCOPE_URL is "ftp:\/\/host\/"; expected an http:\/\/ or https:\/\/ URL/],
    [{ SFPROF_PYROSCOPE_URL: 'not a url' }, /SFPROF_PYROSCOPE_URL is "not a url"; expected an http:\/\/ or https:\/\/ URL/],
    [{ SFPROF_PYROSCOPE_URL: 'http://h:4040/?x=1' }, /SFPROF_PYROSCOPE_URL is "http:\/\/h:4040\/\?x=1"; expected a base URL without query/],
    // An empty query or fragment too: /ingest would land after it, and uploads would go to /.
    [{ SFPROF_PYROSCOPE_URL: 'http://h:4040/?' }, /SFPROF_PYROSCOPE_URL is "http:\/\/h:4040\/\?"; expected a base URL without query/],
    [{ SFPROF_PYROSCOPE_URL: 'http://h:4040#' }, /SFPROF_PYROSCOPE_URL is "http:\/\/h:4040#"; expected a base URL without query or fragment/],
    [{ ...url, SFPROF_PYROSCOPE_APP: 'my app' }, /SFPROF_PYROSCOPE_APP is "my app"; expected a name of letters, digits, _ \. and -/],
    [{ ...url, SFPROF_PYROSCOPE_APP: 'team/app' }, /SFPROF_PYROSCOPE_APP is "team\/app"/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'env' }, /SFPROF_PYROSCOPE_TAGS is "env"; expected key=value pairs/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'a-b=1' }, /SFPROF_PYROSCOPE_TAGS \("a-b=1"\) has the tag key "a-b"; expected letters, digits and _/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'k=' }, /SFPROF_PYROSCOPE_TAGS \("k="\) has k=""; expected a value that is not empty/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'k=v}' }, /SFPROF_PYROSCOPE_TAGS \("k=v}"\) has k="v}"; expected a value .* none of , \{ \} =/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'k={v' }, /has k="\{v"/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'k=a=b' }, /has k="a=b"/],
    [{ ...url, SFPROF_PYROSCOPE_TAGS: 'k=1,k=2' }, /SFPROF_PYROSCOPE_TAGS is "k=1,k=2"; expected each tag key once/],
    [{ ...url, SFPROF_PYROSCOPE_TOKEN_VAR: 'NO_SUCH_TOKEN_VAR' }, /SFPROF_PYROSCOPE_TOKEN_VAR is "NO_SUCH_TOKEN_VAR", and NO_SUCH_TOKEN_VAR is not set/],
    [{ ...url, SFPROF_PYROSCOPE_TOKEN_VAR: 'bad-name' }, /SFPROF_PYROSCOPE_TOKEN_VAR is "bad-name"; expected the name of the environment variable/],
    [{ ...url, SFPROF_PYROSCOPE_TENANT: 'a b' }, /SFPROF_PYROSCOPE_TENANT is "a b"; expected a tenant id/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(() => parsePushEnv(env), (error) => {
      assert.ok(error instanceof OptionError, String(error));
      assert.match(error.message, pattern);
      return true;
    }, JSON.stringify(env));
  }

  // Secrets stay out of the messages: a token with a bad character, credentials in the URL.
  for (const [env, secret] of [
    [{ ...url, SFPROF_PYROSCOPE_TOKEN_VAR: 'T', T: `${TOKEN} x` }, TOKEN],
    [{ SFPROF_PYROSCOPE_URL: `http://user:${TOKEN}@h:4040` }, TOKEN],
  ]) {
    assert.throws(() => parsePushEnv(env), (error) => {
      assert.ok(error instanceof OptionError, String(error));
      assert.match(error.message, /SFPROF_PYROSCOPE_TOKEN_VAR/);
      assert.ok(!error.message.includes(secret), error.message);
      return true;
    });
  }
});
