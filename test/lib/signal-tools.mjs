// Builds test/native/signal_tools.c (a Node-API addon for forcing rare signal set-ups) once, into
// build/test-addons/, with the system's C compiler and the running Node's headers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { root } from './helpers.mjs';

const SOURCE = path.join(root, 'test', 'native', 'signal_tools.c');
const OUTPUT = path.join(root, 'build', 'test-addons', 'signal_tools.node');

/** The path of the built addon, for process.dlopen or require() in a child. */
export function signalToolsPath() {
  if (fs.existsSync(OUTPUT) && fs.statSync(OUTPUT).mtimeMs >= fs.statSync(SOURCE).mtimeMs) return OUTPUT;
  fs.mkdirSync(path.dirname(OUTPUT), { recursive: true });
  const include = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const temporary = `${OUTPUT}.${process.pid}.tmp`;
  execFileSync(process.env.CC || 'cc', ['-O1', '-Wall', '-shared', '-fPIC', '-pthread', '-I', include, SOURCE, '-o', temporary]);
  fs.renameSync(temporary, OUTPUT);
  return OUTPUT;
}
