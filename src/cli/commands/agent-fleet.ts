/**
 * `agent --fleet URL --name NAME`: the pieces the agent command needs to
 * report to the fleet service, checked before the agent starts so that a
 * bad URL or name is a usage error, not a log line.
 */
import { hostname } from 'node:os';
import { UsageError } from '../../errors';
import type { AgentConfig } from '../../config/config';
import { deriveFleetKey } from '../../fleet/model/auth';
import { parseServiceUrl, ServiceUrlError, type ServiceTarget } from '../../net/http-client';
import { loadSecret } from '../../secret/secret';
import { FleetReporter, type FleetReportSource } from '../../agent/fleet-reporter';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface FleetLink {
  readonly target: ServiceTarget;
  readonly name: string;
  readonly key: Uint8Array;
  readonly periodMs: number;
}

/** Undefined when the config names no fleet service. */
export function prepareFleetLink(config: AgentConfig): FleetLink | undefined {
  if (config.fleet.url === null) return undefined;
  let target: ServiceTarget;
  try {
    target = parseServiceUrl(config.fleet.url);
  } catch (err) {
    if (err instanceof ServiceUrlError) throw new UsageError('E_FLEET_URL', `--fleet (fleet.url) ${err.message}`);
    throw err;
  }
  // Network namespaces share the machine's hostname: give each agent a --name there.
  const name = config.fleet.name ?? hostname().split('.')[0]!;
  if (!NAME.test(name) || name.length > 253)
    throw new UsageError('E_FLEET_NAME', `--name (fleet.name) must be a host name (letters, digits, ".", "_", "-"), got ${JSON.stringify(name)}`);
  const secret = loadSecret(config.fleet.secretFile ?? config.secretFile);
  return { target, name, key: deriveFleetKey(secret.bytes), periodMs: config.fleet.periodMs };
}

export function startFleetReporter(
  source: FleetReportSource & { addStatusSection(name: string, section: () => unknown): void },
  link: FleetLink,
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>) => void,
): FleetReporter {
  const reporter = new FleetReporter(source, { target: link.target, name: link.name, key: link.key, periodMs: link.periodMs, log });
  source.addStatusSection('fleet', () => reporter.status());
  reporter.start();
  return reporter;
}
