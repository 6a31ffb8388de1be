import type { Command } from 'commander';
import { renderTopology } from '../../topology/render';
import { buildTopology } from '../../topology/fabrics';
import { DEFAULT_SOCKET, request } from '../../agent/control';
import type { Topology } from '../../topology/fabrics';
import { replayJournalFile } from '../journal-file';
import { writeOut } from '../output';

interface TopologyOptions {
  journal?: string;
  socket: string;
  json?: boolean;
  joinRoutable?: boolean;
}

export function register(program: Command): void {
  program
    .command('topology')
    .description('group interfaces and VLANs into fabrics from beacon hints, and say why each landed where it did')
    .option('--journal <file>', 'derive the hints by replaying this journal (see `netbeacon replay --help`); - reads stdin')
    .option('--socket <path>', 'ask the running agent on this control socket (the default source)', DEFAULT_SOCKET)
    .option('--json', 'print the fabrics as JSON: {"fabrics": [{name, segments, links, peers, loops}]}')
    .option('--join-routable', 'also join segments that reach one remote interface by unicast (routable_to); off because unicast may be routed')
    .addHelpText(
      'after',
      [
        '',
        'Segments (interface, VID) join when one multicast beacon reached both (same_local_fabric_as, rx_own_beacon_on_other_interface)',
        'or when both heard multicast from the same remote interface (on_remote_network, same MAC and VID). A beacon of ours heard back',
        'on the interface that sent it is listed as a loop and joins nothing.',
        'Exit codes: 0 done, 2 usage error, 3 journal unreadable or a bad line (what was read before it is still printed).',
      ].join('\n'),
    )
    .action(async (opts: TopologyOptions) => {
      if (opts.journal === undefined) {
        const topology = (await request(opts.socket, 'topology')) as Topology;
        await writeOut(opts.json ? `${JSON.stringify(topology, null, 2)}\n` : renderTopology(topology));
        return;
      }
      const { replay, error } = await replayJournalFile(opts.journal);
      const topology = buildTopology(replay.hints(), { joinOnRoutable: opts.joinRoutable === true });
      await writeOut(opts.json ? `${JSON.stringify(topology, null, 2)}\n` : renderTopology(topology));
      if (error) throw error;
    });
}
