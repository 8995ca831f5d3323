// Headless Chromium for tests that open the HTML flame graph, via playwright-core and the system binary.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Path of the Chromium binary (env SFPROF_CHROMIUM, else /usr/bin/chromium), or undefined. */
export function chromiumPath() {
  const candidate = process.env.SFPROF_CHROMIUM || '/usr/bin/chromium';
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return candidate;
  } catch {
    return undefined;
  }
}

/** A headless Chromium (playwright Browser), or undefined when no binary exists. */
export async function launchChromium() {
  const executablePath = chromiumPath();
  if (!executablePath) return undefined;
  const { chromium } = await import('playwright-core');
  // Playwright gives each launch a fresh temporary profile directory (and refuses --user-data-dir).
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

export { requireTool } from './helpers.mjs';

/**
 * Opens an sfprof HTML page, waits for its first paint and saves a 1200x600 PNG of it; `prepare(page)`
 * may pick a view first.
 */
export async function screenshotHtml(htmlPath, pngPath, { browser, prepare } = {}) {
  const owned = browser ? undefined : await launchChromium();
  const chrome = browser ?? owned;
  if (!chrome) throw new Error('chromium not installed (Debian package chromium); set SFPROF_CHROMIUM to a binary');
  try {
    const page = await chrome.newPage({ viewport: { width: 1200, height: 600 } });
    await page.goto(pathToFileURL(path.resolve(htmlPath)).href);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 30_000 });
    if (prepare) await prepare(page);
    await page.screenshot({ path: pngPath });
    await page.close();
  } finally {
    await owned?.close();
  }
  return pngPath;
}
