// Debian's chromium (installed by .ci/run), driven by playwright-core, which never downloads a browser.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** A headless chromium without background traffic; without one installed, the caller fails rather than skips. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // A first start on a busy 2-core machine (two test files at once, each with daemons) took over 15 s in CI.
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Resolves to 'timeout' if the promise has not settled within ms; never rejects. */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((r) => { timer = setTimeout(() => r('timeout'), ms); });
  return Promise.race([promise.catch((e: unknown) => e), timeout]).finally(() => clearTimeout(timer));
}
