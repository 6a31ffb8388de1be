/**
 * `netbeacon vlans`: which VLANs reach which peers from one interface.
 * Sends one tagged solicitation per VID (raw, paced) and reports who
 * answered on which; with --expect, how that compares with the file.
 * See src/probe/vlan-run.ts (method), vlan-report.ts (JSON shape) and
 * vlan-expect.ts (the expect file).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { DEFAULT_RATE, MAX_RATE } from '../../probe/pace';
import { renderVlans } from '../../probe/render';
import { ProbeSession, resolveInterfaces } from '../../probe/session';
import { readVlanExpectFile } from '../../probe/vlan-expect';
import { compareVlans, type VlanComparison } from '../../probe/vlan-report';
import { runVlans } from '../../probe/vlan-run';
import { addEngineOption, addSecretOption, numberArg } from '../options';
import { writeOut } from '../output';
import { vidListArg } from './probe-options';

interface VlansOptions {
  interface: string;
  vids: number[];
  outerVid?: number;
  json?: boolean;
  expect?: string;
  rate: number;
  timeout: number;
  secretFile?: string;
  engine?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('vlans')
    .description('send one tagged solicitation per VLAN and report which VLANs reach which peers; compare with what you expect')
    .requiredOption('-i, --interface <name>', 'the interface to probe from (one; the trunk port)')
    .requiredOption('--vids <list>', 'VIDs to probe: "10,20,30-40" (1-4094)', vidListArg('--vids'))
    .option('--outer-vid <vid>', 'wrap each probe in an 802.1ad (QinQ) service tag with this VID', numberArg('--outer-vid', 1, 4094, true))
    .option('--json', 'print the report as JSON (see README, "vlans")')
    .option('--expect <file>', 'YAML/JSON: per peer MAC, the VIDs it should answer on; differences make the exit code 1')
    .option('--rate <n>', `frames per second at most (default ${DEFAULT_RATE})`, numberArg('--rate', 1, MAX_RATE), DEFAULT_RATE)
    .option('--timeout <seconds>', 'how long to listen after the last frame', numberArg('--timeout', 0.1, 600), 2)
    .addHelpText(
      'after',
      [
        '',
        'A netbeacon agent that hears a probe on a VLAN it has no interface for answers tagged on that VLAN, raw; a MAAS',
        'rack answers untagged (listed as "reply_tag_differs"). Needs the native addon (raw sending) and CAP_NET_RAW.',
        'Expect file:',
        '  peers:',
        '    "52:54:00:0a:00:02": [10, 20, "30-40"]',
        'Exit codes: 0 some peer answered (with --expect: the answers match the file), 1 otherwise, 2 usage error.',
        '',
        'Example:',
        '  sudo netbeacon vlans -i eth0 --vids 1-100 --expect vlans.yaml',
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (opts: VlansOptions) => {
    if (/[*?[]/.test(opts.interface)) throw new UsageError('E_USAGE', '--interface takes one interface name, not a glob');
    const expect = opts.expect === undefined ? undefined : readVlanExpectFile(opts.expect);
    if (expect?.interface !== undefined && expect.interface !== opts.interface) {
      throw new UsageError('E_VLAN_EXPECT', `${expect.file}: interface: the file is for ${expect.interface}, but --interface is ${opts.interface}`);
    }
    const [iface] = await resolveInterfaces([opts.interface]);
    const s = await ProbeSession.open({ interfaces: [iface!], secretFile: opts.secretFile, engine: opts.engine, raw: true });
    let report;
    try {
      process.stderr.write(`netbeacon: probing ${opts.vids.length} VID(s) on ${iface!.name} at up to ${opts.rate} frames/s\n`);
      report = await runVlans(s, iface!, { vids: opts.vids, outerVid: opts.outerVid, rate: opts.rate, waitMs: opts.timeout * 1000 });
    } finally {
      await s.close();
    }
    const cmp: VlanComparison | undefined = expect && compareVlans(report, expect);
    await writeOut(opts.json ? JSON.stringify(cmp ? { ...report, expect: cmp } : report, null, 2) + '\n' : renderVlans(report, cmp));
    process.exitCode = cmp ? (cmp.ok ? 0 : 1) : report.peers.length > 0 ? 0 : 1;
  });
}
