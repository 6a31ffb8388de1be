import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { buildTopology } from '../../topology/fabrics';
import { request } from '../../agent/control';
import type { TopologyHint } from '../../topology/hints';
import { UsageError } from '../../errors';
import { detectDrift, driftExitCode } from '../../policy/drift';
import { parseExpected } from '../../policy/expected';
import { renderDrift } from '../../policy/render';
import { replayJournalFile } from '../journal-file';
import { writeOut } from '../output';

interface CheckOptions {
  expected: string;
  journal?: string;
  socket?: string;
  json?: boolean;
  joinRoutable?: boolean;
}

/**
 * The text of a file the user named, or a usage error (exit 2) saying why
 * not: a missing expected or known file is a bad invocation, not a fault in
 * the data.
 */
export async function readUserFile(path: string, what: string, code: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'does not exist' : e.code === 'EISDIR' ? 'is a directory' : `cannot be read (${e.code})`;
    throw new UsageError(code, `${what} ${path} ${why}`);
  }
}

export function register(program: Command): void {
  program
    .command('check')
    .description('compare what beacons show with a declared topology; exit 1 on drift, each finding with the hints that prove it')
    .requiredOption('--expected <file>', 'the declared topology (YAML; format: test/fixtures/policy/expected.yaml)')
    .option('--journal <file>', 'derive the fabric view by replaying this journal; - reads stdin')
    .option('--socket <path>', "derive the fabric view from the running agent's hints, asked over its control socket")
    .option('--json', 'print the report as JSON: {"ok", "drift": [{kind, ..., evidence, message, hints, paths}], "undeclared"}')
    .option('--join-routable', 'also join segments that reach one remote interface by unicast (routable_to), as `topology` can')
    .addHelpText(
      'after',
      [
        '',
        'Drift kinds: wrong_fabric, fabrics_merged, fabric_split, interface_missing, vid_missing, vid_unexpected, loop, not_alone.',
        'Findings marked evidence=absence rest on something not seen: a quiet segment looks the same as a broken one.',
        'Exit codes: 0 no drift, 1 drift, 2 usage error or a bad expected file, 3 journal unreadable or a bad line',
        '(the report for the lines before it is still printed).',
        '',
        'Example:',
        '  netbeacon check --expected /etc/netbeacon/expected.yaml --journal /var/lib/netbeacon/journal.jsonl',
        '  sudo netbeacon check --expected /etc/netbeacon/expected.yaml --socket /run/netbeacon/netbeacon.sock',
      ].join('\n'),
    )
    .action(async (opts: CheckOptions) => {
      if ((opts.journal === undefined) === (opts.socket === undefined))
        throw new UsageError('E_USAGE', 'give --journal FILE (or - for stdin) or --socket PATH, one of them');
      const expected = parseExpected(await readUserFile(opts.expected, 'expected file', 'E_EXPECTED_IO'), opts.expected);
      // The agent's hints, not its topology: the view is built here, so --join-routable applies to both sources.
      let hints: Iterable<TopologyHint>;
      let error: Error | undefined;
      if (opts.socket !== undefined) {
        hints = (await request(opts.socket, 'hints')) as TopologyHint[];
      } else {
        const r = await replayJournalFile(opts.journal!);
        hints = r.replay.hints();
        error = r.error;
      }
      const report = detectDrift(expected, buildTopology(hints, { joinOnRoutable: opts.joinRoutable === true }));
      await writeOut(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderDrift(report));
      if (error) throw error;
      process.exitCode = driftExitCode(report);
    });
}
