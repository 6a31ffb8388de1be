/**
 * Opens the live capture for an engine choice (engine/select.ts decides
 * native or JS; this decides which JS engine): native → AF_PACKET rings;
 * js → tcpdump when it can be found, else plain UDP sockets.
 */
import { spawnSync } from 'node:child_process';
import type { BatchVerifier, EngineName } from '../engine/types';
import type { FernetKey } from '../protocol/key';
import type { Keyring } from '../protocol/keyring';
import type { LiveCapture } from './live';
import { NativeLiveCapture, type NativeCaptureOptions } from './live-native';
import { TcpdumpLiveCapture } from './live-tcpdump';
import { UdpLiveCapture } from './live-udp';

export interface OpenLiveOptions {
  readonly engine: EngineName;
  readonly key: FernetKey;
  /** The native engine verifies with these instead of `key` when given (a secret rotation). */
  readonly keyring?: Keyring;
  /** The JS engines' verifier (the native engine verifies on its worker thread). */
  readonly verifier: BatchVerifier;
  readonly native?: NativeCaptureOptions;
  /** Force a JS engine instead of tcpdump-if-available. */
  readonly jsEngine?: 'tcpdump' | 'udp';
}

export function tcpdumpAvailable(bin = 'tcpdump'): boolean {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

export function openLiveCapture(opts: OpenLiveOptions): LiveCapture {
  if (opts.engine === 'native') return new NativeLiveCapture(opts.keyring ?? opts.key, opts.native);
  const js = opts.jsEngine ?? (tcpdumpAvailable() ? 'tcpdump' : 'udp');
  return js === 'tcpdump' ? new TcpdumpLiveCapture(opts.verifier) : new UdpLiveCapture(opts.verifier);
}
