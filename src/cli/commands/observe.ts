import type { Command } from 'commander';
import { readCapture } from '../../capture/file';
import { chooseEngine, engineRequest } from '../../engine/select';
import { createLineEncoder } from '../../engine/line-encoder';
import { formatStats, newStats, type ObserveStats } from '../../engine/pipeline';
import { UsageError } from '../../errors';
import { addEngineOption, addSecretOption } from '../options';
import { loadKey } from '../../secret/load-key';
import { sodiumReady } from '../../protocol/sodium';
import { beaconVersionOf } from '../../protocol/sniff';
import { V3_VERSION, withV3 } from '../../protocol/v3';
import { stdoutClosed, writeOutAndWait } from '../output';
import { observeLive } from './observe-live';

interface ObserveOptions {
  inputFile?: string;
  secretFile?: string;
  engine?: string;
  stats?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('observe')
    .description("print every valid beacon as one JSON line, as MAAS's `maas-rack observe-beacons` does")
    .argument('[interfaces...]', 'capture live on these interfaces')
    .option('--input-file <file>', 'read a pcap or pcapng capture instead; - reads stdin (tcpdump -w - … | netbeacon observe --input-file -)')
    .option('--stats', 'print packets read, valid beacons and rejections by reason to stderr at the end')
    .addHelpText(
      'after',
      [
        '',
        "Each token is judged at its packet's capture time, so a capture can be analysed days later.",
        'Exit codes: 0 done, 2 usage or secret error, 3 capture file damaged (whole packets before the fault are still printed).',
        '',
        'Examples:',
        '  netbeacon observe eth0 eth1 --engine native     # live, until Ctrl-C',
        '  netbeacon observe --input-file beacons.pcap --secret-file /var/lib/maas/secret --stats',
        "  tcpdump -i eth0 -w - -U 'udp dst port 5240 or (vlan and udp dst port 5240)' | netbeacon observe --input-file -",
      ].join('\n'),
    );
  addEngineOption(addSecretOption(cmd)).action(async (interfaces: string[], opts: ObserveOptions) => {
    if (opts.inputFile === undefined) {
      if (interfaces.length) return observeLive(interfaces, opts); // live mode: observe-live.ts
      throw new UsageError('E_USAGE', 'give interfaces to capture on, or --input-file FILE (or - for stdin)');
    }
    if (interfaces.length) throw new UsageError('E_USAGE', 'give either interfaces (live) or --input-file, not both');
    await observeFile(opts.inputFile, opts);
  });
}

async function observeFile(path: string, opts: ObserveOptions): Promise<void> {
  const choice = chooseEngine(engineRequest(opts.engine), { capture: false });
  const { key } = loadKey(opts.secretFile);
  let encoder = createLineEncoder(choice.engine, key);
  let v3 = false;
  const stats = newStats();
  try {
    // Each batch is encoded (its frames copied) before the next is read: views will do.
    for await (const packets of readCapture(path, { transient: true })) {
      // v3 is recognised by its version byte; libsodium (~0.1 s of CPU to
      // start) is loaded only for a capture that holds a v3 beacon.
      if (!v3 && packets.some((p) => beaconVersionOf(p.data) === V3_VERSION)) {
        await sodiumReady();
        v3 = true;
        encoder = createLineEncoder(choice.engine, withV3(key));
      }
      // The encoder reuses its buffer: the write must be done before the next batch.
      await writeOutAndWait(encoder.encode(packets, stats));
      if (stdoutClosed()) break;
    }
  } finally {
    // Counters are printed even when the capture is cut off: nothing read is lost.
    if (opts.stats) printStats(stats);
  }
}

function printStats(stats: ObserveStats): void {
  process.stderr.write(`netbeacon: ${formatStats(stats)}\n`);
}
