// Argument parsing for the `sfprof` bin: a pure function, tested on its own. Longer than 350 lines
// because each command's help text sits beside the parser of its options, so one edit changes both.
import { parseArgs } from 'node:util';

import { parseTimer, type TimerChoice } from '../config/engine';
import { chooseFormat, DIFF_FORMATS, FORMATS, formatFromPath, parseFormat, type DiffFormat, type Format } from '../config/format-names';
import { OptionError } from '../config/option-error';
import { defaultOutput, parseIntervalUs, parseLabelRoot, parseStallUs } from '../config/options';

const FORMAT_HELP = `  -f, --format <name>        ${FORMATS.join(' | ')}; by default implied by the
                             output's extension (.folded/.txt, .pb.gz/.pprof, .cpuprofile,
                             .html), else folded
      --tiers                folded: mark JS frames _[j] (optimized) or _[i] (interpreted,
                             baseline) for flamegraph.pl --colors=java
      --label-root <key>     root each stack by its value of this label (sfprof.withLabels), a
                             frame such as [route=/users/:id]; stacks without it get none`;

export const RECORD_USAGE = `Usage: sfprof record [options] [--] <command> [args...]

Runs <command> with sfprof preloaded through NODE_OPTIONS (so every Node.js process it starts is
profiled), writes a profile when each process exits, then prints a summary per process to
stderr: samples, duration, engine, requested and achieved rate, drops, where the profile went
and the top 10 functions by self time. Exits with the command's exit code, or dies of the same
signal.

Options:
  -i, --interval <duration>  CPU time between samples: 10ms, 500us, 2.5ms; a bare number is
                             microseconds; 100us to 1s (default 10ms). The itimer engine delivers
                             at most ~CONFIG_HZ samples per second (often 250).
  -o, --output <file>        where to write; {pid} expands to the process id; - is standard
                             output (default sfprof-{pid}.<format extension>)
  -t, --timer <engine>       auto | itimer | perf | thread-cpu | pacer (default auto: itimer at or
                             above the kernel tick, else perf, else thread-cpu; perf, thread-cpu
                             and pacer are Linux only; pacer is never auto's choice)
${FORMAT_HELP}
      --stall <duration>     stall catcher: report the main thread away from its event loop for
                             longer than this (10ms to 60s, such as 200ms): a stderr line while it
                             lasts, a report file of its samples when it ends (sets SFPROF_STALL)
      --lines                line mode: frames carry the line executing in them
      --source-maps          map frames to original sources (TypeScript, bundles) through the
                             scripts' source maps (sets SFPROF_SOURCE_MAPS=1); by default they are
                             mapped when Node's are on (--enable-source-maps)
  -h, --help                 show this help

Examples:
  sfprof record -- node app.js
  sfprof record --interval 1ms --lines -o app.html -- node app.js --port 3000
`;

export const REPORT_USAGE = `Usage: sfprof report <file> [options]

Converts a profile sfprof can read (folded stacks, pprof, .cpuprofile) into any format.
<file> may be - for standard input. Without --output the result goes to standard output.

Options:
  -o, --output <file>        where to write (default: standard output)
${FORMAT_HELP}
      --title <text>         html: the page title (default: the input's name)
      --source-maps          map frames still at generated JavaScript to original sources through
                             the source maps on disk (file paths relative to the profile's
                             working directory); needs the function's start column, which only
                             .cpuprofile keeps: folded and pprof map by line
  -h, --help                 show this help

Examples:
  sfprof report app.folded -o app.html
  SFPROF_OUTPUT=- node -r sfprof/auto app.js | sfprof report - --format html > flame.html
`;

export const TOP_USAGE = `Usage: sfprof top <file> [-n <count>] [--raw]

Prints the functions of the JS threads with the most self samples and their total samples
(anywhere on the stack), as counts and percentages of all samples. Time in V8's builtins, IC stubs,
bytecode handlers, regexp code and native code counts as self time of the JS function that called
it, as in V8's own profiler; --raw ranks the frame on top of each stack as it was sampled. Then, if
the profile has any, the samples on other threads (no JS there; the itimer engine's signals land
on whichever thread uses CPU) in a section of their own: each thread by name, and under it the
native functions it was in. When the profile charges garbage collection to the JS stack whose
allocation began it (sfprof's default), a self+GC column adds that GC to each function's self
time. <file> may be - for standard input.

Options:
  -n, --count <count>        function rows to show, 1 to 100000 (default 20); in the
                             other threads' section, under each thread
      --raw                  rank raw leaf frames (builtins and native code get rows of their own)
  -h, --help                 show this help
`;

export const DIFF_USAGE = `Usage: sfprof diff <base> <new> [options]

Compares two profiles sfprof can read (folded stacks, pprof, .cpuprofile, in any mix): what grew
and what shrank from <base> (before a change) to <new> (after it). Stacks are matched by what they
show: each frame's name, file and line as folded stacks write them, so the same function read from
two formats or two runs matches; tiers, columns and inlining are not compared. One of the two may be
- for standard input. Without --output the folded diff goes to standard output.

Outputs:
  html      a differential flame graph: red where a stack grew, blue where it shrank, each side's
            samples taken as a share of its own total
  folded    "stack before after", one line per stack in either profile, 0 where it is absent (the
            form flamegraph.pl draws as a differential flame graph); the columns add up to each
            profile's samples
  pprof     one sample per changed stack, valued NEW − BASE (samples and, when both profiles have
            it, CPU nanoseconds; negative where it shrank); unchanged stacks are left out. Read it
            with go tool pprof -top; sfprof does not read it back

Options:
  -o, --output <file>        where to write (default: standard output)
  -f, --format <name>        ${DIFF_FORMATS.join(' | ')}; by default implied by the output's extension
                             (.html, .folded/.txt, .pb.gz/.pprof/.pb), else folded
      --title <text>         html: the page title (default: both inputs' names)
  -h, --help                 show this help

Examples:
  sfprof diff before.folded after.folded -o diff.html
  sfprof diff before.pb.gz after.cpuprofile -o diff.pb.gz && go tool pprof -top diff.pb.gz
  sfprof diff before.folded after.folded | flamegraph.pl > diff.svg
`;

export const USAGE = `Usage:
  sfprof record [options] [--] <command> [args...]   profile a Node.js command
  sfprof report <file> [--format <name>] [--output <file>]
                                                     convert a profile to another format
  sfprof top <file> [-n <count>] [--raw]             functions by self and total time
  sfprof diff <base> <new> [--format <name>] [--output <file>]
                                                     what grew and shrank from one profile to another
  sfprof <command> --help                            options of one command
  sfprof --help | --version

Formats: folded (default), pprof, cpuprofile, html; diff writes html, folded or pprof.

Examples:
  sfprof record -- node app.js
  sfprof record -o flame.html -- node app.js
  sfprof report sfprof-1234.folded -o flame.html
  sfprof top sfprof-1234.folded -n 10
  sfprof diff before.folded after.folded -o diff.html
`;

export type Command =
  | { kind: 'help'; usage: string }
  | { kind: 'version' }
  | {
      kind: 'record';
      interval?: string;
      stall?: string;
      timer?: TimerChoice;
      output?: string;
      format?: Format;
      lines: boolean;
      tiers: boolean;
      labelRoot?: string;
      sourceMaps: boolean;
      command: string[];
    }
  | { kind: 'report'; input: string; output: string; format: Format; tiers: boolean; labelRoot?: string; sourceMaps: boolean; title?: string }
  | { kind: 'top'; input: string; count: number; raw: boolean }
  | { kind: 'diff'; base: string; next: string; output: string; format: DiffFormat; title?: string };

const RECORD_VALUE_OPTIONS = new Set(['--stall', '-i', '--interval', '-o', '--output', '-f', '--format', '-t', '--timer', '--label-root']);

function parseOptions<T extends Parameters<typeof parseArgs>[0]>(verb: string, config: T) {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (error) {
    throw new OptionError(`sfprof ${verb}: ${(error as Error).message} (see sfprof ${verb} --help)`);
  }
}

function checkOutput(verb: string, output: string | undefined): void {
  if (output === '') throw new OptionError(`sfprof ${verb}: --output is empty; expected a file path or -`);
  // The preload refuses such an SFPROF_OUTPUT, and only after the command has run.
  if (output !== undefined && output !== '-' && output.endsWith('/')) {
    throw new OptionError(`sfprof ${verb}: --output is ${JSON.stringify(output)}; expected a file path (or - for standard output), not a directory`);
  }
}

function parseRecord(rest: string[]): Command {
  // Options end at "--" or at the first word that is not an option: the rest is the command.
  let split = rest.length;
  let skip = false;
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]!;
    if (skip) {
      skip = false;
      continue;
    }
    if (word === '--' || !word.startsWith('-')) {
      split = i;
      break;
    }
    if (RECORD_VALUE_OPTIONS.has(word)) skip = true;
  }
  const command = rest[split] === '--' ? rest.slice(split + 1) : rest.slice(split);
  const { values } = parseOptions('record', {
    args: rest.slice(0, split),
    allowPositionals: false,
    options: {
      interval: { type: 'string', short: 'i' },
      stall: { type: 'string' },
      timer: { type: 'string', short: 't' },
      output: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
      lines: { type: 'boolean', default: false },
      tiers: { type: 'boolean', default: false },
      'label-root': { type: 'string' },
      'source-maps': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { kind: 'help', usage: RECORD_USAGE };
  const labelRoot = values['label-root'] !== undefined ? parseLabelRoot(values['label-root'], '--label-root') : undefined;
  if (values.interval !== undefined) parseIntervalUs(values.interval as string, '--interval');
  if (values.stall !== undefined) parseStallUs(values.stall as string, '--stall');
  const timer = values.timer !== undefined ? parseTimer(values.timer as string, '--timer') : undefined;
  checkOutput('record', values.output as string | undefined);
  const output = values.output as string | undefined;
  const given = values.format !== undefined ? parseFormat(values.format as string, '--format') : undefined;
  const format = chooseFormat(given, output, '--format');
  if (values.tiers && format !== 'folded') onlyFor('record', '--tiers', 'folded', format);
  if (command.length === 0) {
    throw new OptionError('sfprof record: no command given; usage: sfprof record [options] -- node app.js');
  }
  return {
    kind: 'record',
    interval: values.interval as string | undefined,
    ...(values.stall !== undefined && { stall: values.stall as string }),
    timer,
    output: output ?? (given ? defaultOutput(format) : undefined),
    // Flags win over SFPROF_* variables the shell may have set, so both are passed on when given.
    format: given || output !== undefined ? format : undefined,
    lines: values.lines === true,
    tiers: values.tiers === true,
    ...(labelRoot !== undefined && { labelRoot }),
    sourceMaps: values['source-maps'] === true,
    command,
  };
}

function onlyFor(verb: string, flag: string, wanted: Format, format: Format): never {
  throw new OptionError(`sfprof ${verb}: ${flag} applies to the ${wanted} format only, and the output is ${format}`);
}

function singleInput(verb: string, positionals: string[]): string {
  if (positionals.length === 0) throw new OptionError(`sfprof ${verb}: no input file given; use - for standard input (see sfprof ${verb} --help)`);
  if (positionals.length > 1) {
    throw new OptionError(`sfprof ${verb}: expected one input file, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  }
  return positionals[0]!;
}

function parseReport(rest: string[]): Command {
  const { values, positionals } = parseOptions('report', {
    args: rest,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
      tiers: { type: 'boolean', default: false },
      'label-root': { type: 'string' },
      'source-maps': { type: 'boolean', default: false },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { kind: 'help', usage: REPORT_USAGE };
  const input = singleInput('report', positionals);
  checkOutput('report', values.output as string | undefined);
  const output = (values.output as string | undefined) ?? '-';
  const given = values.format !== undefined ? parseFormat(values.format as string, '--format') : undefined;
  const format = chooseFormat(given, output, '--format');
  if (values.tiers && format !== 'folded') onlyFor('report', '--tiers', 'folded', format);
  if (values.title !== undefined && format !== 'html') onlyFor('report', '--title', 'html', format);
  const command: Command = { kind: 'report', input, output, format, tiers: values.tiers === true, sourceMaps: values['source-maps'] === true };
  if (values.title !== undefined) command.title = values.title as string;
  if (values['label-root'] !== undefined) command.labelRoot = parseLabelRoot(values['label-root'], '--label-root');
  return command;
}

function parseTop(rest: string[]): Command {
  const { values, positionals } = parseOptions('top', {
    args: rest,
    allowPositionals: true,
    options: {
      count: { type: 'string', short: 'n' },
      raw: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { kind: 'help', usage: TOP_USAGE };
  const input = singleInput('top', positionals);
  let count = 20;
  if (values.count !== undefined) {
    const text = values.count as string;
    count = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(count >= 1 && count <= 100_000)) {
      throw new OptionError(`sfprof top: -n/--count is ${JSON.stringify(text)}; expected a whole number from 1 to 100000`);
    }
  }
  return { kind: 'top', input, count, raw: values.raw === true };
}

function parseDiff(rest: string[]): Command {
  const { values, positionals } = parseOptions('diff', {
    args: rest,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      format: { type: 'string', short: 'f' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { kind: 'help', usage: DIFF_USAGE };
  if (positionals.length !== 2) {
    const given = positionals.length ? `, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')}` : ', got none';
    throw new OptionError(`sfprof diff: expected two input files, <base> and <new>${given} (see sfprof diff --help)`);
  }
  const [base, next] = positionals as [string, string];
  if (base === '-' && next === '-') throw new OptionError('sfprof diff: <base> and <new> are both - (standard input); at most one of them can be');
  checkOutput('diff', values.output as string | undefined);
  const output = (values.output as string | undefined) ?? '-';
  let given: DiffFormat | undefined;
  if (values.format !== undefined) {
    const text = values.format as string;
    given = DIFF_FORMATS.find((name) => name === text.trim().toLowerCase());
    if (!given) throw new OptionError(`sfprof diff: --format is ${JSON.stringify(text)}; expected one of ${DIFF_FORMATS.join(', ')}`);
  }
  if (output !== '-' && formatFromPath(output) === 'cpuprofile' && !given) {
    throw new OptionError(
      `sfprof diff: --output is ${JSON.stringify(output)}; a diff is written as html (.html), folded (.folded, .txt) or pprof (.pb.gz, .pprof, .pb), not as a .cpuprofile`,
    );
  }
  const format = chooseFormat(given, output, '--format') as DiffFormat;
  if (values.title !== undefined && format !== 'html') onlyFor('diff', '--title', 'html', format);
  const command: Command = { kind: 'diff', base, next, output, format };
  if (values.title !== undefined) command.title = values.title as string;
  return command;
}

/** Splits `args` (without node and the script) into a command. Throws OptionError on bad input. */
export function parseCommandLine(args: string[]): Command {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') return { kind: 'help', usage: USAGE };
  if (verb === '--version' || verb === '-v') return { kind: 'version' };
  switch (verb) {
    case 'record':
      return parseRecord(rest);
    case 'report':
      return parseReport(rest);
    case 'top':
      return parseTop(rest);
    case 'diff':
      return parseDiff(rest);
    default:
      throw new OptionError(`sfprof: unknown command ${JSON.stringify(verb)}; expected record, report, top or diff (see sfprof --help)`);
  }
}

/** Appends `-r <preload>` to NODE_OPTIONS, quoted the way Node reads it. */
export function withPreload(nodeOptions: string | undefined, preload: string): string {
  const quoted = `"${preload.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return [nodeOptions?.trim(), `-r ${quoted}`].filter(Boolean).join(' ');
}

/** The SFPROF_* variables that carry `record`'s flags to the preload in the profiled processes. */
export function recordEnv(command: Extract<Command, { kind: 'record' }>): Record<string, string> {
  const env: Record<string, string> = {};
  if (command.interval !== undefined) env.SFPROF_INTERVAL = command.interval;
  if (command.timer !== undefined) env.SFPROF_TIMER = command.timer;
  if (command.stall !== undefined) env.SFPROF_STALL = command.stall;
  if (command.output !== undefined) env.SFPROF_OUTPUT = command.output;
  if (command.format !== undefined) env.SFPROF_FORMAT = command.format;
  if (command.lines) env.SFPROF_LINES = '1';
  if (command.tiers) env.SFPROF_TIERS = '1';
  if (command.labelRoot !== undefined) env.SFPROF_LABEL_ROOT = command.labelRoot;
  if (command.sourceMaps) env.SFPROF_SOURCE_MAPS = '1';
  return env;
}
