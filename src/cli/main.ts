// The `sfprof` command. record: runs a child with the preload and passes its exit status through;
// report and top: read a profile file (or stdin) and write another format or a table; diff: read two
// and write what changed between them.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { readProfile, renderProfile } from '../formats/render';
import { renderDiff } from '../formats/render-diff';
import { OptionError } from '../config/option-error';
import { InputError } from '../formats/readers/input-error';
import { formatRunSummary, formatTopTable, type RunSummary } from '../delivery/summary';
import { PACKAGE_ROOT } from '../common/package-root';
import { sfprofVersion } from '../common/version';
import { writeOutputSync } from '../formats/write-file';
import { SourceMapper } from '../pipeline/source-maps';
import type { Profile } from '../model/profile';
import { parseCommandLine, recordEnv, withPreload, type Command } from './args';

/** Exit statuses: 2 for a usage error, 1 for a file that cannot be read or written. */
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

export function main(argv: string[]): void {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof OptionError ? error.message : String(error)}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(command.usage);
      return;
    case 'version':
      process.stdout.write(`${sfprofVersion()}\n`);
      return;
    case 'record':
      record(command);
      return;
    case 'report':
    case 'top':
      convert(command);
      return;
    case 'diff':
      diff(command);
      return;
  }
}

const inputName = (input: string): string => (input === '-' ? 'standard input' : input);

function readInput(verb: string, input: string): Buffer {
  try {
    return input === '-' ? fs.readFileSync(0) : fs.readFileSync(input);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new InputError(`sfprof ${verb}: cannot read ${inputName(input)}: ${reason}`);
  }
}

function readProfileFile(verb: string, input: string): Profile {
  const data = readInput(verb, input);
  try {
    return readProfile(data, inputName(input));
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`sfprof ${verb}: ${error.message}`);
    throw error;
  }
}

/** Ends a command that failed reading or writing: a closed pipe is the reader's choice (| head). */
function fail(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code === 'EPIPE') {
    process.exitCode = 128 + (os.constants.signals.SIGPIPE ?? 13);
    return;
  }
  process.stderr.write(`${error instanceof InputError ? error.message : String(error)}\n`);
  process.exitCode = EXIT_FAILURE;
}

/** Writes a command's output; a failure names the file asked for. */
function writeOutput(verb: string, output: string, data: string | Uint8Array): void {
  try {
    writeOutputSync(output, data);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') throw error;
    throw new InputError(`sfprof ${verb}: cannot write ${output}: ${(error as Error).message}`);
  }
}

/** pprof is gzipped binary: refused on a terminal, where it would only garble the screen. */
function refuseBinaryOnTerminal(verb: string, output: string, format: string): boolean {
  if (output !== '-' || format !== 'pprof' || !process.stdout.isTTY) return false;
  process.stderr.write(`sfprof ${verb}: pprof is gzipped binary; not writing it to a terminal (use --output FILE or redirect)\n`);
  process.exitCode = EXIT_USAGE;
  return true;
}

function convert(command: Extract<Command, { kind: 'report' | 'top' }>): void {
  try {
    const name = inputName(command.input);
    const profile = readProfileFile(command.kind, command.input);
    if (command.kind === 'top') {
      writeOutputSync('-', formatTopTable(profile, command.count, { raw: command.raw }));
      return;
    }
    if (refuseBinaryOnTerminal('report', command.output, command.format)) return;
    if (command.sourceMaps) {
      // Frames a mapped profile already carries point at original sources: they have no map and stay.
      new SourceMapper({ warn: (line) => process.stderr.write(`${line.replace(/^sfprof:/, 'sfprof report:')}\n`) }).mapProfile(profile);
    }
    const title = command.title ?? `sfprof: ${path.basename(name)}`;
    writeOutput('report', command.output, renderProfile(profile, command.format, { tiers: command.tiers, title, labelRoot: command.labelRoot }));
  } catch (error) {
    fail(error);
  }
}

function diff(command: Extract<Command, { kind: 'diff' }>): void {
  try {
    const base = readProfileFile('diff', command.base);
    const next = readProfileFile('diff', command.next);
    if (refuseBinaryOnTerminal('diff', command.output, command.format)) return;
    const baseName = inputName(command.base);
    const newName = inputName(command.next);
    const title = command.title ?? `sfprof diff: ${path.basename(baseName)} \u2192 ${path.basename(newName)}`;
    writeOutput('diff', command.output, renderDiff(base, next, command.format, { baseName, newName, title }));
  } catch (error) {
    fail(error);
  }
}

function readSummaries(file: string): RunSummary[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const summaries: RunSummary[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      summaries.push(JSON.parse(line) as RunSummary);
    } catch {
      // a process killed mid-write leaves a partial line; the others still count
    }
  }
  return summaries;
}

function record(command: Extract<Command, { kind: 'record' }>): void {
  const env: NodeJS.ProcessEnv = { ...process.env, ...recordEnv(command) };
  env.NODE_OPTIONS = withPreload(process.env.NODE_OPTIONS, path.join(PACKAGE_ROOT, 'dist', 'bundle', 'auto.js'));
  // Each profiled process appends its summary here; without a place for it, profiles are still written.
  let summaryDir: string | undefined;
  try {
    summaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-record-'));
  } catch (error) {
    process.stderr.write(`sfprof record: no summary this time (cannot create a directory in ${os.tmpdir()}: ${(error as Error).message})\n`);
  }
  const summaryFile = summaryDir ? path.join(summaryDir, 'summary.jsonl') : undefined;
  if (summaryFile) env.SFPROF_SUMMARY_FILE = summaryFile;
  else delete env.SFPROF_SUMMARY_FILE;
  const cleanUp = (): void => {
    if (summaryDir) fs.rmSync(summaryDir, { recursive: true, force: true });
  };

  const [file, ...args] = command.command;
  const child = spawn(file!, args, { stdio: 'inherit', env });
  // The terminal sends ^C to the whole group; the child decides, and we report its outcome.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('error', (error) => {
    cleanUp();
    process.stderr.write(`sfprof record: could not start ${JSON.stringify(file)}: ${error.message}\n`);
    process.exitCode = 127;
  });
  child.on('exit', (code, signal) => {
    process.off('SIGINT', ignore);
    const summaries = summaryFile ? readSummaries(summaryFile) : [];
    cleanUp();
    for (const summary of summaries) process.stderr.write(formatRunSummary(summary));
    if (summaries.length === 0 && summaryFile) {
      process.stderr.write(
        signal
          ? `sfprof record: the command was killed by ${signal} before any profile was written\n`
          : 'sfprof record: no profile was written: the command started no Node.js process that ran to its exit, ' +
              'or sfprof did not profile it (its reason is above)\n',
      );
    }
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
