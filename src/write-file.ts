import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes through a temporary file and a rename, so a reader never sees a half-written profile. */
export function writeFileAtomicSync(file: string, data: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, file);
  } catch (error) {
    try {
      fs.unlinkSync(temporary);
    } catch {
      // nothing to clean up
    }
    throw error;
  }
}
