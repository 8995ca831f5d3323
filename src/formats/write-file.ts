import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes through a temporary file and a rename, so a reader never sees a half-written profile. A
 * symlink is followed (the file it points to is replaced, not the link), and a target that is not
 * a regular file (/dev/null, a FIFO, a terminal) is written in place: renaming over it would replace
 * the device or pipe itself.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  let target = file;
  try {
    target = fs.realpathSync(file);
    if (!fs.statSync(target).isFile()) {
      fs.writeFileSync(target, data);
      return;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    target = file; // a new file (or a dangling link: write where the name is)
  }
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, data);
    fs.renameSync(temporary, target);
  } catch (error) {
    try {
      fs.unlinkSync(temporary);
    } catch {
      // nothing to clean up
    }
    // Name the file the user asked for, not our temporary one.
    if (error instanceof Error) error.message = error.message.split(temporary).join(file);
    throw error;
  }
}

/** Writes all of `data` to a descriptor, waiting out EAGAIN on a non-blocking pipe. */
export function writeAllSync(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

/** Writes a profile to `output`: "-" is standard output, anything else a file written atomically. */
export function writeOutputSync(output: string, data: string | Uint8Array): void {
  if (output === '-') writeAllSync(1, data);
  else writeFileAtomicSync(output, data);
}
