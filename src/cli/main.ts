// The `sfprof` command: runs a child with the preload and passes its exit status through.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { OptionError } from '../options';
import { parseCommandLine, USAGE, withPreload } from './args';

export function main(argv: string[]): void {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof OptionError ? error.message : String(error)}\n`);
    process.exitCode = 2;
    return;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command.kind === 'version') {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.NODE_OPTIONS = withPreload(process.env.NODE_OPTIONS, path.join(__dirname, '..', 'auto.js'));
  if (command.interval !== undefined) env.SFPROF_INTERVAL = command.interval;
  if (command.output !== undefined) env.SFPROF_OUTPUT = command.output;
  if (command.lines) env.SFPROF_LINES = '1';
  const [file, ...args] = command.command;
  const child = spawn(file!, args, { stdio: 'inherit', env });
  // The terminal sends ^C to the whole group; the child decides, and we report its outcome.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('error', (error) => {
    process.stderr.write(`sfprof record: could not start ${JSON.stringify(file)}: ${error.message}\n`);
    process.exitCode = 127;
  });
  child.on('exit', (code, signal) => {
    process.off('SIGINT', ignore);
    if (signal) {
      // Die of the same signal where Node lets us; SIGPIPE is ignored by Node and SIGUSR1 would
      // start its inspector, so those (and any survivor) report the shell's 128 + n.
      process.exitCode = 128 + (os.constants.signals[signal] ?? 0);
      if (signal !== 'SIGPIPE' && signal !== 'SIGUSR1') {
        process.removeAllListeners('SIGTERM');
        process.kill(process.pid, signal);
      }
      return;
    }
    process.exitCode = code ?? 1;
  });
}
