// Argument parsing for the `sfprof` bin: a pure function, tested on its own.
import { parseArgs } from 'node:util';

import { DEFAULT_OUTPUT, OptionError, parseIntervalUs } from '../options';

export const USAGE = `Usage:
  sfprof record [options] [--] <command> [args...]   profile a Node.js command
  sfprof --help | --version

record runs <command> with sfprof preloaded through NODE_OPTIONS (so every Node.js process it
starts is profiled) and writes folded stacks when each process exits.

Options for record:
  -i, --interval <duration>  CPU time between samples: 10ms, 500us, 2.5ms; a bare number is
                             microseconds; 100us to 1s (default 10ms). The itimer engine delivers
                             at most ~CONFIG_HZ samples per second (often 250).
  -o, --output <file>        where to write; {pid} expands to the process id
                             (default ${DEFAULT_OUTPUT} in the working directory)
      --lines                line mode: frames carry the line executing in them
  -h, --help                 show this help

Examples:
  sfprof record -- node app.js
  sfprof record --interval 1ms --lines -o app.folded -- node app.js --port 3000
`;

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'record'; interval?: string; output?: string; lines: boolean; command: string[] };

const VALUE_OPTIONS = new Set(['-i', '--interval', '-o', '--output']);

/** Splits `args` (without node and the script) into a command. Throws OptionError on bad input. */
export function parseCommandLine(args: string[]): Command {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') return { kind: 'help' };
  if (verb === '--version' || verb === '-v') return { kind: 'version' };
  if (verb !== 'record') {
    throw new OptionError(`sfprof: unknown command ${JSON.stringify(verb)}; expected "record" (see sfprof --help)`);
  }
  // Options end at "--" or at the first word that is not an option: the rest is the command.
  let split = rest.length;
  let skip = false;
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (skip) {
      skip = false;
      continue;
    }
    if (word === '--') {
      split = i;
      break;
    }
    if (!word.startsWith('-')) {
      split = i;
      break;
    }
    if (VALUE_OPTIONS.has(word)) skip = true;
  }
  const optionWords = rest.slice(0, split);
  const command = rest[split] === '--' ? rest.slice(split + 1) : rest.slice(split);
  let values;
  try {
    ({ values } = parseArgs({
      args: optionWords,
      strict: true,
      allowPositionals: false,
      options: {
        interval: { type: 'string', short: 'i' },
        output: { type: 'string', short: 'o' },
        lines: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new OptionError(`sfprof record: ${(error as Error).message} (see sfprof --help)`);
  }
  if (values.help) return { kind: 'help' };
  if (values.interval !== undefined) parseIntervalUs(values.interval, '--interval');
  if (values.output === '') throw new OptionError('sfprof record: --output is empty; expected a file path');
  if (command.length === 0) {
    throw new OptionError('sfprof record: no command given; usage: sfprof record [options] -- node app.js');
  }
  return { kind: 'record', interval: values.interval, output: values.output, lines: values.lines === true, command };
}

/** Appends `-r <preload>` to NODE_OPTIONS, quoted the way Node reads it. */
export function withPreload(nodeOptions: string | undefined, preload: string): string {
  const quoted = `"${preload.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return [nodeOptions?.trim(), `-r ${quoted}`].filter(Boolean).join(' ');
}
