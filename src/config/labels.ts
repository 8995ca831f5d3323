// Labels: the mode option (start()'s `labels`, SFPROF_LABELS) and the checks every label set passes
// before it is interned. Errors name the key or value, what was given and what is allowed.
import { OptionError } from './option-error';
import { describe } from './values';

/**
 * auto: read the async context from V8 where the runtime keeps it there (Node 24 and later, 22 with
 * --experimental-async-context-frame), else warn once and record none; hooks: async_hooks keep the
 * current label where the signal handler reads it (any Node, a few µs per async hop); off: none.
 */
export const LABELS_MODES = ['auto', 'hooks', 'off'] as const;
export type LabelsMode = (typeof LABELS_MODES)[number];

export const MAX_LABEL_KEYS = 16;
export const MAX_LABEL_LENGTH = 200;

export function parseLabelsMode(value: unknown, what: string): LabelsMode {
  if (typeof value === 'string' && (LABELS_MODES as readonly string[]).includes(value.trim().toLowerCase())) {
    return value.trim().toLowerCase() as LabelsMode;
  }
  throw new OptionError(`sfprof: ${what} is ${describe(value)}; expected one of ${LABELS_MODES.join(', ')}`);
}

/** SFPROF_LABELS, or undefined when unset or empty. */
export function labelsModeFromEnv(env: NodeJS.ProcessEnv): LabelsMode | undefined {
  const value = env.SFPROF_LABELS;
  if (value === undefined || value.trim() === '') return undefined;
  return parseLabelsMode(value, 'SFPROF_LABELS');
}

/** Throws OptionError unless `labels` is a plain object of at most 16 string keys to string values. */
export function checkLabels(labels: unknown, what: string): asserts labels is Record<string, string> {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new OptionError(`sfprof: ${what} is ${describe(labels)}; expected an object of string keys to string values`);
  }
  const proto = Object.getPrototypeOf(labels);
  if (proto !== Object.prototype && proto !== null) {
    throw new OptionError(`sfprof: ${what} is ${describe(labels)}; expected a plain object of string keys to string values`);
  }
  if (Object.getOwnPropertySymbols(labels).length > 0) {
    throw new OptionError(`sfprof: ${what} has a symbol key; expected string keys only`);
  }
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABEL_KEYS) {
    throw new OptionError(`sfprof: ${what} has ${keys.length} keys; at most ${MAX_LABEL_KEYS} are allowed`);
  }
  for (const key of keys) {
    if (key.length === 0 || key.length > MAX_LABEL_LENGTH) {
      throw new OptionError(`sfprof: label key ${describe(key)} has ${key.length} characters; expected 1 to ${MAX_LABEL_LENGTH}`);
    }
    const value = (labels as Record<string, unknown>)[key];
    if (typeof value !== 'string') {
      throw new OptionError(`sfprof: label ${describe(key)} is ${describe(value)}; expected a string value`);
    }
    if (value.length > MAX_LABEL_LENGTH) {
      throw new OptionError(`sfprof: label ${describe(key)} has a value of ${value.length} characters; at most ${MAX_LABEL_LENGTH} are allowed`);
    }
  }
}
