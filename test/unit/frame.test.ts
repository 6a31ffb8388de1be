import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BEACON_PORT, formatIpv4, formatIpv6, formatMac, parseFrame } from '../../src/protocol/frame';
import type { FrameInfo } from '../../src/protocol/frame-types';

const VECTORS = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas');

interface CorpusCase {
  label: string;
  time: number;
  frame_hex: string;
  udp_payload_hex?: string;
  beacon?: unknown;
  not_udp?: unknown;
}

interface Observed {
  source_mac: string;
  destination_mac: string;
  source_ip: string;
  destination_ip: string;
  source_port: number;
  destination_port: number;
  vid?: number;
}

const jsonl = <T>(name: string): T[] =>
  readFileSync(resolve(VECTORS, name), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as T);

const cases = jsonl<CorpusCase>('corpus.cases.jsonl');
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const payloadOf = (frame: Uint8Array, f: FrameInfo): Uint8Array => frame.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength);

// ---------------------------------------------------------------------------
// Frame builders

const MAC_DST = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x76];
const MAC_SRC = [0x52, 0x54, 0x00, 0x0a, 0x00, 0x01];

function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

interface UdpSpec {
  payload?: number[];
  srcPort?: number;
  dstPort?: number;
  /** Overrides the UDP length field. */
  length?: number;
}

function udp(spec: UdpSpec = {}): number[] {
  const payload = spec.payload ?? [2, 1, 0, 0];
  return [...be16(spec.srcPort ?? 5240), ...be16(spec.dstPort ?? BEACON_PORT), ...be16(spec.length ?? 8 + payload.length), 0, 0, ...payload];
}

interface Ipv4Spec {
  /** Header option bytes (a multiple of 4). */
  options?: number[];
  /** Overrides the IHL nibble. */
  ihl?: number;
  version?: number;
  /** Overrides the total length field. */
  totalLength?: number;
  /** Flags and fragment offset (16 bits). */
  fragment?: number;
  protocol?: number;
}

function ipv4(l4: number[], spec: Ipv4Spec = {}): number[] {
  const options = spec.options ?? [];
  const ihl = spec.ihl ?? 5 + options.length / 4;
  const total = spec.totalLength ?? 20 + options.length + l4.length;
  return [
    ((spec.version ?? 4) << 4) | ihl,
    0,
    ...be16(total),
    0x12,
    0x34,
    ...be16(spec.fragment ?? 0x4000),
    1,
    spec.protocol ?? 17,
    0,
    0,
    10,
    0,
    0,
    1,
    224,
    0,
    0,
    118,
    ...options,
    ...l4,
  ];
}

interface Ipv6Spec {
  nextHeader?: number;
  payloadLength?: number;
  version?: number;
}

const FE80_1 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0x0a, 0, 1];
const FF02_15A = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x5a];

function ipv6(l4: number[], spec: Ipv6Spec = {}): number[] {
  return [(spec.version ?? 6) << 4, 0, 0, 0, ...be16(spec.payloadLength ?? l4.length), spec.nextHeader ?? 17, 1, ...FE80_1, ...FF02_15A, ...l4];
}

/** Ethernet II; `tags` are [TPID, TCI] pairs from the outside in. */
function ether(ethertype: number, l3: number[], tags: Array<[number, number]> = [], trailer: number[] = []): Uint8Array {
  const tagBytes = tags.flatMap(([tpid, tci]) => [...be16(tpid), ...be16(tci)]);
  return Uint8Array.from([...MAC_DST, ...MAC_SRC, ...tagBytes, ...be16(ethertype), ...l3, ...trailer]);
}

const v4frame = (udpSpec?: UdpSpec, ipSpec?: Ipv4Spec, tags?: Array<[number, number]>, trailer?: number[]) =>
  ether(0x0800, ipv4(udp(udpSpec), ipSpec), tags, trailer);
const v6frame = (udpSpec?: UdpSpec, ipSpec?: Ipv6Spec, trailer?: number[]) => ether(0x86dd, ipv6(udp(udpSpec), ipSpec), [], trailer);

/** Every prefix either parses to exactly the full result (it holds the whole datagram) or to null. */
function checkPrefixes(t: tap.Test, frame: Uint8Array, strippedTci?: number): void {
  const full = parseFrame(frame, strippedTci);
  t.ok(full, 'the whole frame parses');
  const needed = full!.payloadOffset + full!.payloadLength;
  let wrong = 0;
  for (let length = 0; length < frame.length; length++) {
    const got = parseFrame(frame.subarray(0, length), strippedTci);
    const ok = length < needed ? got === null : JSON.stringify(got) === JSON.stringify(full);
    if (!ok) wrong++;
  }
  t.equal(wrong, 0, `all ${frame.length} prefixes: null before byte ${needed}, the full result from there`);
}

// ---------------------------------------------------------------------------

t.test('corpus frames give the UDP payloads MAAS extracted', async (t) => {
  t.equal(cases.length, 24);
  for (const c of cases) {
    const frame = hex(c.frame_hex);
    const info = parseFrame(frame);
    if (c.not_udp !== undefined) {
      t.equal(info, null, `${c.label}: not a UDP frame`);
      continue;
    }
    t.ok(info, `${c.label}: parses`);
    t.equal(toHex(payloadOf(frame, info!)), c.udp_payload_hex, `${c.label}: payload`);
    t.equal(info!.destinationPort, 5240, `${c.label}: port`);
    if (c.label === 'solicitation-vlan-tagged') {
      t.equal(info!.vid, 42, 'the priority bits (5) are masked off the VID');
      t.notOk('outerVid' in info!, 'one tag: no outer VID');
    } else {
      t.notOk('vid' in info!, `${c.label}: untagged, no vid key`);
    }
    if (c.label === 'ip-options') t.equal(info!.payloadOffset, 14 + 24 + 8, 'payload after the 24-byte IPv4 header');
  }
});

t.test('corpus fields agree with what MAAS observe-beacons printed', async (t) => {
  const observed = jsonl<Observed>('corpus.observe.jsonl');
  const beacons = cases.filter((c) => c.beacon !== undefined);
  t.equal(observed.length, beacons.length, 'one observe line per valid beacon, in order');
  beacons.forEach((c, i) => {
    const info = parseFrame(hex(c.frame_hex))!;
    const o = observed[i]!;
    t.same(
      {
        source_mac: info.sourceMac,
        destination_mac: info.destinationMac,
        source_ip: info.sourceIp,
        destination_ip: info.destinationIp,
        source_port: info.sourcePort,
        destination_port: info.destinationPort,
        vid: info.vid,
      },
      {
        source_mac: o.source_mac,
        destination_mac: o.destination_mac,
        source_ip: o.source_ip,
        destination_ip: o.destination_ip,
        source_port: o.source_port,
        destination_port: o.destination_port,
        vid: o.vid,
      },
      c.label,
    );
  });
});

t.test('every prefix of every corpus beacon frame is null or the full result', async (t) => {
  for (const c of cases.filter((c) => c.not_udp === undefined)) checkPrefixes(t, hex(c.frame_hex));
});

t.test('VLAN tags', async (t) => {
  t.test('QinQ: every outer TPID, inner VID reported as vid, outer as outerVid', async (t) => {
    for (const outer of [0x8100, 0x88a8, 0x9100]) {
      for (const inner of [0x8100, 0x88a8, 0x9100]) {
        const frame = v4frame({}, {}, [
          [outer, 0xe000 | 100], // priority 7
          [inner, 0x3000 | 4094], // priority 1, DEI set
        ]);
        const info = parseFrame(frame);
        t.match(info, { vid: 4094, outerVid: 100, payloadOffset: 14 + 8 + 20 + 8 }, `${outer.toString(16)}/${inner.toString(16)}`);
        t.same(Array.from(payloadOf(frame, info!)), [2, 1, 0, 0]);
      }
    }
  });

  t.test('one tag of each TPID', async (t) => {
    for (const tpid of [0x8100, 0x88a8, 0x9100]) {
      const info = parseFrame(v4frame({}, {}, [[tpid, 0xa02a]]));
      t.equal(info?.vid, 42);
      t.notOk(info && 'outerVid' in info);
    }
  });

  t.test('VID 0 (a priority tag) is still reported, as MAAS does', async (t) => {
    t.equal(parseFrame(v4frame({}, {}, [[0x8100, 0xa000]]))?.vid, 0);
  });

  t.test('three tags are refused', async (t) => {
    t.equal(
      parseFrame(
        v4frame({}, {}, [
          [0x88a8, 1],
          [0x8100, 2],
          [0x8100, 3],
        ]),
      ),
      null,
    );
  });

  t.test('a frame that ends inside a tag is refused', async (t) => {
    const frame = v4frame({}, {}, [[0x8100, 5]]);
    t.equal(parseFrame(frame.subarray(0, 17)), null);
    t.equal(parseFrame(frame.subarray(0, 18)), null);
  });

  t.test('a stripped tag alone becomes vid', async (t) => {
    const info = parseFrame(v4frame(), 0xa000 | 7);
    t.equal(info?.vid, 7);
    t.notOk(info && 'outerVid' in info);
    t.equal(parseFrame(v4frame(), 0)?.vid, 0, 'a stripped priority tag is VID 0');
  });

  t.test('a stripped tag with an in-band one is the outer VID', async (t) => {
    t.match(parseFrame(v4frame({}, {}, [[0x8100, 300]]), 0x2000 | 20), { vid: 300, outerVid: 20 });
  });

  t.test('a stripped tag with two in-band ones is one tag too many', async (t) => {
    t.equal(
      parseFrame(
        v4frame({}, {}, [
          [0x88a8, 1],
          [0x8100, 2],
        ]),
        5,
      ),
      null,
    );
  });

  t.test('out-of-range strippedTci values keep only the VID bits, never throw', async (t) => {
    t.equal(parseFrame(v4frame(), 0x1f00a)?.vid, 0x00a);
    t.equal(parseFrame(v4frame(), -1)?.vid, 0xfff);
    t.equal(parseFrame(v4frame(), Number.NaN)?.vid, 0);
  });

  t.test('prefixes of tagged frames', async (t) => {
    checkPrefixes(
      t,
      v4frame({}, {}, [
        [0x88a8, 9],
        [0x8100, 10],
      ]),
    );
    checkPrefixes(t, v4frame({}, {}, [[0x8100, 10]]), 3);
  });
});

t.test('IPv4', async (t) => {
  t.test('Ethernet padding after the datagram is not payload', async (t) => {
    const frame = v4frame({ payload: [2, 1, 0, 0] }, {}, [], new Array(60 - 46).fill(0xee));
    t.equal(frame.length, 60);
    const info = parseFrame(frame)!;
    t.equal(info.payloadLength, 4);
    t.same(Array.from(payloadOf(frame, info)), [2, 1, 0, 0]);
  });

  t.test('bytes inside the IP datagram after the UDP length are not payload', async (t) => {
    const l4 = [...udp({ payload: [9, 9], length: 10 }), 0xaa, 0xbb];
    const info = parseFrame(ether(0x0800, ipv4(l4)))!;
    t.equal(info.payloadLength, 2);
  });

  t.test('options move the UDP header (IHL)', async (t) => {
    const frame = v4frame({}, { options: [0x94, 0x04, 0, 0, 1, 1, 1, 0] });
    t.equal(parseFrame(frame)?.payloadOffset, 14 + 28 + 8);
    checkPrefixes(t, frame);
  });

  t.test('bad IHL', async (t) => {
    for (const ihl of [0, 1, 4]) t.equal(parseFrame(v4frame({}, { ihl })), null, `IHL ${ihl}`);
    t.equal(parseFrame(v4frame({}, { ihl: 15 })), null, 'IHL 15: header longer than the total length');
  });

  t.test('not IPv4 inside an IPv4 ethertype', async (t) => {
    t.equal(parseFrame(v4frame({}, { version: 6 })), null);
  });

  t.test('total length', async (t) => {
    t.equal(parseFrame(v4frame({}, { totalLength: 19 })), null, 'shorter than the header');
    t.equal(parseFrame(v4frame({}, { totalLength: 20 + 12 + 1 })), null, 'longer than the frame (cut by the snaplen)');
    t.equal(parseFrame(v4frame({}, { totalLength: 20 + 7 })), null, 'no room for a UDP header');
  });

  t.test('fragments', async (t) => {
    t.equal(parseFrame(v4frame({}, { fragment: 0x2000 })), null, 'first fragment (MF)');
    t.equal(parseFrame(v4frame({}, { fragment: 0x0001 })), null, 'later fragment');
    t.equal(parseFrame(v4frame({}, { fragment: 0x1fff })), null, 'last fragment');
    t.ok(parseFrame(v4frame({}, { fragment: 0x4000 })), 'DF does not matter');
    t.ok(parseFrame(v4frame({}, { fragment: 0x8000 })), 'nor does the reserved bit');
  });

  t.test('not UDP', async (t) => {
    t.equal(parseFrame(v4frame({}, { protocol: 6 })), null);
  });
});

t.test('UDP', async (t) => {
  t.equal(parseFrame(v4frame({ length: 13 })), null, 'length beyond the IP datagram');
  const padding = new Array(16).fill(0xee);
  t.equal(parseFrame(v4frame({ length: 13 }, {}, [], padding)), null, 'length beyond the IPv4 datagram, into the Ethernet padding');
  t.equal(parseFrame(v6frame({ length: 13 }, {}, padding)), null, 'length beyond the IPv6 payload, into trailing bytes');
  t.equal(parseFrame(v4frame({ length: 7 })), null, 'length below the header size');
  t.match(parseFrame(v4frame({ payload: [], length: 8 })), { payloadLength: 0 }, 'an empty datagram is still a datagram');
  t.equal(parseFrame(v4frame({ dstPort: 5241 })), null, 'wrong destination port');
  t.equal(parseFrame(v4frame({ dstPort: 0x7814, srcPort: 5240 })), null, 'port bytes in the wrong order');
  t.match(parseFrame(v4frame({ srcPort: 40123 })), { sourcePort: 40123, destinationPort: 5240 }, 'any source port');
});

t.test('IPv6', async (t) => {
  t.test('UDP right after the fixed header', async (t) => {
    const frame = v6frame();
    t.match(parseFrame(frame), {
      sourceIp: 'fe80::5054:ff:fe0a:1',
      destinationIp: 'ff02::15a',
      payloadOffset: 14 + 40 + 8,
      payloadLength: 4,
    });
    checkPrefixes(t, frame);
  });

  t.test('other next headers are refused (no extension header walking)', async (t) => {
    for (const nh of [0, 6, 43, 44, 58, 59, 60]) t.equal(parseFrame(v6frame({}, { nextHeader: nh })), null, `next header ${nh}`);
  });

  t.test('payload length', async (t) => {
    t.equal(parseFrame(v6frame({}, { payloadLength: 13 })), null, 'longer than the frame');
    t.equal(parseFrame(v6frame({}, { payloadLength: 0 })), null, 'zero (a jumbogram) leaves no UDP header');
    const padded = v6frame({}, {}, [0xee, 0xee]);
    t.equal(parseFrame(padded)?.payloadLength, 4, 'trailing bytes after the payload are ignored');
  });

  t.test('not IPv6 inside an IPv6 ethertype', async (t) => {
    t.equal(parseFrame(v6frame({}, { version: 4 })), null);
  });
});

t.test('other ethertypes and runts', async (t) => {
  t.equal(parseFrame(new Uint8Array(0)), null);
  t.equal(parseFrame(new Uint8Array(13)), null);
  t.equal(parseFrame(ether(0x0806, new Array<number>(28).fill(0))), null, 'ARP');
  t.equal(parseFrame(ether(0x0030, ipv4(udp()))), null, '802.3 length field');
});

t.test('text forms', async (t) => {
  t.test('MAC and IPv4', async (t) => {
    const b = Uint8Array.from([0xff, 0x0a, 0x00, 0xab, 0xcd, 0xef, 255, 0, 10, 1]);
    t.equal(formatMac(b, 0), 'ff:0a:00:ab:cd:ef');
    t.equal(formatIpv4(b, 6), '255.0.10.1');
  });

  // Expected strings printed by Python 3.11's str(ipaddress.IPv6Address(...)).
  const python: Array<[string, string]> = [
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:0:0:1:0:0:1:1', '1::1:0:0:1:1'], // tie: the first run
    ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0'], // three-way tie
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // the longer run, though later
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'], // single zero groups stay
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
    ['0:1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
    ['0:1:0:0:0:0:0:0', '0:1::'],
    ['fe80:0:0:0:1:0:0:0', 'fe80::1:0:0:0'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['1000:0100:0010:0001:0:0:0:0', '1000:100:10:1::'], // zeros inside groups stay
    ['abcd:ef01:2345:6789:abcd:ef01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
    ['FFFF:0:0:0:0:0:0:FFFF', 'ffff::ffff'],
    ['0:0:0:0:0:ffff:102:304', '::ffff:102:304'], // IPv4-mapped: hex, as Python before 3.13
  ];
  for (const [full, expected] of python) t.equal(formatIpv6(ipv6Bytes(full), 0), expected, full);

  t.test('agrees with a string-based reference formatter on zero-heavy addresses', async (t) => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.nat(8), (groups, offset) => {
        const bytes = new Uint8Array(offset + 16);
        groups.forEach((g, i) => {
          bytes[offset + 2 * i] = g >> 8;
          bytes[offset + 2 * i + 1] = g & 0xff;
        });
        return formatIpv6(bytes, offset) === referenceIpv6(groups);
      }),
      { numRuns: 3000 },
    );
    t.pass('3000 addresses');
  });
});

t.test('property: never throws, and a result always points inside the frame', async (t) => {
  const beaconFrames = cases.filter((c) => c.not_udp === undefined).map((c) => hex(c.frame_hex));
  const seeds = [
    ...beaconFrames,
    v4frame({}, {}, [
      [0x88a8, 1],
      [0x8100, 2],
    ]),
    v6frame(),
  ];
  const tci = fc.option(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer(), fc.double()), { nil: undefined });
  const check = (frame: Uint8Array, strippedTci: number | undefined): boolean => {
    const info = parseFrame(frame, strippedTci);
    return info === null || (info.destinationPort === BEACON_PORT && info.payloadOffset + info.payloadLength <= frame.length);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), tci, check), { numRuns: 2000 });
  const mutated = fc
    .record({
      seed: fc.constantFrom(...seeds),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      cut: fc.nat(),
      extra: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ seed, edits, cut, extra }) => {
      const bytes = Uint8Array.from(seed);
      // Edits aimed at the headers, where they change the parse, most of the time.
      for (const [at, value] of edits) bytes[at % Math.min(bytes.length, 80)] = value;
      const kept = bytes.subarray(0, bytes.length - (cut % 8));
      return Uint8Array.from([...kept, ...extra]);
    });
  fc.assert(fc.property(mutated, tci, check), { numRuns: 3000 });
  t.pass('3000 random frames and 3000 mutated beacon frames');
});

// ---------------------------------------------------------------------------

function ipv6Bytes(full: string): Uint8Array {
  const groups = full.split(':').map((g) => parseInt(g, 16));
  return Uint8Array.from(groups.flatMap((g) => be16(g)));
}

/** RFC 5952 by string manipulation: a different route to the same text. */
function referenceIpv6(groups: number[]): string {
  const text = groups.map((g) => g.toString(16));
  let best: [number, number] = [-1, 0];
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > best[1]) best = [i, j - i];
  }
  if (best[0] < 0) return text.join(':');
  const head = text.slice(0, best[0]).join(':');
  const tail = text.slice(best[0] + best[1]).join(':');
  return `${head}::${tail}`;
}
