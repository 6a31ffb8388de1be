/**
 * Debian's Chromium, driven by playwright-core (which downloads no browser),
 * for the fleet map's tests and bench. The flags keep it off the network:
 * without them it opens background connections to Google's services, which
 * fail here and have no business on a rack anyway.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

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

/**
 * The browser's environment: this process's without the sanitizer runtime.
 * Under `npm run test:asan` every process inherits LD_PRELOAD of libasan,
 * meant for node and the addon; preloaded into Debian's chromium wrapper
 * script and the browser, it broke the script's arithmetic ("[: …:
 * unexpected operator") and the launch timed out.
 */
export function browserEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !/^(LD_PRELOAD|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS)$/.test(k)) out[k] = v;
  return out;
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
