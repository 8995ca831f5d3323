// sfprof's own lines on standard error. Written with a direct write to fd 2, never through
// process.stderr: a stream whose reader is gone (a dead log collector at the end of a pipe) emits an
// 'error' event, and that unhandled event would end the app. A line that cannot be written is lost.
import { writeSync } from 'node:fs';

export function stderrLine(line: string): void {
  try {
    writeSync(2, line.endsWith('\n') ? line : `${line}\n`);
  } catch {
    // EPIPE, EAGAIN on a full non-blocking pipe, EBADF: the line is dropped, the app goes on
  }
}
