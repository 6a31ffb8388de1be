import type { Command } from 'commander';
import { buildTopology } from '../../topology/fabrics';
import { UsageError } from '../../errors';
import { parseExpected } from '../../policy/expected';
import { knownFromExpected, parseKnownJson, placeInterfaces, type KnownPlacement } from '../../policy/place';
import { renderPlacement } from '../../policy/render';
import { replayJournalFile } from '../journal-file';
import { writeOut } from '../output';
import { readUserFile } from './check';

interface PlaceOptions {
  known?: string;
  expected?: string;
  journal?: string;
  json?: boolean;
  joinRoutable?: boolean;
}

export function register(program: Command): void {
  program
    .command('place')
    .description('infer the fabric and VLAN of interfaces nobody declared from the ones somebody did, with the hints behind each')
    .option('--known <file>', 'known interfaces as JSON: {"eth0": {"fabric": "mgmt", "vid": 0}, ...} (vid: the VLAN of its untagged traffic; optional)')
    .option('--expected <file>', 'take the known interfaces from a declared topology (YAML) instead')
    .option('--journal <file>', 'derive the fabric view by replaying this journal; - reads stdin')
    .option('--json', 'print {"placements": [{ifname, fabric, vid?, rule, evidence}], "conflicts": [...], "unplaced": [...]}')
    .option('--join-routable', 'also join segments that reach one remote interface by unicast (routable_to), as `topology` can')
    .addHelpText(
      'after',
      [
        '',
        "MAAS's rule places an unknown interface on the VLAN of a known one it has an untagged hint to; here any chain of",
        'joins in the fabric view does (rule "fabric"), placements MAAS would also make say rule "maas", and two different',
        'known answers are reported as a conflict instead of a guess.',
        'Exit codes: 0 done (conflicts included), 2 usage error or a bad known/expected file, 3 journal unreadable or a bad line.',
        '',
        'Example:',
        '  netbeacon place --known known.json --journal journal.jsonl --json',
      ].join('\n'),
    )
    .action(async (opts: PlaceOptions) => {
      if ((opts.known === undefined) === (opts.expected === undefined))
        throw new UsageError('E_USAGE', 'give exactly one of --known FILE.json and --expected FILE.yaml');
      if (opts.journal === undefined) throw new UsageError('E_USAGE', 'give --journal FILE (or - for stdin)');
      let known: Map<string, KnownPlacement>;
      if (opts.known !== undefined) known = parseKnownJson(await readUserFile(opts.known, 'known file', 'E_KNOWN_IO'), opts.known);
      else known = knownFromExpected(parseExpected(await readUserFile(opts.expected!, 'expected file', 'E_EXPECTED_IO'), opts.expected!));
      const { replay, error } = await replayJournalFile(opts.journal);
      const result = placeInterfaces(buildTopology(replay.hints(), { joinOnRoutable: opts.joinRoutable === true }), known);
      await writeOut(opts.json ? `${JSON.stringify(result, null, 2)}\n` : renderPlacement(result));
      if (error) throw error;
    });
}
