// Where a script V8 names by URL is on disk, for the readers of its source (line mode, inlined
// callers): an absolute path for file:// URLs and plain paths, nothing for node: internals and
// scripts without a file. And how a profile shows it (displayFile).
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

/** Display form of a script: relative to `cwd` when under it, absolute otherwise, node:… kept. */
export function displayFile(url: string, cwd: string): string {
  let file = url;
  if (url.startsWith('file://')) {
    try {
      file = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  if (path.isAbsolute(file)) {
    const relative = path.relative(cwd, file);
    const outside = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
    if (relative && !outside) return relative;
  }
  return file;
}
