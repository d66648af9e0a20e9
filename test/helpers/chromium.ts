/**
 * Debian's Chromium driven by playwright-core (never `npx playwright install`). Locally a missing
 * Chromium skips the browser tests visibly; under CI it is a failure, never a skip.
 * Launch flags: test/browser/launch.mjs (shared with the latency measurement script).
 */
import { existsSync } from 'node:fs';
import type { ConsoleMessage, Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../browser/launch.mjs';

export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium } from '../browser/launch.mjs';

export function chromiumAvailable(): boolean {
  const ok = existsSync(CHROMIUM_PATH);
  if (!ok && process.env['CI']) {
    throw new Error(`CI is set but Chromium is missing at ${CHROMIUM_PATH}: install it (bash scripts/setup-system.sh)`);
  }
  return ok;
}

/** Collects a page's console lines and uncaught errors, for assertions and for failure messages. */
export function recordConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m: ConsoleMessage) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e: Error) => lines.push(`[pageerror] ${e.message}`));
  return lines;
}
