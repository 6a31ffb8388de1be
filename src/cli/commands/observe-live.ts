/**
 * `netbeacon observe IFACE…`: live capture, printing the same JSON lines as
 * file mode plus `interface`. Runs until SIGINT/SIGTERM, until stdout is
 * closed, or until every interface is gone. Engine: native (AF_PACKET
 * rings) when it can run, else tcpdump, else plain UDP sockets (see
 * src/capture/live-udp.ts for what that engine cannot see).
 */
import { chooseEngine, engineRequest } from '../../engine/select';
import { formatStats, newStats } from '../../engine/pipeline';
import { createVerifier } from '../../engine/verifier';
import { NetbeaconError } from '../../errors';
import { observedBeacon, observedLine } from '../../protocol/observe';
import type { InterfaceGone, LiveRecord } from '../../capture/live';
import { openLiveCapture } from '../../capture/live-open';
import { loadKey } from '../../secret/load-key';
import { sodiumReady } from '../../protocol/sodium';
import { withV3 } from '../../protocol/v3';
import { stdoutClosed, writeOut } from '../output';

export interface LiveObserveOptions {
  secretFile?: string;
  engine?: string;
  stats?: boolean;
}

export async function observeLive(interfaces: readonly string[], opts: LiveObserveOptions): Promise<void> {
  const choice = chooseEngine(engineRequest(opts.engine), { capture: true });
  // Live, v3 is always recognised: libsodium's start-up is paid once.
  await sodiumReady();
  const key = withV3(loadKey(opts.secretFile).key);
  const capture = openLiveCapture({ engine: choice.engine, key, verifier: createVerifier('js', key) });
  const stats = newStats();
  const live = new Set<string>();
  let output = Promise.resolve();
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  capture.on('beacons', (records: LiveRecord[]) => {
    let text = '';
    for (const r of records) {
      if (r.verdict.ok) {
        stats.valid++;
        text += observedLine(observedBeacon(r.frame, r.time, r.verdict, r.interface)) + '\n';
      } else {
        stats.rejected[r.verdict.reason]++;
      }
    }
    // Lines in arrival order, with stdout's backpressure.
    output = output
      .then(() => writeOut(text))
      .then(() => {
        if (stdoutClosed()) finish();
      });
  });
  capture.on('interface-gone', (g: InterfaceGone) => {
    process.stderr.write(`netbeacon: ${g.message}\n`);
    live.delete(g.interface);
    if (live.size === 0) finish();
  });
  capture.on('error', (err: Error) => process.stderr.write(`netbeacon: warning: ${err.message}\n`));

  const onSignal = (): void => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let totals = { packets: 0, skipped: 0 };
  try {
    for (const ifname of interfaces) {
      try {
        await capture.add(ifname);
      } catch (err) {
        throw new NetbeaconError(
          'E_CAPTURE_LIVE',
          `cannot capture on ${ifname} (${capture.engine} engine): ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      live.add(ifname);
    }
    process.stderr.write(`netbeacon: capturing on ${interfaces.join(', ')} with the ${capture.engine} engine (${choice.why})\n`);
    await finished;
    for (const s of Object.values(capture.stats())) {
      totals = { packets: totals.packets + s.packets, skipped: totals.skipped + s.skipped };
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await capture.close();
    await output;
    stats.packets = totals.packets;
    stats.notBeacon = totals.skipped;
    if (opts.stats) process.stderr.write(`netbeacon: ${formatStats(stats)}\n`);
  }
}
