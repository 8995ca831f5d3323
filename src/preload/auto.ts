// The preload: `node -r sfprof/auto app.js` (or `--import`). On the main thread it starts the
// session and writes the profile at exit (auto-main.ts). Workers get it too, through execArgv: they
// join the main thread's session, loading only the native binding so that starting a worker stays
// cheap.
import { isMainThread, threadId } from 'node:worker_threads';

import { stderrLine } from '../common/stderr';

function warn(message: string): void {
  stderrLine(`sfprof: ${message}`);
}

function joinIfRunning(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadNative } = require('../native/binding') as typeof import('../native/binding');
    if (!loadNative().sessionRunning()) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('../pipeline/worker') as typeof import('../pipeline/worker')).joinSession();
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    warn(`worker ${threadId} not profiled: ${message.replace(/^sfprof: /, '')}`);
  }
}

if (isMainThread) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./auto-main') as typeof import('./auto-main')).run();
} else {
  joinIfRunning();
}
