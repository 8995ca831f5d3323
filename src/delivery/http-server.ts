// An HTTP endpoint for on-demand profiles, shaped like Go's net/http/pprof so that
// `go tool pprof http://host:port/debug/pprof/profile?seconds=N` works against a Node.js process.
import type * as http from 'node:http';
import * as net from 'node:net';

import { renderProfile } from '../formats/render';
import type { HttpConfig } from '../config/http';
import type { Profile } from '../model/profile';

export interface ProfileSource {
  /**
   * Resolves with a profile of the next `seconds` seconds of sampling: the samples captured in
   * those seconds, even when a busy event loop lets it resolve later. Called at most once at a time
   * (the server guarantees it). Rejects with an Error when no profile can be taken (e.g. sampling
   * stopped).
   */
  profileFor(seconds: number): Promise<Profile>;
  /** For the HTML page. */
  title: string;
}

export interface ProfileServer {
  address(): { host: string; port: number };
  close(): Promise<void>;
}

export const DEFAULT_SECONDS = 30;
export const MAX_SECONDS = 3600;

const PROFILE_PATH = '/debug/pprof/profile';
const FLAMEGRAPH_PATH = '/debug/sfprof/flamegraph';
const INDEX_PATHS = new Set(['/', '/debug/pprof', '/debug/pprof/']);

const INDEX = [
  'sfprof: CPU profiles of this process',
  '',
  `${PROFILE_PATH}?seconds=N      pprof profile (gzipped profile.proto) of the next N seconds; go tool pprof reads it`,
  `${FLAMEGRAPH_PATH}?seconds=N  HTML flame graph of the next N seconds`,
  '',
  `N is an integer from 1 to ${MAX_SECONDS}; ${DEFAULT_SECONDS} when absent. One profile at a time.`,
  '',
].join('\n');

function formatHostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

function listenError(error: NodeJS.ErrnoException, config: HttpConfig): Error {
  const where = formatHostPort(config.host, config.port);
  const code = error.code ?? '';
  const why = LISTEN_ERRORS[code] ?? String(error.message).split('\n')[0] ?? '';
  return new Error(`sfprof: cannot serve profiles on ${where}: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`);
}

/** The `seconds` parameter, or the reason it is refused. */
function parseSeconds(params: URLSearchParams): { seconds: number } | { error: string } {
  const text = params.get('seconds');
  if (text === null) return { seconds: DEFAULT_SECONDS };
  const seconds = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 1 && seconds <= MAX_SECONDS)) {
    return {
      error: `invalid value for "seconds": ${JSON.stringify(text)}; expected an integer from 1 to ${MAX_SECONDS} (seconds of profiling, ${DEFAULT_SECONDS} when absent)`,
    };
  }
  return { seconds };
}

function sendText(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = Buffer.from(body.endsWith('\n') ? body : `${body}\n`, 'utf8');
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(data.length),
    // go tool pprof prints the body of a text/plain error only when this header is present.
    ...(status >= 400 && { 'X-Go-Pprof': '1' }),
  });
  res.end(data);
}

/**
 * Starts listening; resolves once listening, rejects with a one-line Error (e.g. EADDRINUSE, naming
 * host:port) otherwise. The server and every socket are unref'd: it never keeps the process alive.
 */
export function startProfileServer(config: HttpConfig, source: ProfileSource): Promise<ProfileServer> {
  // The one profile in progress: when it ends, for Retry-After. Held until profileFor settles, even
  // when its client has gone, so that profileFor is never called twice at once.
  let busyUntil: number | undefined;

  async function serveProfile(res: http.ServerResponse, seconds: number, html: boolean): Promise<void> {
    if (busyUntil !== undefined) {
      const left = Math.max(1, Math.ceil((busyUntil - Date.now()) / 1000));
      sendText(res, 429, `a profile is already being taken; only one at a time; retry in ${left} s`, { 'Retry-After': String(left) });
      return;
    }
    busyUntil = Date.now() + seconds * 1000;
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    let profile: Profile;
    try {
      profile = await source.profileFor(seconds);
    } catch (error) {
      sendText(res, 503, `sfprof: no profile: ${error instanceof Error ? error.message : String(error)}`);
      return;
    } finally {
      busyUntil = undefined;
    }
    // The client gave up: the profile is discarded.
    if (gone || res.destroyed) return;
    let body: string | Buffer;
    try {
      body = html ? renderProfile(profile, 'html', { title: source.title }) : renderProfile(profile, 'pprof');
    } catch (error) {
      sendText(res, 500, `sfprof: cannot render the profile: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const headers: Record<string, string> = html
      ? { 'Content-Type': 'text/html; charset=utf-8' }
      : { 'Content-Type': 'application/octet-stream', 'Content-Disposition': 'attachment; filename="profile"' };
    res.writeHead(200, { ...headers, 'Content-Length': String(data.length) });
    res.end(data);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    // A body, if any, is not wanted; reading it lets the connection be reused.
    req.resume();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendText(res, 400, `invalid request target ${JSON.stringify(req.url)}`);
      return;
    }
    const path = url.pathname;
    const known = path === PROFILE_PATH || path === FLAMEGRAPH_PATH || INDEX_PATHS.has(path);
    if (!known) {
      sendText(res, 404, `${path}: not found; profiles are at ${PROFILE_PATH} and ${FLAMEGRAPH_PATH}`);
      return;
    }
    if (req.method !== 'GET') {
      sendText(res, 405, `method ${req.method} not allowed; use GET`, { Allow: 'GET' });
      return;
    }
    if (INDEX_PATHS.has(path)) {
      sendText(res, 200, INDEX);
      return;
    }
    const parsed = parseSeconds(url.searchParams);
    if ('error' in parsed) {
      sendText(res, 400, parsed.error);
      return;
    }
    await serveProfile(res, parsed.seconds, path === FLAMEGRAPH_PATH);
  }

  // Loaded here, not at the top: every preloaded process reads this module, few serve HTTP.
  const { createServer } = require('node:http') as typeof import('node:http');
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendText(res, 500, `sfprof: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.on('connection', (socket: net.Socket) => socket.unref());
  server.unref();

  return new Promise<ProfileServer>((resolve, reject) => {
    const onListenError = (error: NodeJS.ErrnoException): void => reject(listenError(error, config));
    server.once('error', onListenError);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', onListenError);
      // A later server error (rare: the listening socket failing) must not take the process down.
      server.on('error', () => {});
      resolve({
        address() {
          const address = server.address();
          if (address === null || typeof address === 'string') return { host: config.host, port: config.port };
          return { host: address.address, port: address.port };
        },
        close() {
          return new Promise<void>((done) => {
            if (!server.listening) return done();
            server.close(() => done());
            // Profiles in progress are abandoned: their clients see the connection close.
            server.closeAllConnections();
          });
        },
      });
    });
  });
}
