// A worker thread joining the main thread's session: the preload (auto.ts) and attachWorker() both
// do it. Loads only the native binding, so a worker starts cheaply.
import { threadId } from 'node:worker_threads';

import { loadNative } from '../native/binding';
import { displayFile } from './symbolize';

/** Samples the calling worker into the running session; throws when there is none. */
export function joinSession(): void {
  const native = loadNative();
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
