/** `netbeacon fleet serve|topology|hosts|history`: the fleet service and its read side. */
import type { Command } from 'commander';
import { registerServe } from './fleet-serve';
import { registerRead } from './fleet-read';

export function register(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('the fleet service: every agent reports to it, and it joins their hints into one data-center fabric model')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  netbeacon fleet serve --db sqlite:/var/lib/netbeacon/fleet.db --secret-file /var/lib/maas/secret',
        '  sudo netbeacon agent --fleet http://fleet.example:9241 --name rack1',
        '  netbeacon fleet topology --server http://fleet.example:9241',
      ].join('\n'),
    );
  registerServe(fleet);
  registerRead(fleet);
}
