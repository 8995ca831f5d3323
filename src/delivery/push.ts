// Pushes profiles to a Pyroscope-compatible server (POST /ingest, raw gzipped pprof). Uploads go one
// at a time through a small bounded queue; a slow or dead backend costs a rate-limited warning and
// dropped profiles, never memory, an exception or a process kept alive. At exit, the last profile
// goes through a short-lived child process instead (pushAtExit): the app's event loop is done.
import type { Agent as HttpAgent } from 'node:http';

import { renderProfile } from '../formats/render-profile';
import { OptionError } from '../config/option-error';
import { checkAppName, checkTag, displayUrl, parseBaseUrl, TOKEN, type PushConfig } from '../config/push';
import { sampleWeightNs, type Profile } from '../model/profile';
import { runExitUpload } from './push-exit';
import { describeError, postOnce, redactToken, type PostOutcome } from './push-request';
import { stderrLine } from '../common/stderr';

export interface PushStats {
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
  lastError?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_MAX_QUEUED = 3;
const DEFAULT_BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
const WARN_EVERY_MS = 60_000;

interface Job {
  body: Buffer;
  url: URL;
  controller: AbortController;
  dropped: boolean;
}


function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new OptionError(`sfprof: ${what} is ${JSON.stringify(value)}; expected a positive integer`);
  }
  return value;
}

function defaultWarn(line: string): void {
  stderrLine(`sfprof: ${line}`);
}

export class Pusher {
  private readonly endpoint: URL;
  private readonly shownEndpoint: string;
  private readonly seriesName: string;
  private readonly headers: Record<string, string>;
  private readonly authToken: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxQueued: number;
  private readonly backoffBaseMs: number;
  private readonly warnLine: (line: string) => void;
  private readonly agent: HttpAgent;

  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private running = false;
  private idleWaiters: (() => void)[] = [];

  private sent = 0;
  private failed = 0;
  private dropped = 0;
  private retries = 0;
  private lastError: string | undefined;

  private lastWarnAt: number | undefined;
  private failedSinceWarn = 0;
  private droppedSinceWarn = 0;

  constructor(config: PushConfig) {
    const base = parseBaseUrl(config.url, 'push option "url"');
    this.endpoint = new URL(base.href);
    this.endpoint.pathname = `${base.pathname.replace(/\/+$/, '')}/ingest`;
    this.shownEndpoint = displayUrl(this.endpoint);
    const app = checkAppName(config.appName, 'push option "appName"');
    const tags = Object.entries(config.tags ?? {});
    for (const [key, value] of tags) checkTag(key, value, 'push option "tags"');
    this.seriesName = `${app}{${tags.map(([key, value]) => `${key}=${value}`).join(',')}}`;
    this.authToken = config.authToken || undefined;
    if (this.authToken !== undefined && !TOKEN.test(this.authToken)) {
      // The value stays out of the message: it is a secret.
      throw new OptionError('sfprof: push option "authToken" holds characters other than visible ASCII (value not shown)');
    }
    this.headers = { 'Content-Type': 'application/octet-stream' };
    if (this.authToken !== undefined) this.headers['Authorization'] = `Bearer ${this.authToken}`;
    if (config.tenant) {
      if (!TOKEN.test(config.tenant)) {
        throw new OptionError(`sfprof: push option "tenant" is ${JSON.stringify(config.tenant)}; expected visible ASCII without spaces`);
      }
      this.headers['X-Scope-OrgID'] = config.tenant;
    }
    this.timeoutMs = positiveInteger(config.timeoutMs, DEFAULT_TIMEOUT_MS, 'push option "timeoutMs"');
    this.maxAttempts = positiveInteger(config.maxAttempts, DEFAULT_MAX_ATTEMPTS, 'push option "maxAttempts"');
    this.maxQueued = positiveInteger(config.maxQueued, DEFAULT_MAX_QUEUED, 'push option "maxQueued"');
    this.backoffBaseMs = positiveInteger(config.backoffBaseMs, DEFAULT_BACKOFF_BASE_MS, 'push option "backoffBaseMs"');
    this.warnLine = config.warn ?? defaultWarn;
    // No keep-alive: uploads are minutes apart, and a reused stale socket would only cost a retry.
    // node:http(s) load here, when pushing is on, not with the preload in every process.
    const { Agent } = (this.endpoint.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http');
    this.agent = new Agent({ keepAlive: false });
  }

  /**
   * Queues one profile covering [fromMs, untilMs) (epoch milliseconds), with its gzipped pprof when
   * the caller has rendered it already. Never throws, never blocks.
   */
  push(profile: Profile, fromMs: number, untilMs: number, pprof?: Buffer): void {
    try {
      const job = this.makeJob(profile, fromMs, untilMs, pprof);
      while (this.queue.length + (this.current ? 1 : 0) >= this.maxQueued) {
        // The oldest waiting upload goes; only with a queue of one is that the one in flight.
        const victim = this.queue.shift() ?? this.current;
        if (!victim) break;
        if (victim === this.current) this.current = undefined;
        victim.dropped = true;
        victim.controller.abort();
        this.dropped++;
        this.droppedSinceWarn++;
        this.trouble(`profile upload queue full (${this.maxQueued}): dropped the oldest profile; ${this.shownEndpoint} is slow or down`);
      }
      this.queue.push(job);
      this.pump();
    } catch (error) {
      this.recordFailure(`could not prepare the upload: ${describeError(error, (text) => this.redact(text))}`);
    }
  }

  stats(): PushStats {
    const stats: PushStats = { sent: this.sent, failed: this.failed, dropped: this.dropped, retries: this.retries };
    if (this.lastError !== undefined) stats.lastError = this.lastError;
    return stats;
  }

  /** Resolves when the queue is empty (for tests and a graceful stop); never rejects. */
  flush(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Uploads queued or in flight: at exit, the ones that will never arrive. */
  unsent(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /**
   * For a process that is exiting (an 'exit' listener, a fatal signal): its event loop will not run
   * again, so the upload runs in a child process that this call waits for, `deadlineMs` at most. One
   * attempt, no retries. The child is a bare `node` (no NODE_OPTIONS, so no sfprof in it) that gets
   * the TLS settings of this process's environment. Not where `process.execPath` is not a plain
   * Node (a single executable application, Electron): there it counts a failure. Never throws.
   */
  pushAtExit(profile: Profile, fromMs: number, untilMs: number, pprof: Buffer | undefined, deadlineMs: number): void {
    let outcome: PostOutcome;
    try {
      const job = this.makeJob(profile, fromMs, untilMs, pprof);
      outcome = runExitUpload(job.url, job.body, this.headers, deadlineMs);
    } catch (error) {
      outcome = { ok: false, retry: false, error: describeError(error, (text) => this.redact(text)) };
    }
    if (outcome.ok) this.sent++;
    else this.recordFailure(`${outcome.error} (at exit)`);
  }

  private makeJob(profile: Profile, fromMs: number, untilMs: number, pprof?: Buffer): Job {
    if (!Number.isFinite(fromMs) || !Number.isFinite(untilMs) || untilMs < fromMs) {
      throw new Error(`the time range ${fromMs}..${untilMs} is not a range of epoch milliseconds`);
    }
    const from = Math.floor(fromMs / 1000);
    // Whole seconds that cover the range, never an empty one.
    const until = Math.max(Math.ceil(untilMs / 1000), from + 1);
    const weight = sampleWeightNs(profile.metadata);
    const rate = weight > 0 ? Math.round(1e9 / weight) : 0;
    const rendered = pprof ?? renderProfile(profile, 'pprof');
    const url = new URL(this.endpoint.href);
    url.search = new URLSearchParams({
      name: this.seriesName,
      from: String(from),
      until: String(until),
      format: 'pprof',
      spyName: 'sfprof',
      sampleRate: String(Number.isFinite(rate) && rate >= 1 ? rate : 100),
    }).toString();
    return {
      body: typeof rendered === 'string' ? Buffer.from(rendered) : rendered,
      url,
      controller: new AbortController(),
      dropped: false,
    };
  }

  private pump(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        this.current = job;
        await this.send(job);
        if (this.current === job) this.current = undefined;
      }
    } finally {
      this.running = false;
      this.current = undefined;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async send(job: Job): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await postOnce({
        url: job.url,
        body: job.body,
        headers: this.headers,
        timeoutMs: this.timeoutMs,
        redact: (text) => this.redact(text),
        agent: this.agent,
        signal: job.controller.signal,
      });
      if (job.dropped) return;
      if (outcome.ok) {
        this.sent++;
        return;
      }
      if (!outcome.retry || attempt >= this.maxAttempts) {
        const tries = attempt > 1 ? ` (${attempt} attempts)` : outcome.retry ? '' : ' (not retried)';
        this.recordFailure(outcome.error + tries);
        return;
      }
      this.retries++;
      // Full jitter: a fleet that lost its backend does not come back in lockstep.
      const ceiling = Math.min(BACKOFF_CAP_MS, this.backoffBaseMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling, job.controller.signal);
      if (job.dropped) return;
    }
  }

  private recordFailure(error: string): void {
    this.failed++;
    this.failedSinceWarn++;
    this.lastError = this.redact(error);
    this.trouble(`could not push a profile to ${this.shownEndpoint}: ${this.lastError}`);
  }

  /** The first problem is told at once; after that at most one summary line a minute. */
  private trouble(firstLine: string): void {
    const now = Date.now();
    if (this.lastWarnAt === undefined) {
      this.lastWarnAt = now;
      this.failedSinceWarn = 0;
      this.droppedSinceWarn = 0;
      this.warn(`${firstLine}; further problems are reported at most once a minute`);
      return;
    }
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    const seconds = Math.round((now - this.lastWarnAt) / 1000);
    const last = this.lastError !== undefined ? `; last error: ${this.lastError}` : '';
    this.warn(
      `in the last ${seconds} s, ${this.failedSinceWarn} profile uploads to ${this.shownEndpoint} failed and ` +
        `${this.droppedSinceWarn} were dropped because the queue was full${last}`,
    );
    this.lastWarnAt = now;
    this.failedSinceWarn = 0;
    this.droppedSinceWarn = 0;
  }

  private warn(line: string): void {
    try {
      this.warnLine(this.redact(line));
    } catch {
      // A broken warning sink must not break the app.
    }
  }

  /** Servers or proxies may echo headers back; the token never leaves in a message. */
  private redact(text: string): string {
    return redactToken(text, this.authToken);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
