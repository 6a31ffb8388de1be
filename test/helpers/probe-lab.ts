/**
 * For the integration tests of discover, probe, mtu and vlans: agents and
 * one-shot commands run inside a Lab's namespaces (from the compiled dist/,
 * as test/helpers/cli.ts explains), a secret that differs from the
 * corpus's, and waiting for an agent to be up.
 */
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { request } from '../../src/agent/control';
import type { Lab } from '../../src/lab/netns';
import { cliCommand, type CliResult } from './cli';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `netbeacon ARGS` in a host's namespace to completion. `onStderr` sees stderr as it comes. */
export function runInNs(
  lab: Lab,
  host: string,
  args: readonly string[],
  opts: { timeoutMs?: number; onStderr?: (text: string) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = lab.spawn(host, [...cliCommand(), ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

export interface RunningAgent {
  readonly child: ChildProcess;
  readonly socket: string;
  log(): string;
}

/** Starts `netbeacon agent` in a host's namespace with a socket and journal in `dir`. */
export function startAgent(lab: Lab, host: string, dir: string, args: readonly string[]): RunningAgent {
  const socket = join(dir, `${host}.sock`);
  const child = lab.spawn(host, [...cliCommand(), 'agent', '--socket', socket, '--journal', join(dir, `${host}.jsonl`), '--log-level', 'debug', ...args]);
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  return { child, socket, log: () => log };
}

/** Resolves once the agent answers on its socket with `interfaces` monitored; rejects after `ms`. */
export async function agentUp(a: RunningAgent, interfaces: readonly string[], ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = (await request(a.socket, 'status').catch(() => undefined)) as { interfaces?: Array<{ name: string }> } | undefined;
    if (s?.interfaces && interfaces.every((i) => s.interfaces!.some((x) => x.name === i))) return;
    await sleep(200);
  }
  throw new Error(`the agent on ${a.socket} did not come up with ${interfaces.join(', ')}:\n${a.log().slice(-3000)}`);
}

/** A random 32-byte secret in hex, mode 600: another MAAS deployment's. */
export function otherSecret(dir: string): string {
  const path = join(dir, 'other-secret');
  writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return path;
}

export function macOf(lab: Lab, host: string, ifname: string): string {
  return lab.exec(host, ['cat', `/sys/class/net/${ifname}/address`]).trim();
}
