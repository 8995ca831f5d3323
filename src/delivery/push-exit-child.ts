// The exit upload's child process (started by push-exit.ts for Pusher.pushAtExit): the app is exiting, so its event loop can
// no longer wait for a request; it runs this script synchronously instead, with the profile on stdin
// and the request in SFPROF_PUSH_EXIT, and reads one JSON line of outcome from stdout. Loads nothing
// of sfprof but the request.
import { readFileSync, writeSync } from 'node:fs';

import { postOnce, redactToken, type PostOutcome } from './push-request';

interface ExitRequest {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

function report(outcome: PostOutcome): void {
  try {
    writeSync(1, JSON.stringify(outcome) + '\n');
  } catch {
    // the app gave up waiting
  }
}

try {
  const spec = JSON.parse(process.env.SFPROF_PUSH_EXIT ?? '') as ExitRequest;
  const body = readFileSync(0);
  // Redacted here too, before an error text is cut short: the app redacts only what it is given.
  const token = /^Bearer (.+)$/.exec(spec.headers['Authorization'] ?? '')?.[1];
  const redact = (text: string): string => redactToken(text, token);
  void postOnce({ url: new URL(spec.url), body, headers: spec.headers, timeoutMs: spec.timeoutMs, redact, ref: true }).then(report);
} catch (error) {
  report({ ok: false, retry: false, error: `the exit upload could not start: ${error instanceof Error ? error.message : String(error)}` });
}
