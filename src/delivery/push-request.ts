// One POST of a profile to a Pyroscope ingest URL and what came of it. Shared by the pusher (in the
// app, with an unref'd socket so an upload never keeps the app alive) and by the exit upload's child
// process (push-exit.ts, where the request is all there is to wait for). Loads only node:http(s).
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';

export type PostOutcome = { ok: true } | { ok: false; retry: boolean; error: string };

/** How much of an error response's body goes into the error text. */
const ERROR_BODY_CHARS = 200;

export interface PostRequest {
  url: URL;
  body: Buffer;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Applied to any text from the server before it is cut short: a token it echoes never leaves. */
  redact: (text: string) => string;
  agent?: Agent;
  signal?: AbortSignal;
  /** Whether the request keeps the event loop alive (the exit child); default no. */
  ref?: boolean;
}

/** `text` with every occurrence of the token replaced by "<token>" (as is, without a token). */
export function redactToken(text: string, token: string | undefined): string {
  return token ? text.split(token).join('<token>') : text;
}

/** The message of an error, on one line and redacted. */
export function describeError(error: unknown, redact: (text: string) => string): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return redact(text.replace(/\s+/g, ' ').trim());
}

/** One request. Resolves with what happened; never rejects. */
export function postOnce(post: PostRequest): Promise<PostOutcome> {
  return new Promise<PostOutcome>((resolve) => {
    let request: ClientRequest | undefined;
    let settled = false;
    const finish = (outcome: PostOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      post.signal?.removeEventListener('abort', onAbort);
      request?.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ ok: false, retry: false, error: 'dropped' });
    const timer = setTimeout(() => finish({ ok: false, retry: true, error: `no answer within ${post.timeoutMs} ms` }), post.timeoutMs);
    if (!post.ref) timer.unref();
    if (post.signal?.aborted) return onAbort();
    post.signal?.addEventListener('abort', onAbort, { once: true });

    // node:http(s) load on first use: the preload reads this module in every process, few push.
    const send =
      post.url.protocol === 'https:'
        ? (require('node:https') as typeof import('node:https')).request
        : (require('node:http') as typeof import('node:http')).request;
    try {
      request = send(
        post.url,
        { method: 'POST', ...(post.agent && { agent: post.agent }), headers: { ...post.headers, 'Content-Length': String(post.body.length) } },
        (response: IncomingMessage) => {
          const status = response.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept < ERROR_BODY_CHARS * 4) {
              chunks.push(chunk);
              kept += chunk.length;
            }
          });
          response.on('end', () => {
            if (status >= 200 && status < 300) return finish({ ok: true });
            const text = post.redact(Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim());
            const detail = text ? `: ${text.length > ERROR_BODY_CHARS ? text.slice(0, ERROR_BODY_CHARS) + '…' : text}` : '';
            finish({ ok: false, retry: status === 429 || status >= 500, error: `HTTP ${status}${detail}` });
          });
          response.on('error', (error) => finish({ ok: false, retry: true, error: describeError(error, post.redact) }));
          response.on('close', () => finish({ ok: false, retry: true, error: `HTTP ${status}: connection closed before the end of the answer` }));
        },
      );
    } catch (error) {
      return finish({ ok: false, retry: false, error: describeError(error, post.redact) });
    }
    if (!post.ref) request.on('socket', (socket) => socket.unref());
    request.on('error', (error) => finish({ ok: false, retry: true, error: describeError(error, post.redact) }));
    request.end(post.body);
  });
}
