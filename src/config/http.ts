// SFPROF_HTTP and SFPROF_HTTP_ALLOW_REMOTE: where the on-demand profile endpoint listens, and the
// refusal of a non-loopback address unless allowed.
import type * as Net from 'node:net';

import { OptionError } from './option-error';
import { describe, FALSE_WORDS, TRUE_WORDS } from './values';

export interface HttpConfig {
  host: string;
  port: number;
}

/** node:net only when SFPROF_HTTP is set: every preloaded process parses this module (about 1 ms). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const netModule = (): typeof Net => require('node:net') as typeof Net;

const HTTP_ALLOWED =
  'host:port such as 127.0.0.1:6060, [::1]:6060, localhost:6060 or :6060 (127.0.0.1), with a port from 0 to 65535 (0 is any free port)';
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function isLoopback(host: string): boolean {
  const net = netModule();
  if (host.toLowerCase() === 'localhost') return true;
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(host);
  if (v4 && net.isIPv4(host.replace(/^::ffff:/i, ''))) return v4[1] === '127';
  if (net.isIPv6(host)) {
    // Every spelling of ::1 (0:0:0:0:0:0:0:1, ::0:1) goes through the same check.
    const list = new net.BlockList();
    list.addAddress('::1', 'ipv6');
    return list.check(host.split('%')[0]!, 'ipv6');
  }
  return false;
}

/**
 * Parses SFPROF_HTTP ("127.0.0.1:6060", "[::1]:6060", "localhost:6060", ":6060" means 127.0.0.1)
 * and SFPROF_HTTP_ALLOW_REMOTE ("1" allows a non-loopback host such as 0.0.0.0). Throws OptionError
 * naming the variable, the value and what is allowed; a non-loopback host without the allow
 * variable is an error saying so. Port 0 allowed (any free port). Returns undefined when
 * SFPROF_HTTP is unset or empty.
 */
export function parseHttpEnv(env: NodeJS.ProcessEnv): HttpConfig | undefined {
  const value = env.SFPROF_HTTP;
  if (value === undefined || value.trim() === '') return undefined;
  const fail = (why = ''): never => {
    throw new OptionError(`sfprof: SFPROF_HTTP is ${describe(value)}; ${why}expected ${HTTP_ALLOWED}`);
  };
  const net = netModule();
  const text = value.trim();
  const match = /^(?:\[([^\]]*)\]|([^\[\]:]*)):([^:]*)$/.exec(text);
  if (!match) {
    if (/^\d+$/.test(text)) fail(`a port needs a colon before it (:${text}); `);
    if (net.isIPv6(text.replace(/:\d*$/, ''))) fail('an IPv6 address needs brackets ([::1]:6060); ');
    fail();
  }
  const [, bracketed, plain, portText] = match!;
  let host: string;
  if (bracketed !== undefined) {
    if (!net.isIPv6(bracketed)) fail(`${describe(bracketed)} in brackets is not an IPv6 address; `);
    host = bracketed;
  } else if (plain === '') {
    host = '127.0.0.1';
  } else {
    host = plain!;
    // A name made only of digits and dots is a mistyped IPv4 address, not a host name.
    const numeric = /^[\d.]+$/.test(host);
    if (numeric ? !net.isIPv4(host) : !HOSTNAME.test(host)) fail(`${describe(host)} is not an IPv4 address or host name; `);
  }
  const port = /^\d{1,5}$/.test(portText!) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) fail(`the port ${describe(portText)} is not an integer from 0 to 65535; `);

  const allowText = env.SFPROF_HTTP_ALLOW_REMOTE;
  const allowWord = (allowText ?? '').trim().toLowerCase();
  if (!TRUE_WORDS.has(allowWord) && !FALSE_WORDS.has(allowWord)) {
    throw new OptionError(
      `sfprof: SFPROF_HTTP_ALLOW_REMOTE is ${describe(allowText)}; expected 1 to serve profiles on a non-loopback address, or 0 (also true/false, yes/no, on/off)`,
    );
  }
  if (!isLoopback(host) && !TRUE_WORDS.has(allowWord)) {
    throw new OptionError(
      `sfprof: SFPROF_HTTP is ${describe(value)}, which is not a loopback address: anyone who can reach it could profile this process; ` +
        `expected a loopback host (127.0.0.1, [::1], localhost), or set SFPROF_HTTP_ALLOW_REMOTE=1 to allow it`,
    );
  }
  return { host, port };
}
