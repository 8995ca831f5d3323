// How values are shown in errors and how boolean words read: one set for every option, variable and
// flag.
import { inspect } from 'node:util';

import { OptionError } from './option-error';

// inspect, not String(): an object without a prototype or a symbol cannot be turned into a string.
export function describe(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value)
    : inspect(value, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 60 });
}

export const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
export const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', '']);

export function booleanVariable(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new OptionError(`sfprof: ${name} is ${describe(value)}; expected 1 or 0 (also true/false, yes/no, on/off)`);
}
