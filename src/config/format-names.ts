// Format names, the file extensions that imply them, and how the user's choice is checked.
import { OptionError } from './option-error';

export const FORMATS = ['folded', 'pprof', 'cpuprofile', 'html'] as const;
export type Format = (typeof FORMATS)[number];

/** What a differential profile (sfprof diff) can be written as: a .cpuprofile has no way to show one. */
export const DIFF_FORMATS = ['html', 'folded', 'pprof'] as const satisfies readonly Format[];
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** The extension each format's default file name gets. */
export const EXTENSIONS: Record<Format, string> = {
  folded: '.folded',
  pprof: '.pb.gz',
  cpuprofile: '.cpuprofile',
  html: '.html',
};

const BY_EXTENSION: [string, Format][] = [
  ['.folded', 'folded'],
  ['.collapsed', 'folded'],
  ['.txt', 'folded'],
  ['.pb.gz', 'pprof'],
  ['.pprof', 'pprof'],
  ['.pb', 'pprof'],
  ['.cpuprofile', 'cpuprofile'],
  ['.html', 'html'],
  ['.htm', 'html'],
];

/** The format a file name implies, or undefined. */
export function formatFromPath(file: string): Format | undefined {
  const lower = file.toLowerCase();
  return BY_EXTENSION.find(([extension]) => lower.endsWith(extension))?.[1];
}

/** Checks a format name given by the user; `what` names the flag or variable. */
export function parseFormat(value: string, what: string): Format {
  const format = value.trim().toLowerCase();
  if ((FORMATS as readonly string[]).includes(format)) return format as Format;
  throw new OptionError(`sfprof: ${what} is ${JSON.stringify(value)}; expected one of ${FORMATS.join(', ')}`);
}

/**
 * The format to write: the one given, else the output's extension, else folded. A given format
 * that contradicts a known extension is an error rather than a file that lies about its content.
 */
export function chooseFormat(given: Format | undefined, output: string | undefined, what: string): Format {
  const implied = output && output !== '-' ? formatFromPath(output) : undefined;
  if (given && implied && given !== implied) {
    throw new OptionError(
      `sfprof: ${what} is ${given} but the output ${JSON.stringify(output)} has the extension of ${implied}; ` +
        `use a matching extension (${EXTENSIONS[given]}) or drop one of them`,
    );
  }
  return given ?? implied ?? 'folded';
}
