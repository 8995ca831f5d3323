// The upload at exit, on the app's side: the app is exiting and its event loop can no longer wait
// for a request, so one upload runs in a short-lived child process (push-exit-child.ts) that the exit
// waits for, with a deadline.
import { join } from 'node:path';

import { PACKAGE_ROOT } from '../common/package-root';
import type { PostOutcome } from './push-request';

/** Variables the exit upload's child takes from this process: where to find trusted certificates. */
const EXIT_CHILD_ENV = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_TLS_REJECT_UNAUTHORIZED'];
/** Node flags that choose the trusted certificates; the child gets the ones this process has. */
const EXIT_CHILD_FLAGS = ['--use-openssl-ca', '--use-bundled-ca', '--use-system-ca'];

function tlsFlags(): string[] {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return EXIT_CHILD_FLAGS.filter((flag) => given.includes(flag));
}

/** Why `process.execPath` cannot run the exit upload's script, or undefined when it can. */
function execPathUnfit(): string | undefined {
  if (process.versions['electron']) return 'Electron';
  try {
    // node:sea exists from Node 20.12; a single executable application runs itself, not a script.
    const sea = require('node:sea') as { isSea?: () => boolean };
    if (sea.isSea?.()) return 'a single executable application';
  } catch {
    // no node:sea: not one
  }
  return undefined;
}

/** Runs one upload in a child process and waits for it, `deadlineMs` at most. */
export function runExitUpload(url: URL, body: Buffer, headers: Record<string, string>, deadlineMs: number): PostOutcome {
  const unfit = execPathUnfit();
  if (unfit) return { ok: false, retry: false, error: `no upload at exit in ${unfit}` };
  const env: Record<string, string> = { SFPROF_PUSH_EXIT: JSON.stringify({ url: url.href, headers, timeoutMs: deadlineMs }) };
  for (const name of EXIT_CHILD_ENV) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const child = spawnSync(process.execPath, [...tlsFlags(), join(PACKAGE_ROOT, 'dist', 'delivery', 'push-exit-child.js')], {
    input: body,
    env,
    timeout: deadlineMs + 500,
    killSignal: 'SIGKILL',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024,
    windowsHide: true,
  });
  if (child.error) {
    const timedOut = (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    return { ok: false, retry: false, error: timedOut ? `no answer within ${deadlineMs} ms` : `could not start the upload: ${child.error.message}` };
  }
  try {
    return JSON.parse(String(child.stdout).trim().split('\n').pop() ?? '') as PostOutcome;
  } catch {
    const said = String(child.stderr).replace(/\s+/g, ' ').trim().slice(0, 200);
    return { ok: false, retry: false, error: `the upload's process ended with ${child.signal ?? `status ${child.status}`}${said ? `: ${said}` : ''}` };
  }
}

