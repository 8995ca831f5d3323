// Output formats: names, file extensions, the dispatch from a Profile to bytes (render-profile.ts). Readers
// detect their format from the content, so `sfprof report` takes any file sfprof wrote.
import type { Format } from '../config/format-names';
import type { Profile } from '../model/profile';
import { readCpuProfile } from './readers/cpuprofile';
import { readFolded } from './readers/folded';
import { InputError } from './readers/input-error';
import { isGzip, readPprof } from './readers/pprof';

export { chooseFormat, EXTENSIONS, formatFromPath, FORMATS, parseFormat, type Format } from '../config/format-names';

export { renderProfile, type RenderOptions } from './render-profile';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Which format the bytes hold, by content. Every pprof profile holds a NUL byte (its string table
 * starts with the empty string); text formats hold none. "{" starts a .cpuprofile only as a JSON
 * object ("{closure} (a.php:1) 3" is a folded line), and "<" an HTML page only as a document
 * ("<module> (app.py:1);run 5" is folded too).
 */
export function detectFormat(data: Uint8Array): Format {
  if (isGzip(data) || data.includes(0)) return 'pprof';
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return 'pprof';
  }
  const start = text.trimStart();
  if (/^\{\s*["}]/.test(start)) return 'cpuprofile';
  if (/^<(!doctype html|html)[\s>]/i.test(start)) return 'html';
  return 'folded';
}

/** Reads any profile sfprof can read. `name` (a path or "stdin") goes into error messages. */
export function readProfile(data: Uint8Array, name: string): Profile {
  const format = detectFormat(data);
  try {
    switch (format) {
      case 'pprof':
        return readPprof(data);
      case 'cpuprofile':
        return readCpuProfile(Buffer.from(data).toString('utf8'));
      case 'html':
        throw new InputError('an HTML flame graph cannot be read back; convert the folded, pprof or .cpuprofile file instead');
      case 'folded':
        return readFolded(Buffer.from(data).toString('utf8'));
    }
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${name} (${format}): ${error.message}`);
    throw error;
  }
}
