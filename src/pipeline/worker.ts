// A worker thread joining the main thread's session: the preload (auto.ts) and attachWorker() both
// do it. Loads only the native binding, so a worker starts cheaply.
import { loadNative } from '../native/binding';
import { displayFile } from './script-file';

/** Samples the calling worker into the running session; throws when there is none. */
export function joinSession(): void {
  const native = loadNative();
  // Required here, not at the top: profiler.ts imports this file on the main thread too, where
  // node:worker_threads would cost every process 2-3 ms (a worker has it loaded already).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { threadId } = require('node:worker_threads') as typeof import('node:worker_threads');
  native.attachThread(threadId);
  // The worker's script is known once its main module has loaded.
  setImmediate(() => {
    const file = require.main?.filename;
    if (!file) return;
    try {
      native.nameThread(displayFile(file, process.cwd()));
    } catch {
      // the name is a nicety
    }
  }).unref();
}
