/**
 * `netbeacon mtu`: the largest datagram that crosses the link to each
 * peer, both ways, against the interface MTU. See src/probe/mtu-run.ts for
 * the method and src/probe/mtu-report.ts for the JSON shape.
 * Exit 0 when every peer's path carries the interface MTU, 1 on a
 * mismatch or when no peer answered.
 */
import type { Command } from 'commander';
import { DEFAULT_MTU_OPTIONS, runMtu } from '../../probe/mtu-run';
import { mtuExitCode } from '../../probe/mtu-report';
import { renderMtu } from '../../probe/render';
import { ProbeSession, resolveInterfaces } from '../../probe/session';
import { addEngineOption, addSecretOption, numberArg } from '../options';
import { writeOut } from '../output';
import { collect } from './probe-options';

interface MtuOptions {
  interface: string[];
  peer?: string;
  json?: boolean;
  rate: number;
  wait: number;
  tries: number;
  secretFile?: string;
  engine?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('mtu')
    .description('measure the largest datagram that crosses the link to each peer, both ways, with DF set, and flag paths narrower than the interface MTU')
    .option(
      '-i, --interface <name|glob>',
      'probe from this interface (repeatable; globs). Default: every interface that is up, not loopback, with a MAC',
      collect,
      [],
    )
    .option('--peer <mac|ip>', 'probe only this peer (its interface MAC or its IP)')
    .option('--json', 'print the report as JSON (see README, "mtu")')
    .option('--rate <n>', 'probes per second at most', numberArg('--rate', 1, 100), DEFAULT_MTU_OPTIONS.rate)
    .option('--wait <ms>', 'how long to wait for each answer', numberArg('--wait', 50, 10_000, true), DEFAULT_MTU_OPTIONS.waitMs)
    .option('--tries <n>', 'losses in a row before a size counts as too big', numberArg('--tries', 1, 10, true), DEFAULT_MTU_OPTIONS.tries)
    .addHelpText(
      'after',
      [
        '',
        'Sizes are IPv4 datagram lengths, as an MTU counts them (the Ethernet frame is 14 bytes more). Probes are',
        'solicitations padded inside the authenticated payload, sent raw with DF set and bisected between 1280 and the',
        'interface MTU (at most 9216). The reverse direction asks a netbeacon peer for padded replies; a MAAS rack',
        'answers only the forward one. Needs the native addon (raw sending) and CAP_NET_RAW.',
        'Exit codes: 0 every path carries its interface MTU, 1 a mismatch or no peer answered, 2 usage error.',
        '',
        'Example:',
        '  sudo netbeacon mtu -i eth0 --peer 52:54:00:0a:00:02',
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: MtuOptions) => {
    const interfaces = await resolveInterfaces(opts.interface);
    const s = await ProbeSession.open({ interfaces, secretFile: opts.secretFile, engine: opts.engine, raw: true });
    let report;
    try {
      process.stderr.write(`netbeacon: measuring MTUs on ${interfaces.map((i) => i.name).join(', ')}${opts.peer ? ` toward ${opts.peer}` : ''}\n`);
      report = await runMtu(s, { ...DEFAULT_MTU_OPTIONS, peer: opts.peer, rate: opts.rate, waitMs: opts.wait, tries: opts.tries });
    } finally {
      await s.close();
    }
    await writeOut(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderMtu(report));
    process.exitCode = mtuExitCode(report);
  });
}
