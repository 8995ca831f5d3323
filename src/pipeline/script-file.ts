// Where a script V8 names by URL is on disk, for the readers of its source (line mode, inlined
// callers): an absolute path for file:// URLs and plain paths, nothing for node: internals and
// scripts without a file.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export function scriptFile(url: string): string | undefined {
  if (url.startsWith('node:')) return undefined;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    return path.isAbsolute(file) ? file : undefined;
  } catch {
    return undefined;
  }
}
