import type { Command } from 'commander';
import { formatHintsJson } from '../../topology/hints';
import { replayJournalFile } from '../journal-file';
import { writeOut } from '../output';

interface ReplayOptions {
  table?: boolean;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('replay a journal of sent and received beacons through the correlator and print the topology hints a MAAS rack would report')
    .argument('<journal>', 'journal file, one JSON object a line; - reads stdin')
    .option('--table', 'print a readable table of the hints, then the replays and drops by line, instead of the JSON array')
    .addHelpText(
      'after',
      [
        '',
        'Journal lines: {"direction": "tx", "interface", "time", "destination_ip", "destination_port", "version", "type", "payload"}',
        'for each beacon sent; for each beacon received, the object `netbeacon observe` prints plus "interface" and "direction": "rx".',
        "Each line's `time` (seconds) is the clock. Replays (a ULID received again on the same interface and VID) are counted, never correlated twice.",
        'Exit codes: 0 done, 2 usage error, 3 journal unreadable or a bad line (the hints from the lines before it are still printed).',
        '',
        'Example:',
        '  netbeacon replay journal.jsonl > hints.json',
        '  netbeacon replay --table journal.jsonl',
      ].join('\n'),
    )
    .action(async (journal: string, opts: ReplayOptions) => {
      const { source, replay, error } = await replayJournalFile(journal);
      const hints = replay.hints();
      if (!opts.table) await writeOut(formatHintsJson(hints));
      else {
        // The table's code is loaded only for --table.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { renderHintsTable, renderReplaySummary } = require('../../topology/render') as typeof import('../../topology/render');
        await writeOut(`${renderHintsTable(hints)}\n${renderReplaySummary(source, replay.summary())}`);
      }
      if (error) throw error;
    });
}
