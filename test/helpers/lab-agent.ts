/**
 * `netbeacon agent` started in one of a lab's namespace hosts, keyed with
 * the MAAS corpus secret, its stdout and stderr kept together: the start
 * the integration tests share. `ip netns exec` and `env` exec their command
 * in place, so the child's pid is the agent's (signals reach it).
 */
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../src/lab/netns';
import { cliCommand } from './cli';
import { vector } from './corpus';

export interface LabAgent {
  readonly child: ChildProcess;
  /** What the agent printed so far (stdout then stderr as they came), at most `keep` characters: the last ones. */
  log(): string;
}

export interface LabAgentOptions {
  /** Set in the agent's environment (through `env`, so the pid stays the agent's). */
  readonly env?: Readonly<Record<string, string>>;
  /** The most characters of output kept; default all. */
  readonly keep?: number;
}

/** The argv of `netbeacon agent --secret-file <corpus secret> ...args`, with `env` first when given. */
export function labAgentArgv(args: readonly string[], env: Readonly<Record<string, string>> = {}): string[] {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return [...(vars.length > 0 ? ['env', ...vars] : []), ...cliCommand(), 'agent', '--secret-file', vector('secret'), ...args];
}

export function spawnLabAgent(lab: Lab, host: string, args: readonly string[], opts: LabAgentOptions = {}): LabAgent {
  const child = lab.spawn(host, labAgentArgv(args, opts.env));
  const keep = opts.keep ?? Number.POSITIVE_INFINITY;
  let log = '';
  const add = (d: string): void => {
    log += d;
    if (log.length > keep) log = log.slice(-keep);
  };
  child.stdout!.setEncoding('utf8').on('data', add);
  child.stderr!.setEncoding('utf8').on('data', add);
  return { child, log: () => log };
}
