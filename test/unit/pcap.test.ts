import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CaptureParser, MAX_BLOCK_BYTES, MAX_PACKET_BYTES } from '../../src/capture/pcap';
import type { CapturedPacket } from '../../src/protocol/packet';
import { CaptureError } from '../../src/errors';
import {
  EPB,
  IDB,
  SHB,
  SPB,
  epbBody,
  idbBody,
  ngBlock,
  shbBody,
  spbBody,
  writePcap,
  writePcapng,
  type NgPacket,
  type PcapRecord,
} from '../helpers/pcap-writer';

const VECTORS = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas');
const corpusPcap = Uint8Array.from(readFileSync(resolve(VECTORS, 'corpus.pcap')));
const cases = readFileSync(resolve(VECTORS, 'corpus.cases.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { time: number; frame_hex: string });
const corpus: PcapRecord[] = cases.map((c) => ({ time: c.time, data: Uint8Array.from(Buffer.from(c.frame_hex, 'hex')) }));

interface Outcome {
  packets: CapturedPacket[];
  /** Packets returned by each push(), for checking that nothing waits for end(). */
  batches: number;
  error: unknown;
  parser: CaptureParser;
}

/** Feeds `bytes` in chunks of the sizes `size(i)` gives, then end(). */
function feed(bytes: Uint8Array, size: (i: number) => number = () => bytes.length): Outcome {
  const parser = new CaptureParser();
  const packets: CapturedPacket[] = [];
  let batches = 0;
  try {
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = Math.max(1, size(i));
      const got = parser.push(bytes.subarray(at, at + n));
      if (got.length > 0) batches++;
      packets.push(...got);
      at += n;
    }
    parser.end();
    return { packets, batches, error: undefined, parser };
  } catch (error) {
    return { packets, batches, error, parser };
  }
}

function sameAsCorpus(t: tap.Test, packets: readonly CapturedPacket[], what: string): void {
  t.equal(packets.length, corpus.length, `${what}: ${corpus.length} packets`);
  let wrong = 0;
  packets.forEach((p, i) => {
    const c = corpus[i]!;
    if (p.time !== c.time || Buffer.compare(Buffer.from(p.data), Buffer.from(c.data)) !== 0 || p.wireLength !== c.data.length) wrong++;
  });
  t.equal(wrong, 0, `${what}: every packet has the corpus frame, time and wire length`);
}

function captureError(t: tap.Test, outcome: Outcome, code: string, message: RegExp, what: string): void {
  t.type(outcome.error, CaptureError, `${what}: a CaptureError`);
  t.match(outcome.error, { code, message, exitCode: 3 }, what);
}

// ---------------------------------------------------------------------------

t.test('corpus.pcap', async (t) => {
  t.test('read whole', async (t) => {
    const o = feed(corpusPcap);
    t.equal(o.error, undefined);
    sameAsCorpus(t, o.packets, 'whole');
    t.equal(o.parser.format, 'pcap');
    t.equal(o.parser.packetsRead, 24);
    t.equal(o.parser.bytesRead, corpusPcap.length);
    t.notOk(
      o.packets.some((p) => 'interface' in p),
      'classic pcap names no interface',
    );
  });

  t.test('1-byte and 7-byte chunks', async (t) => {
    for (const n of [1, 7]) {
      const o = feed(corpusPcap, () => n);
      t.equal(o.error, undefined);
      sameAsCorpus(t, o.packets, `${n}-byte chunks`);
      t.equal(o.batches, 24, 'each packet is returned by the push that completes it');
    }
  });

  t.test('random chunk sizes', async (t) => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const o = feed(corpusPcap, (i) => sizes[i % sizes.length]!);
        return (
          o.error === undefined && o.packets.length === 24 && o.packets.every((p, i) => p.time === corpus[i]!.time && p.data.length === corpus[i]!.data.length)
        );
      }),
      { numRuns: 200 },
    );
    t.pass('200 random splits');
  });

  t.test('the test writer reproduces corpus.pcap byte for byte', async (t) => {
    t.same(Buffer.from(writePcap(corpus, { snaplen: 16384 })), Buffer.from(corpusPcap));
  });

  t.test("packets are copies, not views of the caller's chunk", async (t) => {
    const input = Uint8Array.from(corpusPcap);
    const parser = new CaptureParser();
    const packets = parser.push(input);
    input.fill(0);
    t.equal(Buffer.from(packets[0]!.data).toString('hex'), Buffer.from(corpus[0]!.data).toString('hex'));
    t.ok(
      packets.every((p) => p.data.buffer !== input.buffer),
      'no packet is a view of the chunk',
    );
    // Packets share append-only arenas: their bytes never overlap, and later pushes never write over them.
    const spans = packets.map((p) => ({ buf: p.data.buffer, from: p.data.byteOffset, to: p.data.byteOffset + p.data.byteLength }));
    const overlaps = spans.some((a, i) => spans.some((b, j) => i !== j && a.buf === b.buf && a.from < b.to && b.from < a.to));
    t.notOk(overlaps, 'no two packets share bytes');
    const before = packets.map((p) => Buffer.from(p.data).toString('hex'));
    const flipped = writePcap(
      corpus.map((c) => ({ ...c, data: Uint8Array.from(c.data, (x) => x ^ 0xff) })),
      { snaplen: 16384 },
    );
    new CaptureParser().push(flipped);
    new CaptureParser().push(flipped);
    t.same(
      packets.map((p) => Buffer.from(p.data).toString('hex')),
      before,
      'and later pushes, by any parser, leave them alone',
    );
  });

  t.test('transient: packets are views of the chunk, except those completed from carried-over bytes', async (t) => {
    const input = Uint8Array.from(corpusPcap);
    const cut = 24 + 16 + corpus[0]!.data.length + 10; // inside the second record
    const parser = new CaptureParser({ transient: true });
    const first = parser.push(input.subarray(0, cut));
    const rest = parser.push(input.subarray(cut));
    t.equal(first.length, 1);
    t.equal(first[0]!.data.buffer, input.buffer, 'a whole record in the chunk: a view of it');
    t.not(rest[0]!.data.buffer, input.buffer, 'the record cut between chunks: a copy');
    t.same(
      [...first, ...rest].map((p) => Buffer.from(p.data).toString('hex')),
      corpus.map((c) => Buffer.from(c.data).toString('hex')),
      'the same packets as ever',
    );
  });

  t.test('a Buffer chunk gives copies too (Buffer#slice would alias)', async (t) => {
    const input = Buffer.from(corpusPcap);
    const packets = new CaptureParser().push(input);
    input.fill(0);
    t.equal(Buffer.from(packets[23]!.data).toString('hex'), Buffer.from(corpus[23]!.data).toString('hex'));
  });
});

t.test('classic pcap variants made from the corpus', async (t) => {
  for (const nanosecond of [false, true]) {
    for (const bigEndian of [false, true]) {
      const what = `${nanosecond ? 'ns' : 'µs'} ${bigEndian ? 'big' : 'little'}-endian`;
      const o = feed(writePcap(corpus, { nanosecond, bigEndian }), () => 13);
      t.equal(o.error, undefined, what);
      sameAsCorpus(t, o.packets, what);
    }
  }

  t.test('sub-microsecond times survive in nanosecond captures', async (t) => {
    const o = feed(writePcap([{ time: 1795000000 + 125 / 1e9, data: corpus[0]!.data }], { nanosecond: true }));
    t.equal(o.packets[0]!.time, 1795000000 + 125 / 1e9);
  });

  t.test('wire length is reported as written', async (t) => {
    const o = feed(writePcap([{ time: 1, data: corpus[0]!.data.subarray(0, 60), wireLength: 279 }]));
    t.equal(o.packets[0]!.wireLength, 279);
    t.equal(o.packets[0]!.data.length, 60);
  });
});

t.test('pcapng made from the corpus', async (t) => {
  // Spread the corpus over three interfaces with different resolutions.
  const interfaces = [
    { name: 'eth0' }, // no if_tsresol: microseconds
    { name: 'eth1', tsresol: 9 },
    { tsresol: 0x80 | 20 }, // 2^-20 s, and no if_name
  ];
  const packets: NgPacket[] = corpus.map((r, i) => ({ interfaceId: i % 3, time: r.time, data: r.data }));

  for (const bigEndian of [false, true]) {
    const what = bigEndian ? 'big-endian' : 'little-endian';
    const bytes = writePcapng([{ bigEndian, interfaces, packets, otherBlocks: [4, 5, 0x00000bad] }]);
    for (const chunk of [bytes.length, 1, 5]) {
      const o = feed(bytes, () => chunk);
      t.equal(o.error, undefined, `${what}, ${chunk}-byte chunks`);
      sameAsCorpus(t, o.packets, `${what}, ${chunk}-byte chunks`);
      t.same(
        o.packets.slice(0, 3).map((p) => p.interface),
        ['eth0', 'eth1', undefined],
        'interface names from if_name',
      );
      t.equal(o.parser.format, 'pcapng');
    }
  }

  t.test('several sections, each with its own byte order and interface table', async (t) => {
    const half = packets.length / 2;
    const bytes = writePcapng([
      { interfaces, packets: packets.slice(0, half) },
      { bigEndian: true, interfaces: [{ name: 'br0', tsresol: 9 }], packets: corpus.slice(half).map((r) => ({ interfaceId: 0, time: r.time, data: r.data })) },
    ]);
    const o = feed(bytes, () => 64);
    t.equal(o.error, undefined);
    sameAsCorpus(t, o.packets, 'two sections');
    t.same(new Set(o.packets.slice(half).map((p) => p.interface)), new Set(['br0']), 'the second section numbers its own interfaces');
  });

  t.test('a new section forgets the interfaces of the last one', async (t) => {
    const bytes = writePcapng([
      { interfaces, packets: [] },
      { interfaces: [{ name: 'only' }], packets: [] },
    ]);
    const stray = ngBlock(EPB, epbBody(2, 0n, corpus[0]!.data, 279));
    const o = feed(Buffer.concat([bytes, stray]));
    captureError(
      t,
      o,
      'E_CAPTURE_FORMAT',
      /block 7 \(enhanced packet\) at byte offset \d+ refers to interface 2, but its section describes 1/,
      'interface 2 is gone',
    );
  });

  t.test("Simple Packet Blocks: interface 0, the previous packet's time, cut to the snaplen", async (t) => {
    const bytes = writePcapng([
      {
        interfaces: [{ name: 'eth9', snaplen: 100 }],
        packets: [
          { simple: true, data: corpus[1]!.data.subarray(0, 100), wireLength: corpus[1]!.data.length },
          { interfaceId: 0, time: corpus[0]!.time, data: corpus[0]!.data.subarray(0, 100), wireLength: 279 },
          { simple: true, data: corpus[2]!.data.subarray(0, 100), wireLength: corpus[2]!.data.length },
          { simple: true, data: corpus[10]!.data }, // 45 bytes: shorter than the snaplen
        ],
      },
    ]);
    const o = feed(bytes, () => 3);
    t.equal(o.error, undefined);
    t.same(
      o.packets.map((p) => [p.time, p.data.length, p.wireLength, p.interface]),
      [
        [0, 100, 311, 'eth9'],
        [corpus[0]!.time, 100, 279, 'eth9'],
        [corpus[0]!.time, 100, 283, 'eth9'],
        [corpus[0]!.time, 45, 45, 'eth9'],
      ],
    );
    t.same(Buffer.from(o.packets[2]!.data), Buffer.from(corpus[2]!.data.subarray(0, 100)));
  });

  t.test('SPB with snaplen 0 (unlimited) keeps the whole frame', async (t) => {
    const o = feed(writePcapng([{ interfaces: [{}], packets: [{ simple: true, data: corpus[3]!.data }] }]));
    t.same(Buffer.from(o.packets[0]!.data), Buffer.from(corpus[3]!.data));
  });

  t.test('if_tsresol: seconds, nanoseconds, and binary fractions', async (t) => {
    const data = corpus[0]!.data;
    const bytes = writePcapng([
      {
        interfaces: [{ tsresol: 0 }, { tsresol: 9 }, { tsresol: 0x80 | 30 }, { tsresol: 0x80 }],
        packets: [
          { interfaceId: 0, time: 1795000007, data },
          { interfaceId: 1, time: 1795000000 + 125 / 1e9, data },
          { interfaceId: 2, time: 1795000000.5 + 2 ** -30, data },
          { interfaceId: 3, time: 1795000001, data },
        ],
      },
    ]);
    t.same(
      feed(bytes).packets.map((p) => p.time),
      [1795000007, 1795000000 + 125 / 1e9, 1795000000.5 + 2 ** -30, 1795000001],
    );
  });

  t.test('if_name: trailing NULs written by some tools are not part of the name', async (t) => {
    const body = Buffer.concat([
      Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from([2, 0, 6, 0]),
      Buffer.from('eth7\0\0\0\0', 'latin1'),
      Buffer.from([0, 0, 0, 0]),
    ]);
    const bytes = Buffer.concat([ngBlock(SHB, shbBody()), ngBlock(IDB, body), ngBlock(EPB, epbBody(0, 1n, corpus[0]!.data, 279))]);
    t.equal(feed(bytes).packets[0]!.interface, 'eth7');
  });

  t.test('options after opt_endofopt are ignored', async (t) => {
    const body = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 0, 0]), Buffer.from([2, 0, 4, 0]), Buffer.from('eth7')]);
    const bytes = Buffer.concat([ngBlock(SHB, shbBody()), ngBlock(IDB, body), ngBlock(EPB, epbBody(0, 1n, corpus[0]!.data, 279))]);
    const o = feed(bytes);
    t.equal(o.error, undefined);
    t.notOk('interface' in o.packets[0]!);
  });
});

t.test('link types', async (t) => {
  t.test('classic pcap: refused at the file header, named', async (t) => {
    const named: Array<[number, RegExp]> = [
      [113, /link type 113 \(Linux cooked capture \(SLL\)/],
      [276, /link type 276 \(Linux cooked capture v2 \(SLL2\)/],
      [101, /link type 101 \(raw IP\)/],
      [147, /link type 147; only Ethernet/],
    ];
    for (const [linkType, message] of named) {
      const o = feed(writePcap(corpus.slice(0, 2), { linkType }));
      captureError(t, o, 'E_CAPTURE_LINKTYPE', message, `link type ${linkType}`);
      t.equal(o.packets.length, 0);
    }
  });

  t.test('classic pcap: FCS bits above the link type are not part of it', async (t) => {
    const o = feed(writePcap(corpus.slice(0, 1), { linkType: 0x14000001 }));
    t.equal(o.error, undefined);
    t.equal(o.packets.length, 1);
  });

  t.test('pcapng: an interface of another type is fine until a packet arrives on it', async (t) => {
    const bytes = writePcapng([
      {
        interfaces: [{ name: 'eth0' }, { name: 'lo', linkType: 113 }],
        packets: [
          { interfaceId: 0, time: 1, data: corpus[0]!.data },
          { interfaceId: 1, time: 2, data: corpus[1]!.data },
        ],
      },
    ]);
    const o = feed(bytes);
    t.equal(o.packets.length, 1, 'the Ethernet packet before it is delivered');
    captureError(
      t,
      o,
      'E_CAPTURE_LINKTYPE',
      /block 5 \(enhanced packet\) at byte offset \d+ is a packet on interface 1 \(lo\) of link type 113 \(Linux cooked/,
      'packet on SLL',
    );
  });

  t.test('pcapng: an unnamed interface is named by number', async (t) => {
    const bytes = writePcapng([{ interfaces: [{ linkType: 101 }], packets: [{ simple: true, data: corpus[0]!.data }] }]);
    captureError(
      t,
      feed(bytes),
      'E_CAPTURE_LINKTYPE',
      /simple packet\) at byte offset 48 is a packet on interface 0 of link type 101 \(raw IP\)/,
      'SPB on raw IP',
    );
  });
});

t.test('not a capture', async (t) => {
  captureError(t, feed(new Uint8Array(0)), 'E_CAPTURE_FORMAT', /^empty capture/, 'no bytes at all');
  const parser = new CaptureParser();
  t.same(parser.push(new Uint8Array(0)), [], 'an empty chunk is harmless');
  t.equal(parser.format, undefined, 'format unknown before the magic');
  t.throws(() => parser.end(), { code: 'E_CAPTURE_FORMAT', message: /^empty capture/ });
  for (const n of [1, 3]) {
    captureError(t, feed(corpusPcap.subarray(0, n)), 'E_CAPTURE_FORMAT', new RegExp(`only ${n} byte\\(s\\), too short for a magic number`), `${n} bytes`);
  }
  captureError(t, feed(Buffer.from('\x7fELF and then some', 'latin1')), 'E_CAPTURE_FORMAT', /unknown magic number 7f 45 4c 46 at byte offset 0/, 'an ELF file');
  captureError(
    t,
    feed(Buffer.from('\x7fE', 'latin1'), () => 1),
    'E_CAPTURE_FORMAT',
    /too short/,
    '2 bytes, 1 at a time',
  );
  const o = feed(Buffer.from('GET / HTTP/1.1'), () => 1);
  captureError(t, o, 'E_CAPTURE_FORMAT', /unknown magic number 47 45 54 20/, 'detected on the 4th byte');
});

t.test('classic pcap format errors', async (t) => {
  t.test('version', async (t) => {
    captureError(t, feed(writePcap([], { versionMajor: 3 })), 'E_CAPTURE_FORMAT', /version 3\.4; only 2\.x/, 'major 3');
  });

  t.test('captured length beyond any plausible frame names the record and offset', async (t) => {
    const header = writePcap(corpus.slice(0, 2), { snaplen: 16384 });
    const huge = Buffer.alloc(16);
    huge.writeUInt32LE(MAX_PACKET_BYTES + 1, 8);
    const o = feed(Buffer.concat([header, huge, Buffer.alloc(64)]));
    t.equal(o.packets.length, 2, 'the records before it are delivered');
    captureError(
      t,
      o,
      'E_CAPTURE_FORMAT',
      new RegExp(`record 3 at byte offset ${header.length} claims ${MAX_PACKET_BYTES + 1} captured bytes`),
      'over 256 KiB',
    );
  });

  t.test('snaplen: tolerated up to a full IP datagram, refused past it', async (t) => {
    const big = (n: number) => ({ time: 1, data: new Uint8Array(n) });
    t.equal(feed(writePcap([big(65535)], { snaplen: 1500 })).error, undefined, '65535 with snaplen 1500: a writer that understated it');
    captureError(
      t,
      feed(writePcap([big(65536)], { snaplen: 1500 })),
      'E_CAPTURE_FORMAT',
      /record 1 at byte offset 24 claims 65536 captured bytes; at most 65535/,
      '65536 with snaplen 1500',
    );
    t.equal(feed(writePcap([big(200000)], { snaplen: 262144 })).error, undefined, 'within a large snaplen');
    t.equal(feed(writePcap([big(MAX_PACKET_BYTES)], { snaplen: 0 })).error, undefined, 'snaplen 0: not set, only the hard limit');
    captureError(
      t,
      feed(writePcap([big(MAX_PACKET_BYTES + 1)], { snaplen: 0xffffffff })),
      'E_CAPTURE_FORMAT',
      /hard limit 262144/,
      'a huge snaplen does not lift the hard limit',
    );
  });

  t.test('a large record a byte at a time stays linear', async (t) => {
    const bytes = writePcap([{ time: 1, data: new Uint8Array(MAX_PACKET_BYTES).fill(7) }, corpus[0]!], { snaplen: 0 });
    const start = process.hrtime.bigint();
    const o = feed(bytes, () => 1);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    t.equal(o.packets.length, 2);
    t.equal(o.packets[0]!.data.length, MAX_PACKET_BYTES);
    // A complexity guard, not a benchmark: linear takes well under a second,
    // quadratic copying (3e10 bytes moved) would take minutes.
    t.ok(ms < 10000, `256 KiB fed one byte at a time in ${ms.toFixed(0)} ms`);
  });
});

t.test('truncation', async (t) => {
  t.test('classic pcap cut at every offset inside the last record', async (t) => {
    const lastStart = corpusPcap.length - 16 - corpus[23]!.data.length;
    let wrong = 0;
    for (let cut = lastStart + 1; cut < corpusPcap.length; cut++) {
      const o = feed(corpusPcap.subarray(0, cut), (i) => (i % 2 === 0 ? 500 : 3));
      const ok =
        o.packets.length === 23 &&
        o.error instanceof CaptureError &&
        o.error.code === 'E_CAPTURE_TRUNCATED' &&
        o.error.message.includes(
          `23 whole packet(s) read; record 24 (${cut - lastStart} of ${cut - lastStart < 16 ? 16 : 16 + 42} bytes present) at byte offset ${lastStart} is cut off`,
        );
      if (!ok) wrong++;
    }
    t.equal(wrong, 0, `all ${corpusPcap.length - lastStart - 1} cuts: 23 packets, then E_CAPTURE_TRUNCATED naming record 24 at ${lastStart}`);
  });

  t.test('classic pcap cut inside the file header', async (t) => {
    captureError(
      t,
      feed(corpusPcap.subarray(0, 10)),
      'E_CAPTURE_TRUNCATED',
      /0 whole packet\(s\) read; the file header \(10 of 24 bytes present\) at byte offset 0/,
      '10 bytes',
    );
  });

  t.test('pcapng cut at every offset inside the last block', async (t) => {
    for (const bigEndian of [false, true]) {
      const bytes = writePcapng([
        { bigEndian, interfaces: [{ name: 'eth0' }], packets: corpus.slice(0, 3).map((r) => ({ interfaceId: 0, time: r.time, data: r.data })) },
      ]);
      const lastLength = 32 + ((corpus[2]!.data.length + 3) & ~3);
      const lastStart = bytes.length - lastLength;
      let wrong = 0;
      for (let cut = lastStart + 1; cut < bytes.length; cut++) {
        const o = feed(bytes.subarray(0, cut), () => 11);
        const have = cut - lastStart;
        const ok =
          o.packets.length === 2 &&
          o.error instanceof CaptureError &&
          o.error.code === 'E_CAPTURE_TRUNCATED' &&
          o.error.message.includes(
            `2 whole packet(s) read; block 5 (${have < 8 ? `only ${have} bytes of its header` : `${have} of ${lastLength} bytes`} present) at byte offset ${lastStart} is cut off`,
          );
        if (!ok) wrong++;
      }
      t.equal(wrong, 0, `${bigEndian ? 'big' : 'little'}-endian: every cut gives 2 packets then E_CAPTURE_TRUNCATED at ${lastStart}`);
    }
  });

  t.test('pcapng cut inside a section header before its byte-order magic', async (t) => {
    const bytes = writePcapng([
      { interfaces: [{}], packets: [] },
      { interfaces: [], packets: [] },
    ]);
    const secondStart = 28 + 20;
    for (const have of [4, 8, 11]) {
      captureError(
        t,
        feed(bytes.subarray(0, secondStart + have)),
        'E_CAPTURE_TRUNCATED',
        new RegExp(`block 3 \\(only ${have} bytes of its header present\\) at byte offset ${secondStart}`),
        `${have} bytes of it`,
      );
    }
    captureError(
      t,
      feed(bytes.subarray(0, secondStart + 12)),
      'E_CAPTURE_TRUNCATED',
      /block 3 \(12 of 28 bytes present\)/,
      'its length is known once the magic is',
    );
  });
});

t.test('pcapng block structure errors name the block and its byte offset', async (t) => {
  const shb = ngBlock(SHB, shbBody());
  const idb = ngBlock(IDB, idbBody({}));
  const epb = ngBlock(EPB, epbBody(0, 1n, corpus[0]!.data, 279));
  t.equal(shb.length + idb.length, 48, 'a third block starts at byte 48');

  const withLength = (block: Buffer, length: number, trailer = length): Buffer => {
    const b = Buffer.from(block);
    b.writeUInt32LE(length, 4);
    b.writeUInt32LE(trailer, b.length - 4);
    return b;
  };

  // The bad block is the fourth, after a good packet.
  const at = 48 + epb.length;
  const lengthCases: Array<[string, Buffer, RegExp]> = [
    [
      'below 12',
      withLength(epb, 8),
      new RegExp(`block 4 \\(enhanced packet\\) at byte offset ${at} has total length 8; it must be a multiple of 4 between 12 and ${MAX_BLOCK_BYTES}`),
    ],
    [
      'not a multiple of 4',
      withLength(epb, epb.length - 2),
      new RegExp(`block 4 \\(enhanced packet\\) at byte offset ${at} has total length ${epb.length - 2}; it must`),
    ],
    [
      'beyond the block limit',
      withLength(epb, MAX_BLOCK_BYTES + 4),
      new RegExp(`block 4 \\(enhanced packet\\) at byte offset ${at} has total length ${MAX_BLOCK_BYTES + 4}; it must`),
    ],
    [
      'trailer differs',
      withLength(epb, epb.length, epb.length + 4),
      new RegExp(`block 4 \\(enhanced packet\\) at byte offset ${at} has total length ${epb.length} but its trailing copy says ${epb.length + 4}`),
    ],
  ];
  for (const [what, block, message] of lengthCases) {
    const o = feed(Buffer.concat([shb, idb, epb, block]), () => 9);
    t.equal(o.packets.length, 1, `${what}: the packet before is delivered`);
    captureError(t, o, 'E_CAPTURE_FORMAT', message, what);
  }

  t.test('unknown block types are named by number', async (t) => {
    const custom = withLength(ngBlock(0x40000bad, new Uint8Array(4)), 16, 20);
    captureError(
      t,
      feed(Buffer.concat([shb, custom])),
      'E_CAPTURE_FORMAT',
      /block 2 \(type 0x40000bad\) at byte offset 28 has total length 16 but its trailing copy says 20/,
      'custom block',
    );
  });

  t.test('section header: byte-order magic and version', async (t) => {
    const badMagic = Buffer.from(shb);
    badMagic.writeUInt32LE(0x11223344, 8);
    captureError(t, feed(badMagic), 'E_CAPTURE_FORMAT', /section header block at byte offset 0 has byte-order magic 0x44332211/, 'bad magic');
    captureError(
      t,
      feed(ngBlock(SHB, shbBody(true, 2), true)),
      'E_CAPTURE_FORMAT',
      /block 1 \(section header\) at byte offset 0 has pcapng version 2\.0; only 1\.x/,
      'version 2',
    );
    captureError(
      t,
      feed(ngBlock(SHB, new Uint8Array([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]))),
      'E_CAPTURE_FORMAT',
      /block 1 \(section header\) at byte offset 0 is too short for its fixed fields: 8 body bytes, 16 needed/,
      'short SHB',
    );
  });

  t.test('bodies too short for their fixed fields', async (t) => {
    const shortCases: Array<[string, Buffer, RegExp]> = [
      ['IDB', ngBlock(IDB, new Uint8Array(4)), /block 2 \(interface description\) at byte offset 28 is too short for its fixed fields: 4 body bytes, 8 needed/],
      [
        'EPB',
        Buffer.concat([idb, ngBlock(EPB, new Uint8Array(16))]),
        /block 3 \(enhanced packet\) at byte offset 48 is too short for its fixed fields: 16 body bytes, 20 needed/,
      ],
      [
        'SPB',
        Buffer.concat([idb, ngBlock(SPB, new Uint8Array(0))]),
        /block 3 \(simple packet\) at byte offset 48 is too short for its fixed fields: 0 body bytes, 4 needed/,
      ],
    ];
    for (const [what, blocks, message] of shortCases) captureError(t, feed(Buffer.concat([shb, blocks])), 'E_CAPTURE_FORMAT', message, what);
  });

  t.test('packet lengths that overrun the block', async (t) => {
    const epbOver = Buffer.from(epb);
    epbOver.writeUInt32LE(corpus[0]!.data.length + 4, 8 + 12); // captured length
    captureError(
      t,
      feed(Buffer.concat([shb, idb, epbOver])),
      'E_CAPTURE_FORMAT',
      /block 3 \(enhanced packet\) at byte offset 48 is too short for 283 captured bytes: 300 body bytes, 303 needed/,
      'EPB',
    );
    const spbOver = ngBlock(SPB, spbBody(corpus[0]!.data.subarray(0, 100), 200));
    captureError(
      t,
      feed(Buffer.concat([shb, idb, spbOver])),
      'E_CAPTURE_FORMAT',
      /block 3 \(simple packet\) at byte offset 48 is too short for 200 captured bytes/,
      'SPB',
    );
    const epbHuge = Buffer.from(epb);
    epbHuge.writeUInt32LE(MAX_PACKET_BYTES + 1, 8 + 12);
    captureError(
      t,
      feed(Buffer.concat([shb, idb, epbHuge])),
      'E_CAPTURE_FORMAT',
      /block 3 \(enhanced packet\) at byte offset 48 claims 262145 captured bytes/,
      'EPB over the limit',
    );
    const bigSnap = ngBlock(IDB, idbBody({ snaplen: MAX_PACKET_BYTES * 4 }));
    captureError(
      t,
      feed(Buffer.concat([shb, bigSnap, ngBlock(SPB, spbBody(new Uint8Array(4), MAX_PACKET_BYTES + 1))])),
      'E_CAPTURE_FORMAT',
      /simple packet\) at byte offset \d+ claims 262145 captured bytes/,
      'SPB over the limit',
    );
  });

  t.test('interface options', async (t) => {
    const overrun = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([2, 0, 9, 0]), Buffer.from('eth0')]);
    captureError(
      t,
      feed(Buffer.concat([shb, ngBlock(IDB, overrun)])),
      'E_CAPTURE_FORMAT',
      /block 2 \(interface description\) at byte offset 28: option 2 \(9 bytes\) runs past the end of the block/,
      'overrun',
    );
    const wideTsresol = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([9, 0, 2, 0, 6, 0, 0, 0])]);
    captureError(
      t,
      feed(Buffer.concat([shb, ngBlock(IDB, wideTsresol)])),
      'E_CAPTURE_FORMAT',
      /if_tsresol option is 2 bytes long, not 1/,
      'if_tsresol of 2 bytes',
    );
  });

  t.test('packets without an interface', async (t) => {
    captureError(
      t,
      feed(Buffer.concat([shb, ngBlock(SPB, spbBody(corpus[0]!.data, 279))])),
      'E_CAPTURE_FORMAT',
      /block 2 \(simple packet\) at byte offset 28 refers to interface 0, but its section describes 0/,
      'SPB',
    );
  });
});

t.test('error delivery', async (t) => {
  t.test('a fault found mid-chunk is thrown by the next call, after the packets before it', async (t) => {
    const good = writePcap(corpus.slice(0, 3));
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(0xffffffff, 8);
    const parser = new CaptureParser();
    const packets = parser.push(Buffer.concat([good, bad]));
    t.equal(packets.length, 3, 'the three packets come back');
    t.equal(parser.packetsRead, 3);
    t.throws(() => parser.push(new Uint8Array(1)), { code: 'E_CAPTURE_FORMAT', message: /record 4 at byte offset \d+ claims 4294967295/ });
    t.throws(() => parser.end(), { code: 'E_CAPTURE_FORMAT' }, 'and keeps being thrown');
  });

  t.test('a fault with no packets before it in the chunk is thrown at once', async (t) => {
    const parser = new CaptureParser();
    t.equal(parser.push(writePcap(corpus.slice(0, 1))).length, 1);
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(0xffffffff, 8);
    t.throws(() => parser.push(bad), { code: 'E_CAPTURE_FORMAT' });
    t.throws(() => parser.push(bad), { code: 'E_CAPTURE_FORMAT' }, 'again');
  });

  t.test('use after end() is a programming error, not a capture error', async (t) => {
    const parser = new CaptureParser();
    parser.push(corpusPcap);
    parser.end();
    const misuse = (f: () => unknown): unknown => {
      try {
        f();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const err of [misuse(() => parser.push(corpusPcap)), misuse(() => parser.end())]) {
      t.type(err, Error);
      t.notOk(err instanceof CaptureError, 'not a CaptureError');
      t.match(err, { message: /used after end/ });
    }
  });

  t.test('a bug (not a CaptureError) is passed through, not kept as the fault of the capture', async (t) => {
    const parser = new CaptureParser();
    // Reading a byte throws: stands in for a defect in the decoding code.
    const poisoned = new Proxy(corpusPcap, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) throw new RangeError('boom');
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    t.throws(() => parser.push(poisoned), RangeError);
    t.equal(parser.push(corpusPcap).length, 24, 'the parser was not marked failed');
  });
});

t.test('property: any input gives packets or a CaptureError, nothing else', async (t) => {
  const ng = writePcapng([
    {
      interfaces: [{ name: 'eth0', tsresol: 9 }, { name: 'eth1' }],
      packets: [...corpus.slice(0, 4).map((r, i) => ({ interfaceId: i % 2, time: r.time, data: r.data })), { simple: true as const, data: corpus[5]!.data }],
      otherBlocks: [5],
    },
  ]);
  const seeds = [
    corpusPcap.subarray(0, 24 + 16 * 3 + 279 * 2 + 311),
    Uint8Array.from(ng),
    Uint8Array.from(writePcap(corpus.slice(0, 3), { bigEndian: true, nanosecond: true })),
  ];
  const run = (bytes: Uint8Array, chunk: number): boolean => {
    const o = feed(bytes, () => chunk);
    if (o.error !== undefined && !(o.error instanceof CaptureError))
      throw o.error instanceof Error ? o.error : new Error('the parser threw a non-Error', { cause: o.error });
    return o.packets.every((p) => p.data.length <= MAX_PACKET_BYTES && Number.isFinite(p.time));
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 64 }), run), { numRuns: 1000 });
  const mutated = fc
    .record({
      seed: fc.constantFrom(...seeds),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      cut: fc.nat(),
    })
    .map(({ seed, edits, cut }) => {
      const bytes = Uint8Array.from(seed);
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      return cut % 4 === 0 ? bytes.subarray(0, cut % bytes.length) : bytes;
    });
  fc.assert(fc.property(mutated, fc.integer({ min: 1, max: 512 }), run), { numRuns: 2000 });
  // Mutations aimed at the length fields, where they reach the range checks.
  const lengthEdits = fc
    .record({ seed: fc.constantFrom(...seeds), at: fc.nat(), value: fc.oneof(fc.nat(), fc.constantFrom(0, 1, 11, 12, 13, 0xffffffff, MAX_BLOCK_BYTES + 4)) })
    .map(({ seed, at, value }) => {
      const bytes = Buffer.from(seed);
      bytes.writeUInt32LE(value >>> 0, (at % Math.floor(bytes.length / 4)) * 4);
      return Uint8Array.from(bytes);
    });
  fc.assert(fc.property(lengthEdits, fc.integer({ min: 1, max: 512 }), run), { numRuns: 1000 });
  t.pass('1000 random inputs, 3000 mutated captures');
});
