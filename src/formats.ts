// Output formats: names, file extensions, and the one dispatch from a Profile to bytes. Readers
// detect their format from the content, so `sfprof report` takes any file sfprof wrote.
import type { Format } from './format-names';
import type { Profile } from './profile';
import { readCpuProfile } from './readers/cpuprofile';
import { readFolded } from './readers/folded';
import { InputError } from './readers/input-error';
import { isGzip, readPprof } from './readers/pprof';
import { writeCpuProfile } from './writers/cpuprofile';
import { writeFolded } from './writers/folded';
import { writeHtml } from './writers/html';
import { writePprof } from './writers/pprof';

export { chooseFormat, EXTENSIONS, formatFromPath, FORMATS, parseFormat, type Format } from './format-names';

export interface RenderOptions {
  /** Folded: append "_[j]"/"_[i]" tier suffixes. */
  tiers?: boolean;
  /** HTML: the page title. */
  title?: string;
}

export function renderProfile(profile: Profile, format: Format, options: RenderOptions = {}): string | Buffer {
  switch (format) {
    case 'folded':
      return writeFolded(profile, { tiers: options.tiers });
    case 'pprof':
      return writePprof(profile);
    case 'cpuprofile':
      return writeCpuProfile(profile);
    case 'html':
      return writeHtml(profile, { title: options.title });
  }
}

/** Which format the bytes hold, by content. */
export function detectFormat(data: Uint8Array): Format {
  if (isGzip(data)) return 'pprof';
  // Text formats have no control bytes; raw protobuf has them within its first bytes.
  const head = data.subarray(0, Math.min(data.length, 4096));
  for (const byte of head) if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) return 'pprof';
  let start = 0;
  while (start < data.length && (data[start] === 0x20 || data[start] === 0x0a || data[start] === 0x0d || data[start] === 0x09)) start++;
  if (data[start] === 0x7b /* { */) return 'cpuprofile';
  if (data[start] === 0x3c /* < */) return 'html';
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
