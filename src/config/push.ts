// Push settings: the SFPROF_PYROSCOPE_* variables, and the checks the Pusher's options share with
// them. Every error names the variable or option, the value and what is allowed; never the token.
import { basename, extname } from 'node:path';

import { OptionError } from './option-error';

export interface PushConfig {
  /** Base URL, e.g. http://127.0.0.1:4040; requests go to <url>/ingest. */
  url: string;
  /** Service name: [A-Za-z0-9_.-]. */
  appName: string;
  /** Series labels, e.g. { hostname, pid, version }: keys [A-Za-z0-9_], values without , } { = and not empty. */
  tags: Record<string, string>;
  /** Sent as "Authorization: Bearer <token>"; never printed, logged or put in an error message. */
  authToken?: string;
  /** Sent as X-Scope-OrgID when set. */
  tenant?: string;
  /** Per request, default 10000. */
  timeoutMs?: number;
  /** Tries per upload, default 3 (first try + 2 retries). */
  maxAttempts?: number;
  /** Uploads waiting or in flight, default 3; when full the oldest queued upload is dropped and counted. */
  maxQueued?: number;
  /** First retry's backoff ceiling, ms, default 1000 (doubling per retry up to 30 s, full jitter). */
  backoffBaseMs?: number;
  /** One-line warnings; default: standard error with a "sfprof: " prefix. */
  warn?: (line: string) => void;
}

export const APP_NAME = /^[A-Za-z0-9_.-]+$/;
const TAG_KEY = /^[A-Za-z0-9_]+$/;
// The server splits the name on these; control characters would break the one-line warnings.
const TAG_VALUE_FORBIDDEN = /[,{}=\u0000-\u001f\u007f]/;
// Visible ASCII: anything else is either not a valid header value or not a bearer token.
export const TOKEN = /^[\x21-\x7e]+$/;

/** Validates a service name; `what` names the variable or option in the error. */
export function checkAppName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !APP_NAME.test(name)) {
    throw new OptionError(`sfprof: ${what} is ${JSON.stringify(name)}; expected a name of letters, digits, _ . and -`);
  }
  return name;
}

export function checkTag(key: string, value: unknown, what: string): void {
  if (!TAG_KEY.test(key) || key === '__name__') {
    throw new OptionError(
      `sfprof: ${what} has the tag key ${JSON.stringify(key)}; expected letters, digits and _ (and not the reserved __name__)`,
    );
  }
  if (typeof value !== 'string' || value === '' || TAG_VALUE_FORBIDDEN.test(value)) {
    throw new OptionError(
      `sfprof: ${what} has ${key}=${JSON.stringify(value)}; expected a value that is not empty and holds none of , { } = or control characters`,
    );
  }
}

/** The URL as shown in messages: no user info, no query. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function parseBaseUrl(text: unknown, what: string): URL {
  let url: URL | undefined;
  try {
    url = typeof text === 'string' ? new URL(text) : undefined;
  } catch {
    url = undefined;
  }
  // The value as given, unless it carries credentials.
  const shown = url && (url.username || url.password) ? JSON.stringify(displayUrl(url) + url.search + url.hash) : JSON.stringify(text);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new OptionError(`sfprof: ${what} is ${shown}; expected an http:// or https:// URL such as http://127.0.0.1:4040`);
  }
  // A bare "?" or "#" leaves url.search and url.hash empty, and /ingest would land after it.
  if (url.search || url.hash || /[?#]/.test(String(text))) {
    throw new OptionError(`sfprof: ${what} is ${shown}; expected a base URL without query or fragment (sfprof appends /ingest)`);
  }
  return url;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function defaultAppName(): string {
  const script = process.argv[1];
  if (!script) return 'node';
  const name = basename(script, extname(script)).replace(/[^A-Za-z0-9_.-]/g, '_');
  return name && APP_NAME.test(name) ? name : 'node';
}

/** "k=v,k2=v2" into tags; whitespace around keys and values is dropped, as the server does. */
function parseTags(text: string, what: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const equals = item.indexOf('=');
    if (equals < 0) {
      throw new OptionError(`sfprof: ${what} is ${JSON.stringify(text)}; expected key=value pairs separated by commas, and ${JSON.stringify(item.trim())} has no =`);
    }
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    checkTag(key, value, `${what} (${JSON.stringify(text)})`);
    if (Object.prototype.hasOwnProperty.call(tags, key)) {
      throw new OptionError(`sfprof: ${what} is ${JSON.stringify(text)}; expected each tag key once, and ${key} appears twice`);
    }
    tags[key] = value;
  }
  return tags;
}

/**
 * Push settings from SFPROF_PYROSCOPE_* variables; undefined when SFPROF_PYROSCOPE_URL is unset or
 * empty. Throws OptionError naming the variable, its value and what is allowed (never the token).
 */
export function parsePushEnv(env: NodeJS.ProcessEnv): PushConfig | undefined {
  const urlText = env.SFPROF_PYROSCOPE_URL;
  if (urlText === undefined || urlText.trim() === '') return undefined;
  const url = parseBaseUrl(urlText.trim(), 'SFPROF_PYROSCOPE_URL');
  if (url.username || url.password) {
    // The credentials stay out of the message, and out of SFPROF_* variables.
    throw new OptionError(
      `sfprof: SFPROF_PYROSCOPE_URL is ${JSON.stringify(displayUrl(url))} with user info; expected a URL without credentials ` +
        '(name the variable that holds a token in SFPROF_PYROSCOPE_TOKEN_VAR)',
    );
  }
  const appText = env.SFPROF_PYROSCOPE_APP;
  const appName = appText === undefined || appText === '' ? defaultAppName() : checkAppName(appText, 'SFPROF_PYROSCOPE_APP');
  const tags = parseTags(env.SFPROF_PYROSCOPE_TAGS ?? '', 'SFPROF_PYROSCOPE_TAGS');
  if (tags.hostname === undefined) {
    // node:os only when pushing: every preloaded process parses this module's options.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const host = (require('node:os') as typeof import('node:os')).hostname();
    if (host && !TAG_VALUE_FORBIDDEN.test(host)) tags.hostname = host;
  }
  if (tags.pid === undefined) tags.pid = String(process.pid);
  const config: PushConfig = { url: url.href, appName, tags };

  const tokenVar = env.SFPROF_PYROSCOPE_TOKEN_VAR;
  if (tokenVar !== undefined && tokenVar !== '') {
    if (!ENV_NAME.test(tokenVar)) {
      throw new OptionError(
        `sfprof: SFPROF_PYROSCOPE_TOKEN_VAR is ${JSON.stringify(tokenVar)}; expected the name of the environment variable that holds the token (letters, digits, _)`,
      );
    }
    const token = env[tokenVar];
    if (token === undefined || token === '') {
      throw new OptionError(`sfprof: SFPROF_PYROSCOPE_TOKEN_VAR is ${JSON.stringify(tokenVar)}, and ${tokenVar} is not set or empty; expected it to hold the token`);
    }
    if (!TOKEN.test(token)) {
      throw new OptionError(
        `sfprof: ${tokenVar} (named by SFPROF_PYROSCOPE_TOKEN_VAR) holds characters other than visible ASCII; expected a bearer token (value not shown)`,
      );
    }
    config.authToken = token;
  }
  const tenant = env.SFPROF_PYROSCOPE_TENANT;
  if (tenant !== undefined && tenant !== '') {
    if (!TOKEN.test(tenant)) {
      throw new OptionError(`sfprof: SFPROF_PYROSCOPE_TENANT is ${JSON.stringify(tenant)}; expected a tenant id of visible ASCII without spaces`);
    }
    config.tenant = tenant;
  }
  return config;
}
