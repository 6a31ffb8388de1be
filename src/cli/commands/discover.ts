/**
 * `netbeacon discover`: who beacons on these links. Solicits, listens for
 * the timeout, and lists every host heard: where (interface, VID), its
 * addresses and MACs, its role and MAAS URL when it advertises them, and
 * whether it shares our secret. Exit 0 when a host was found, 1 when none.
 */
import type { Command } from 'commander';
import { runDiscover } from '../../probe/discover-run';
import { renderDiscover } from '../../probe/render';
import { ProbeSession, resolveInterfaces } from '../../probe/session';
import { addEngineOption, addSecretOption, numberArg } from '../options';
import { writeOut } from '../output';
import { collect } from './probe-options';

interface DiscoverOptions {
  interface: string[];
  timeout: number;
  json?: boolean;
  secretFile?: string;
  engine?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('discover')
    .description(
      'find the beaconing hosts on the links: solicit, listen, and list each with where it was heard, its addresses, role, MAAS URL and whether it shares our secret',
    )
    .option(
      '-i, --interface <name|glob>',
      'solicit and listen on this interface (repeatable; globs). Default: every interface that is up, not loopback, with a MAC',
      collect,
      [],
    )
    .option('--timeout <seconds>', 'how long to listen', numberArg('--timeout', 0.5, 3600), 5)
    .option('--json', 'print {interfaces, timeout_seconds, hosts: [...], stats} as JSON')
    .addHelpText(
      'after',
      [
        '',
        'A host is listed once however often it is heard: by the MAC its beacons name (authenticated) when it shares our',
        'secret, by its source MAC when its beacons fail only their HMAC ("different secret"). Hosts with another secret',
        'cannot read our solicitation, so they show up only if they beacon during the window: MAAS racks solicit every',
        '30 s, so --timeout 31 is sure to catch them.',
        'Exit codes: 0 at least one host found, 1 none, 2 usage error.',
        '',
        'Example:',
        '  sudo netbeacon discover -i eth0 --timeout 10 --secret-file /var/lib/maas/secret',
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: DiscoverOptions) => {
    const interfaces = await resolveInterfaces(opts.interface);
    const s = await ProbeSession.open({ interfaces, secretFile: opts.secretFile, engine: opts.engine });
    let result;
    try {
      process.stderr.write(`netbeacon: discovering on ${interfaces.map((i) => i.name).join(', ')} for ${opts.timeout} s (${s.capture.engine} capture)\n`);
      result = await runDiscover(s, opts.timeout * 1000);
    } finally {
      await s.close();
    }
    for (const f of result.stats.send_failures) process.stderr.write(`netbeacon: warning: cannot solicit: ${f}\n`);
    if (opts.json)
      await writeOut(
        JSON.stringify({ interfaces: result.interfaces, timeout_seconds: opts.timeout, hosts: result.hosts, stats: result.stats }, null, 2) + '\n',
      );
    else await writeOut(renderDiscover(result.hosts, result.interfaces, opts.timeout));
    process.exitCode = result.hosts.length > 0 ? 0 : 1;
  });
}
