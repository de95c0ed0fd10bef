import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { ROOT, scratchDir } from './paths.ts';

/** Debian's Chromium (apt-get install chromium); the suites never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots of the browser suites (gitignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/**
 * Why the browser suites cannot run here, or null when they can. Outside CI they are skipped with
 * this reason; in CI a missing browser is a failure (.ci/run installs it).
 */
export function browserUnavailable(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} is missing: apt-get install chromium (Debian) to run the browser suites`;
}

export type TestBrowser = { context: BrowserContext; close(): Promise<void> };

/** A fresh headless Chromium with its own profile, offline-friendly flags and a fixed viewport. */
export async function launchBrowser(options: { timezoneId?: string } = {}): Promise<TestBrowser> {
  const profile = scratchDir('chromium');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    timezoneId: options.timezoneId,
    locale: 'en-GB',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where a suite saves its screenshots: test-artifacts/<suite>/<name>.png. */
export function artifactPath(suite: string, name: string): string {
  const dir = join(ARTIFACTS, suite);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}
