// Shared helpers for tests that run real Node processes with the preload.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const preload = path.join(root, 'dist', 'bundle', 'auto.js');
export const fixtures = path.join(root, 'test', 'fixtures');

const tempDirs = [];
/**
 * A new directory under the system's temp directory. It is removed when the process exits with
 * status 0; after a failure it stays, for the messages that name it.
 */
export function tempDir(prefix = 'sfprof-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (tempDirs.push(dir) === 1) {
    process.on('exit', (code) => {
      if (code !== 0) return;
      for (const made of tempDirs) fs.rmSync(made, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Runs `node [nodeArgs] script [args]` and returns status, signal, stdout, stderr. */
export function runNode(nodeArgs, { env = {}, cwd = root, timeout = 60_000, input } = {}) {
  const result = spawnSync(process.execPath, nodeArgs, {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    encoding: 'utf8',
    timeout,
    input,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr, error: result.error };
}

export function parseFoldedFile(file) {
  const text = fs.readFileSync(file, 'utf8');
  const stacks = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const match = /^(.+) (\d+)$/.exec(line);
    if (!match) throw new Error(`malformed folded line: ${JSON.stringify(line)}`);
    stacks.push({ frames: match[1].split(';'), count: Number(match[2]) });
  }
  return stacks;
}

export function total(stacks, predicate = () => true) {
  return stacks.filter(predicate).reduce((sum, s) => sum + s.count, 0);
}

/** True when `command args…` runs and exits 0. */
export function toolWorks(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return result.status === 0;
}

/**
 * For tests that need an outside tool (go, chromium). True when it is available. Otherwise the test
 * fails when SFPROF_REQUIRE_TOOLS=1 (CI, which installs them, where a skip would hide a missing
 * dependency) and is skipped elsewhere, naming what to install.
 */
export function requireTool(t, name, available, debianPackage = name) {
  if (available) return true;
  const message = `${name} not installed (Debian package ${debianPackage})`;
  if (process.env.SFPROF_REQUIRE_TOOLS === '1') {
    assert.fail(`${message}; SFPROF_REQUIRE_TOOLS=1 requires it: apt-get install ${debianPackage}` +
      (name === 'chromium' ? ', or set SFPROF_CHROMIUM to a Chromium binary' : ''));
  }
  t.skip(message);
  return false;
}

/**
 * A receiver of uploads on 127.0.0.1, over HTTPS when given `tls` ({ cert, key }), else HTTP.
 * `answer(entry, res, n)` answers the n-th request (1-based) or leaves it hanging; every request is
 * recorded with its query, headers and body.
 */
export async function receiver(answer, { tls } = {}) {
  const requests = [];
  const sockets = new Set();
  const waiting = [];
  const server = (tls ? https.createServer.bind(undefined, tls) : http.createServer)((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method,
        rawUrl: req.url,
        url: new URL(req.url, 'http://receiver'),
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(entry);
      answer(entry, res, requests.length);
      for (const w of waiting.filter((w) => requests.length >= w.count)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`,
    requests,
    /** Resolves once `count` requests have arrived. */
    waitFor(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ count, resolve }));
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

export function reply(res, status, body = '') {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
}
