import * as fs from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from './package-root';

let cached: string | undefined;

/** sfprof's own version, from the package.json one level above dist/. */
export function sfprofVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
      cached = pkg.version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
