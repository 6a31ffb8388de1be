/**
 * Debian's Chromium, driven by playwright-core (which downloads no browser),
 * for the fleet map's tests and bench. The flags keep it off the network:
 * without them it opens background connections to Google's services, which
 * fail here and have no business on a rack anyway.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { withoutSanitizerRuntime } from '../../src/lab/sanitizer-env';

export const CHROMIUM = process.env.NETBEACON_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(__dirname, '..', 'artifacts');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // root in CI: Chromium's sandbox refuses to run as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-pings',
  '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication',
];

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`;
  return undefined;
}

/** A fresh browser (playwright gives it a fresh profile directory of its own, removed on close). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000, env: browserEnv() });
}

/** The browser's environment: this process's without the sanitizer runtime (src/lab/sanitizer-env.ts says why). */
export function browserEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return withoutSanitizerRuntime(env);
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
