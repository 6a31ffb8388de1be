/**
 * The agent's per-beacon bookkeeping (src/agent/daemon.ts #onBeacons):
 * peers heard (found again without rebuilding their key), and the
 * received counters, in the order beacons arrived.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { Agent, type AgentEvent } from '../../src/agent/daemon';
import type { LiveRecord } from '../../src/capture/live';
import { keyObjects } from '../../src/protocol/fernet';
import type { FrameInfo } from '../../src/protocol/frame-types';
import { ulidAt } from '../helpers/agent';

class FakeCapture extends EventEmitter {
  readonly engine = 'native' as const;
  add(): Promise<void> {
    return Promise.resolve();
  }
  remove(): void {}
  stats(): Record<string, never> {
    return {};
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

let n = 0;
function record(iface: string, peer: { name: string; mac: string }, vid?: number): LiveRecord {
  const frame = {
    sourceMac: '02:00:00:00:00:02',
    destinationMac: '01:00:5e:00:00:76',
    sourceIp: '10.9.0.2',
    destinationIp: '224.0.0.118',
    sourcePort: 5240,
    destinationPort: 5240,
    payloadOffset: 42,
    payloadLength: 100,
    ...(vid !== undefined && { vid }),
  } as FrameInfo;
  const payload = { ulid: ulidAt(Date.now(), ++n), type: 'advertisement', remote: { name: peer.name, mac_address: peer.mac } };
  return { interface: iface, time: Date.now() / 1000, frame, verdict: { ok: true, version: 2, type: 'advertisement', payload } };
}

function rejected(iface: string): LiveRecord {
  const r = record(iface, { name: 'x', mac: 'x' });
  return { ...r, verdict: { ok: false, reason: 'short' } };
}

t.test('peers are seen once each, in order, also when they alternate; counters keep arrival order', async (t) => {
  const capture = new FakeCapture();
  const agent = new Agent({
    keys: keyObjects({ signing: new Uint8Array(16).fill(1), encryption: new Uint8Array(16).fill(2) }),
    capture: capture,
    engine: 'native',
    engineWhy: 'test',
    selection: { include: ['no-such-interface-here'], exclude: [] },
    port: 0,
  });
  const seen: AgentEvent[] = [];
  agent.on('event', (e: AgentEvent) => {
    if (e.event === 'peer_seen') seen.push(e);
  });
  await agent.start();
  t.teardown(() => agent.stop());
  const a = { name: 'a', mac: '02:00:00:00:00:0a' };
  const b = { name: 'b', mac: '02:00:00:00:00:0b' };
  capture.emit('beacons', [record('eth0', a), record('eth0', a), record('eth0', b), record('eth0', a)]);
  capture.emit('beacons', [record('eth0', a, 7), record('eth1', a), rejected('eth1'), record('eth1', a), record('eth0', b)]);
  // Same MAC, other name: another peer.
  capture.emit('beacons', [record('eth0', { name: 'a2', mac: a.mac })]);
  t.same(
    seen.map((e) => (e.event === 'peer_seen' ? [e.interface, e.vid, e.name] : [])),
    [
      ['eth0', undefined, 'a'],
      ['eth0', undefined, 'b'],
      ['eth0', 7, 'a'],
      ['eth1', undefined, 'a'],
      ['eth0', undefined, 'a2'],
    ],
  );
  t.same(
    agent.peers().map((p) => [p.interface, p.vid, p.name]),
    [
      ['eth0', undefined, 'a'],
      ['eth0', undefined, 'b'],
      ['eth0', 7, 'a'],
      ['eth1', undefined, 'a'],
      ['eth0', undefined, 'a2'],
    ],
  );
  t.same(agent.counters.received, { eth0: { valid: 7 }, eth1: { valid: 2, short: 1 } });
  t.same(Object.keys(agent.counters.received.eth1!), ['valid', 'short'], 'the valid beacon before the rejected one is counted first');
});
