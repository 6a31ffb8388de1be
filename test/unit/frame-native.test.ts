/**
 * The capture worker's C++ frame parser (native/frame.cc) against
 * src/protocol/frame.ts on the corpus, crafted frames and random
 * mutations, with and without a stripped tag: same accept/reject, same
 * fields.
 */
import t from 'tap';
import { loadBinding } from '../../src/engine/binding';
import { formatIpv4, formatIpv6, parseFrame } from '../../src/protocol/frame';
import type { FrameInfo } from '../../src/protocol/frame-types';
import { corpusCases } from '../helpers/corpus';
import { beaconFrame4, beaconFrame6, ethernet, ipv4, udp, GROUP4_MAC } from '../helpers/frames';

interface NativeFields {
  sourceMac: string;
  destinationMac: string;
  vid?: number;
  outerVid?: number;
  family: number;
  sourceIp: Uint8Array;
  destinationIp: Uint8Array;
  sourcePort: number;
  destinationPort: number;
  payloadOffset: number;
  payloadLength: number;
}

const state = loadBinding();
if (!state.ok) {
  t.skip(`native addon not available: ${state.detail}`, () => {});
} else {
  const native = state.binding.parseFrameNative as (f: Uint8Array, tci?: number) => NativeFields | null;
  const asInfo = (n: NativeFields | null): FrameInfo | null => {
    if (!n) return null;
    const ip = n.family === 4 ? formatIpv4 : formatIpv6;
    const info: { -readonly [K in keyof FrameInfo]: FrameInfo[K] } = {
      sourceMac: n.sourceMac,
      destinationMac: n.destinationMac,
      sourceIp: ip(n.sourceIp, 0),
      destinationIp: ip(n.destinationIp, 0),
      sourcePort: n.sourcePort,
      destinationPort: n.destinationPort,
      payloadOffset: n.payloadOffset,
      payloadLength: n.payloadLength,
    };
    if (n.vid !== undefined) info.vid = n.vid;
    if (n.outerVid !== undefined) info.outerVid = n.outerVid;
    return info;
  };

  const src = { mac: '52:54:00:0a:00:01', ip: '10.0.0.1' };
  const body = Buffer.from('020100000000', 'hex');
  const frames: Buffer[] = [
    ...corpusCases().map((c) => Buffer.from(c.frame_hex, 'hex')),
    beaconFrame4(src, body, [
      { tpid: 0x88a8, tci: 100 },
      { tpid: 0x8100, tci: 0xa02a },
    ]),
    beaconFrame6({ mac: src.mac, ip: 'fe80::1' }, body, [{ tpid: 0x9100, tci: 7 }]),
    ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5240, body), { frag: 0x2000 })),
    ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5240, body), { options: Buffer.alloc(40, 1) })),
  ];

  t.test('same result as parseFrame on every frame', async (t) => {
    for (const f of frames) {
      for (const tci of [undefined, 0xa02a]) t.same(asInfo(native(f, tci)), parseFrame(f, tci), `${f.subarray(12, 20).toString('hex')} tci=${tci}`);
    }
  });

  t.test('same result on random mutations and truncations', async (t) => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let agreed = 0;
    let beacons = 0;
    for (let i = 0; i < 20000; i++) {
      const base = frames[rand(frames.length)]!;
      const f = Buffer.from(base.subarray(0, rand(5) === 0 ? rand(base.length + 1) : base.length));
      for (let m = rand(4); m > 0 && f.length; m--) f[rand(Math.min(f.length, 90))] = rand(256);
      const tci = rand(4) === 0 ? rand(65536) : undefined;
      const a = asInfo(native(f, tci));
      const b = parseFrame(f, tci);
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        t.fail(`disagree on ${f.toString('hex')} tci=${tci}: native ${JSON.stringify(a)} js ${JSON.stringify(b)}`);
        break;
      }
      agreed++;
      if (b) beacons++;
    }
    t.ok(beacons > 1000, `${agreed} agreed, ${beacons} of them beacons`);
  });

  t.test('argument checks', async (t) => {
    t.throws(() => native('x' as unknown as Uint8Array), TypeError);
    t.equal(native(new Uint8Array(0)), null);
  });
}
