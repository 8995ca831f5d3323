import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/** sfprof's own version, from the package.json one level above dist/. */
export function sfprofVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
      cached = pkg.version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
