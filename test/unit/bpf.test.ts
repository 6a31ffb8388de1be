/**
 * The native capture's in-kernel filter (native/bpf.cc), run in a cBPF
 * interpreter next to what tcpdump compiles for MAAS's filter, on the
 * shared corpus and on crafted frames.
 *
 * tcpdump's programs are compiled offline (-r corpus.pcap, link type
 * EN10MB). Offline, libpcap cannot use the ancillary VLAN loads (a file's
 * frames carry their tags in band), so its program is not comparable on a
 * frame whose tag the kernel stripped: there we compare with the stated
 * verdict, and with tcpdump's verdict on the same frame with the tag put
 * back in band (what libpcap itself writes to a pcap from a live capture).
 *
 * MAAS's filter `udp dst port 5240 or (vlan and udp dst port 5240)` looks
 * through one tag only; ours also accepts QinQ. For two-tag frames we
 * compare with the nested form `... or (vlan and (udp dst port 5240 or
 * (vlan and udp dst port 5240)))` and check MAAS's own filter misses them.
 *
 * The capture binds one socket to every interface, so its filter is the
 * same program followed by a test of the interface (SKF_AD_IFINDEX): it
 * must keep exactly what the plain program keeps, on the chosen
 * interfaces only, for any number of them up to the limit.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { loadBinding } from '../../src/engine/binding';
import { parseFrame } from '../../src/protocol/frame';
import { corpusCases, vector } from '../helpers/corpus';
import { parseDd, runBpf, type Insn } from '../helpers/bpf';
import { beaconFrame4, beaconFrame6, ethernet, ipv4, ipv6, udp, GROUP4_MAC, type Tag } from '../helpers/frames';

const MAAS_FILTER = 'udp dst port 5240 or (vlan and udp dst port 5240)';
const QINQ_FILTER = 'udp dst port 5240 or (vlan and (udp dst port 5240 or (vlan and udp dst port 5240)))';

const state = loadBinding();
if (!state.ok) {
  t.skip(`native addon not available: ${state.detail}`, () => {});
} else {
  const program = state.binding.bpfProgram as (ifindexes?: number[]) => Insn[];
  const ours = program();
  const compile = (filter: string): Insn[] | undefined => {
    const r = spawnSync('tcpdump', ['-dd', '-r', vector('corpus.pcap'), filter], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return undefined;
    return parseDd(r.stdout);
  };
  const maas = compile(MAAS_FILTER);
  const qinq = compile(QINQ_FILTER);
  const accepts = (prog: readonly Insn[], data: Uint8Array, stripped?: Tag, ifindex?: number): boolean =>
    runBpf(prog, { data, ifindex, ...(stripped ? { stripped: { tci: stripped.tci, tpid: stripped.tpid } } : {}) }) > 0;

  t.test('the program is well formed', async (t) => {
    t.ok(ours.length > 10 && ours.length < 256, `${ours.length} instructions`);
    const last = ours[ours.length - 1]!;
    t.equal(last.code, 0x06, 'ends in ret');
    ours.forEach((insn, i) => {
      if ((insn.code & 0x07) === 0x05) t.ok(i + 1 + Math.max(insn.jt, insn.jf) < ours.length, `jump ${i} stays inside`);
    });
  });

  const src = { mac: '52:54:00:0a:00:01', ip: '10.0.0.1' };
  const src6 = { mac: '52:54:00:0a:00:01', ip: 'fe80::5054:ff:fe0a:1' };
  const body = Buffer.from('020100000000', 'hex');
  const dot1q = (vid: number, pcp = 0): Tag => ({ tpid: 0x8100, tci: (pcp << 13) | vid });
  const ad = (vid: number): Tag => ({ tpid: 0x88a8, tci: vid });

  interface Case {
    name: string;
    frame: Buffer;
    expect: boolean;
    /** Two in-band tags: MAAS's filter misses these by design; compare with the nested filter. */
    qinq?: boolean;
  }
  const cases: Case[] = [
    { name: 'untagged IPv4', frame: beaconFrame4(src, body), expect: true },
    { name: 'untagged IPv6', frame: beaconFrame6(src6, body), expect: true },
    { name: '802.1Q IPv4 with priority bits', frame: beaconFrame4(src, body, [dot1q(42, 5)]), expect: true },
    { name: '802.1Q IPv6', frame: beaconFrame6(src6, body, [dot1q(42)]), expect: true },
    { name: '802.1ad (0x88a8) single tag', frame: beaconFrame4(src, body, [ad(7)]), expect: true },
    { name: '0x9100 single tag', frame: beaconFrame4(src, body, [{ tpid: 0x9100, tci: 9 }]), expect: true },
    { name: 'QinQ 0x88a8 + 0x8100 IPv4', frame: beaconFrame4(src, body, [ad(100), dot1q(42)]), expect: true, qinq: true },
    { name: 'QinQ 0x8100 + 0x8100 IPv6', frame: beaconFrame6(src6, body, [dot1q(100), dot1q(42)]), expect: true, qinq: true },
    { name: 'three tags', frame: beaconFrame4(src, body, [ad(1), dot1q(2), dot1q(3)]), expect: false, qinq: true },
    {
      name: 'IPv4 options (router alert)',
      frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5240, body), { options: Buffer.from('94040000', 'hex') })),
      expect: true,
    },
    {
      name: 'IPv4 options, tagged',
      frame: ethernet(GROUP4_MAC, src.mac, [dot1q(3)], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5240, body), { options: Buffer.alloc(8, 1) })),
      expect: true,
    },
    {
      name: 'IPv4 later fragment',
      frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5240, body), { frag: 0x0010 })),
      expect: false,
    },
    {
      name: 'IPv4 first fragment (MF): passes the kernel, the parser refuses it',
      frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5240, body), { frag: 0x2000 })),
      expect: true,
    },
    { name: 'wrong destination port', frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 5241, body))), expect: false },
    { name: 'source port 5240 only', frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 53, body))), expect: false },
    { name: 'TCP to 5240', frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(1, 5240, body), { proto: 6 })), expect: false },
    {
      name: 'IPv6 with a hop-by-hop header',
      frame: ethernet(
        GROUP4_MAC,
        src.mac,
        [],
        0x86dd,
        ipv6(src6.ip, 'ff02::15a', Buffer.concat([Buffer.from('1100000000000000', 'hex'), udp(5240, 5240, body)]), 0),
      ),
      expect: false,
    },
    { name: 'ARP', frame: ethernet('ff:ff:ff:ff:ff:ff', src.mac, [], 0x0806, Buffer.alloc(28)), expect: false },
    { name: 'short frame: 13 bytes', frame: Buffer.alloc(13), expect: false },
    { name: 'short frame: IPv4 cut before the ports', frame: beaconFrame4(src, body).subarray(0, 14 + 20 + 1), expect: false },
    { name: 'short frame: tag only', frame: beaconFrame4(src, body, [dot1q(1)]).subarray(0, 17), expect: false },
    { name: 'short frame: IPv6 cut in the header', frame: beaconFrame6(src6, body).subarray(0, 14 + 30), expect: false },
  ];

  t.test('shared corpus: same verdicts as tcpdump with MAAS filter', { skip: maas ? false : 'tcpdump is not installed (CI installs it)' }, async (t) => {
    for (const c of corpusCases()) {
      const frame = Buffer.from(c.frame_hex, 'hex');
      t.equal(accepts(ours, frame), accepts(maas!, frame), c.label);
      t.equal(accepts(ours, frame), !c.not_udp, `${c.label}: ${c.not_udp ? 'dropped' : 'kept'}`);
    }
  });

  t.test('crafted frames in band: stated verdicts, and tcpdump agrees', async (t) => {
    for (const c of cases) {
      t.equal(accepts(ours, c.frame), c.expect, `ours: ${c.name}`);
      if (!maas || !qinq) continue;
      if (c.qinq) {
        t.equal(accepts(qinq, c.frame), c.expect, `tcpdump nested filter: ${c.name}`);
        t.equal(accepts(maas, c.frame), false, `MAAS filter misses it: ${c.name}`);
      } else {
        t.equal(accepts(maas, c.frame), c.expect, `tcpdump MAAS filter: ${c.name}`);
      }
    }
  });

  t.test('tags the kernel stripped (SKF_AD_VLAN_TAG_PRESENT)', async (t) => {
    const stripped: { name: string; frame: Buffer; tag: Tag; inband: Tag[]; expect: boolean }[] = [
      { name: 'stripped 802.1Q, IPv4', frame: beaconFrame4(src, body), tag: dot1q(42, 5), inband: [], expect: true },
      { name: 'stripped 802.1Q, IPv6', frame: beaconFrame6(src6, body), tag: dot1q(42), inband: [], expect: true },
      { name: 'stripped 802.1ad + in-band 802.1Q', frame: beaconFrame4(src, body, [dot1q(42)]), tag: ad(100), inband: [dot1q(42)], expect: true },
      {
        name: 'stripped + two in band: three tags',
        frame: beaconFrame4(src, body, [dot1q(1), dot1q(2)]),
        tag: ad(100),
        inband: [dot1q(1), dot1q(2)],
        expect: false,
      },
      {
        name: 'stripped, wrong port',
        frame: ethernet(GROUP4_MAC, src.mac, [], 0x0800, ipv4(src.ip, '224.0.0.118', udp(5240, 80, body))),
        tag: dot1q(5),
        inband: [],
        expect: false,
      },
      { name: 'stripped, ARP', frame: ethernet('ff:ff:ff:ff:ff:ff', src.mac, [], 0x0806, Buffer.alloc(28)), tag: dot1q(5), inband: [], expect: false },
    ];
    for (const s of stripped) {
      t.equal(accepts(ours, s.frame, s.tag), s.expect, `ours: ${s.name}`);
      if (qinq && s.inband.length < 2) {
        // The frame as libpcap writes it: the stripped tag back in band, outermost.
        const reinserted = Buffer.concat([
          s.frame.subarray(0, 12),
          Buffer.from([s.tag.tpid >> 8, s.tag.tpid & 0xff, s.tag.tci >> 8, s.tag.tci & 0xff]),
          s.frame.subarray(12),
        ]);
        t.equal(accepts(qinq, reinserted), s.expect, `tcpdump on the re-tagged frame: ${s.name}`);
      }
    }
  });

  t.test('never drops what parseFrame accepts (corpus, crafted, random mutations)', async (t) => {
    const frames: Buffer[] = [...corpusCases().map((c) => Buffer.from(c.frame_hex, 'hex')), ...cases.map((c) => c.frame)];
    let seed = 0x1234567;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let checked = 0;
    let kept = 0;
    for (let round = 0; round < 4000; round++) {
      const base = frames[rand(frames.length)]!;
      const f = Buffer.from(base.subarray(0, base.length - (rand(4) === 0 ? rand(base.length) : 0)));
      // Mutations aimed at the headers the filter reads.
      for (let m = rand(3); m > 0; m--) f[rand(Math.min(f.length, 80)) || 0] = rand(256);
      const tag = rand(3) === 0 ? dot1q(rand(4096)) : undefined;
      const info = parseFrame(f, tag?.tci);
      const verdict = accepts(ours, f, tag);
      if (info) {
        kept++;
        if (!verdict) t.fail(`dropped a frame parseFrame accepts: ${f.toString('hex')} tag ${JSON.stringify(tag)}`);
      }
      checked++;
    }
    t.ok(kept > 100, `${kept} of ${checked} mutated frames were beacons to parseFrame; none dropped`);
  });

  t.test('bound to every interface: the same verdicts, on the chosen interfaces only', async (t) => {
    let seed = 0x5eed;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const many = [...new Set(Array.from({ length: 5000 }, () => 1 + rand(1_000_000)))].slice(0, 3900);
    const lists: number[][] = [[], [3], [2, 5, 9], Array.from({ length: 128 }, (_, i) => 2 + i * 3), many];
    const frames = [...corpusCases().map((c) => Buffer.from(c.frame_hex, 'hex')), ...cases.map((c) => c.frame)];
    for (const list of lists) {
      const prog = program(list);
      t.ok(prog.length <= 4096, `${list.length} interfaces: ${prog.length} instructions, within the kernel's 4096`);
      let bad = 0;
      prog.forEach((insn, i) => {
        const jmp = (insn.code & 0x07) === 0x05;
        const ja = insn.code === 0x05;
        if (jmp && i + 1 + (ja ? insn.k : Math.max(insn.jt, insn.jf)) >= prog.length) bad++;
      });
      t.equal(bad, 0, `${list.length} interfaces: every jump lands inside the program`);
      t.equal(prog.at(-1)!.code, 0x06, 'ends in ret');
      const set = new Set(list);
      const probes = [0, 1, ...list.slice(0, 40), ...list.slice(-40), ...Array.from({ length: 40 }, () => rand(1_000_001))];
      let mismatches = 0;
      let kept = 0;
      for (let round = 0; round < 1500; round++) {
        const f = Buffer.from(frames[rand(frames.length)]!);
        if (rand(3) === 0) f[rand(Math.min(f.length, 80))] = rand(256);
        const tag = rand(3) === 0 ? dot1q(rand(4096)) : undefined;
        const ifindex = probes[rand(probes.length)]!;
        const want = set.has(ifindex) && accepts(ours, f, tag);
        if (want) kept++;
        if (accepts(prog, f, tag, ifindex) !== want) mismatches++;
      }
      t.equal(mismatches, 0, `${list.length} interfaces: kept exactly what the plain filter keeps, on those interfaces (${kept} kept)`);
      if (list.length > 0) t.ok(kept > 0, 'and some were kept');
    }
    t.throws(() => program(Array.from({ length: 3901 }, (_, i) => i + 1)), RangeError, 'more interfaces than one filter can hold');
    t.throws(() => program(['eth0'] as unknown as number[]), TypeError);
  });
}
