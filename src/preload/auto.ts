// The preload: `node -r sfprof/auto app.js` (or `--import`). On the main thread it starts the
// session and writes the profile at exit (auto-main.ts). Workers get it too, through execArgv: they
// join the main thread's session, loading only the native binding so that starting a worker stays
// cheap.
import { stderrLine } from '../common/stderr';
import { loadNative, onMainThread } from '../native/binding';

function warn(message: string): void {
  stderrLine(`sfprof: ${message}`);
}

function joinIfRunning(): void {
  try {
    if (!loadNative().sessionRunning()) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('../pipeline/worker') as typeof import('../pipeline/worker')).joinSession();
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { threadId } = require('node:worker_threads') as typeof import('node:worker_threads');
    warn(`worker ${threadId} not profiled: ${message.replace(/^sfprof: /, '')}`);
  }
}

if (onMainThread()) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./auto-main') as typeof import('./auto-main')).run();
} else {
  joinIfRunning();
}
