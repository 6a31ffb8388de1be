/**
 * JS live engine 1: one tcpdump per interface, run with MAAS's own options
 * (`tcpdump -i IF -w - -U --direction=in -p --immediate-mode -s 16384
 * FILTER`), its pcap stream parsed by CaptureParser and verified in JS.
 *
 * libpcap on Linux puts a tag the kernel stripped back into the frame it
 * writes (from the ring's tp_vlan_tci), so the stream carries in-band tags
 * and parseFrame sees VIDs with no strippedTci (tested in
 * test/integration/live-capture.test.ts). Ring drops are not known until
 * tcpdump exits, so `drops` stays 0.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { BatchVerifier } from '../engine/types';
import { CaptureParser } from './pcap';
import { countVerdicts, emptyStats, type LiveCapture, type RingStats } from './live';
import { framesToDatagrams, verifyDatagrams, type Datagram } from './live-js';

/** MAAS's capture filter (src/provisioningserver/utils/beaconing.py). */
export const MAAS_FILTER = 'udp dst port 5240 or (vlan and udp dst port 5240)';

/**
 * What a tcpdump that stopped on its own died of, from all it said on stderr
 * and whether the interface still exists. Deleting an interface can reach
 * libpcap as ENETDOWN ("The interface went down") before the device is
 * unregistered, so the interface's absence decides ENODEV too.
 */
export function tcpdumpExitCode(stderr: string, interfaceExists: boolean): 'ENODEV' | 'ENETDOWN' | 'EPIPE' {
  if (/disappeared|No such device/i.test(stderr) || !interfaceExists) return 'ENODEV';
  if (/went down|Network is down/i.test(stderr)) return 'ENETDOWN';
  return 'EPIPE';
}

export interface TcpdumpOptions {
  /** The tcpdump binary (default: `tcpdump` from PATH). */
  readonly tcpdump?: string;
  /** How long to wait for "listening on" before add() fails (default 30 s). */
  readonly startTimeoutMs?: number;
}

interface Tap {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly parser: CaptureParser;
  readonly stats: RingStats;
  stopping: boolean;
}

export class TcpdumpLiveCapture extends EventEmitter implements LiveCapture {
  readonly engine = 'tcpdump' as const;
  private readonly taps = new Map<string, Tap>();
  private closed = false;

  constructor(
    private readonly verifier: BatchVerifier,
    private readonly options: TcpdumpOptions = {},
  ) {
    super();
  }

  add(ifname: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('capture is closed'));
    if (this.taps.has(ifname)) return Promise.reject(new Error(`${ifname}: already capturing`));
    const args = ['-i', ifname, '-w', '-', '-U', '--direction=in', '-p', '--immediate-mode', '-s', '16384', MAAS_FILTER];
    const child = spawn(this.options.tcpdump ?? 'tcpdump', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tap: Tap = { child, parser: new CaptureParser(), stats: emptyStats(), stopping: false };
    this.taps.set(ifname, tap);
    child.stdout.on('data', (chunk: Buffer) => this.onData(ifname, tap, chunk));
    return new Promise<void>((resolve, reject) => {
      let stderr = '';
      let started = false;
      const timer = setTimeout(
        () => fail(new Error(`tcpdump on ${ifname} did not start within ${this.options.startTimeoutMs ?? 30_000} ms`)),
        this.options.startTimeoutMs ?? 30_000,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        if (!started) {
          started = true;
          this.taps.delete(ifname);
          child.kill('SIGKILL');
          reject(err);
        }
      };
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr = (stderr + d).slice(-4096);
        // tcpdump says so once the filter is set and the capture is live.
        if (!started && /listening on /.test(stderr)) {
          started = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('error', (err) => fail(new Error(`cannot run tcpdump for ${ifname}: ${err.message}`)));
      child.on('close', (code, signal) => {
        const why =
          stderr
            .trim()
            .split('\n')
            .filter((l) => !/listening on|packets (captured|received|dropped)/.test(l))
            .pop() ?? '';
        if (!started) return fail(new Error(`tcpdump on ${ifname} exited ${code ?? signal}: ${why}`));
        if (tap.stopping || this.closed) return;
        this.taps.delete(ifname);
        this.emit('interface-gone', {
          interface: ifname,
          code: tcpdumpExitCode(stderr, existsSync(`/sys/class/net/${ifname}`)),
          message: `tcpdump on ${ifname} exited ${code ?? signal}: ${why}`,
        });
      });
    });
  }

  remove(ifname: string): void {
    const tap = this.taps.get(ifname);
    if (!tap) return;
    tap.stopping = true;
    this.taps.delete(ifname);
    tap.child.kill('SIGTERM');
  }

  stats(): Record<string, RingStats> {
    const out: Record<string, RingStats> = {};
    for (const [name, tap] of this.taps) out[name] = { ...tap.stats };
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const waits = [...this.taps.values()].map(
      (tap) =>
        new Promise<void>((resolve) => {
          tap.stopping = true;
          if (tap.child.exitCode !== null || tap.child.signalCode !== null) return resolve();
          tap.child.once('close', () => resolve());
          tap.child.kill('SIGTERM');
        }),
    );
    this.taps.clear();
    await Promise.all(waits);
  }

  private onData(ifname: string, tap: Tap, chunk: Buffer): void {
    if (tap.stopping || this.closed) return;
    let packets;
    try {
      packets = tap.parser.push(chunk);
    } catch (err) {
      tap.stopping = true;
      this.taps.delete(ifname);
      tap.child.kill('SIGTERM');
      this.emit('error', new Error(`tcpdump on ${ifname} wrote a bad capture stream: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    if (packets.length === 0) return;
    tap.stats.packets += packets.length;
    const items: Datagram[] = [];
    tap.stats.skipped += framesToDatagrams(packets, items);
    const records = verifyDatagrams(ifname, items, this.verifier);
    if (records.length === 0) return;
    countVerdicts(tap.stats, records);
    this.emit('beacons', records);
  }
}
