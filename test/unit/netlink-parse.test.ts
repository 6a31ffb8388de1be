/**
 * The addon's rtnetlink parser (native/netlink.cc) on messages built here
 * byte by byte: what it reads of links and addresses, how it ends a dump,
 * and that it checks every length: truncated headers, attributes that
 * overrun their message or their nest, names without room, and random
 * mutations of valid datagrams, none of which may make it read past what
 * it was given or report values out of range.
 */
import t from 'tap';
import { loadBinding } from '../../src/engine/binding';
import { prng } from '../helpers/prng';

const binding = loadBinding();
type Parsed = {
  messages: Array<Record<string, unknown>>;
  done: boolean;
  error: number;
  interrupted: boolean;
  malformed: number;
  other: number;
};
const parse = binding.ok ? (binding.binding.parseRtnetlink as (b: Uint8Array, seq?: number, portid?: number) => Parsed) : undefined;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 2;
const NLM_F_DUMP_INTR = 16;
const NLA_F_NESTED = 0x8000;

const align = (n: number) => (n + 3) & ~3;

function attr(type: number, data: Uint8Array | Buffer): Buffer {
  const b = Buffer.alloc(align(4 + data.length));
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  Buffer.from(data).copy(b, 4);
  return b;
}
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const str = (s: string) => Buffer.from(s + '\0');
const mac = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');

function msg(type: number, body: Buffer, opts: { flags?: number; seq?: number; pid?: number } = {}): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(opts.flags ?? 0, 6);
  h.writeUInt32LE(opts.seq ?? 0, 8);
  h.writeUInt32LE(opts.pid ?? 0, 12);
  return Buffer.concat([h, body, Buffer.alloc(align(body.length) - body.length)]);
}

function ifinfo(index: number, flags: number, type = 1): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(type, 2);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  return b;
}

function ifaddr(family: number, prefixlen: number, scope: number, index: number, flags = 0): Buffer {
  const b = Buffer.alloc(8);
  b[0] = family;
  b[1] = prefixlen;
  b[2] = flags;
  b[3] = scope;
  b.writeUInt32LE(index, 4);
  return b;
}

/** A VLAN on its parent, with every attribute the parser reads. */
function vlanLink(index = 6): Buffer {
  const info = Buffer.concat([attr(1, str('vlan')), attr(2 | NLA_F_NESTED, Buffer.concat([attr(2, u16(0)), attr(1, u16(42))]))]);
  return msg(
    RTM_NEWLINK,
    Buffer.concat([
      ifinfo(index, 0x11043),
      attr(3, str('bond0.42')),
      attr(4, u32(9000)),
      attr(1, mac('52:54:00:0a:00:03')),
      attr(16, Buffer.from([6])),
      attr(5, u32(5)),
      attr(10, u32(7)),
      attr(18 | NLA_F_NESTED, info),
      attr(7777, Buffer.from('unknown attributes are skipped')),
    ]),
  );
}

function addr4(index = 2): Buffer {
  return msg(
    RTM_NEWADDR,
    Buffer.concat([ifaddr(2, 24, 0, index, 0x80), attr(1, Buffer.from([10, 0, 0, 99])), attr(2, Buffer.from([10, 0, 0, 5])), attr(8, u32(0x280))]),
  );
}

function addr6(index = 2): Buffer {
  return msg(RTM_NEWADDR, Buffer.concat([ifaddr(10, 64, 253, index), attr(1, Buffer.from('fe800000000000000000000000000001', 'hex'))]));
}

if (!parse) {
  t.pass(`skipped: the addon is not loaded (${binding.ok ? '' : binding.detail})`);
} else {
  const p = parse;
  t.test('a link: flags, type, name, MTU, MAC, operstate, lower device, master, kind and VID', async (t) => {
    const r = p(vlanLink());
    t.same(r.messages, [
      {
        op: 'new',
        ifindex: 6,
        name: 'bond0.42',
        flags: 0x11043,
        type: 1,
        mtu: 9000,
        address: '52:54:00:0a:00:03',
        operstate: 6,
        link: 5,
        master: 7,
        kind: 'vlan',
        vlanId: 42,
        dump: false,
      },
    ]);
    t.equal(r.malformed, 0);
    const gone = p(msg(RTM_DELLINK, Buffer.concat([ifinfo(9, 0), attr(3, str('veth9'))])));
    t.same(gone.messages, [{ op: 'del', ifindex: 9, name: 'veth9', dump: false }]);
    const veth = p(msg(RTM_NEWLINK, Buffer.concat([ifinfo(3, 1), attr(3, str('v0')), attr(37, u32(0)), attr(18, attr(1, str('veth')))])));
    t.match(veth.messages[0], { kind: 'veth', linkNetnsid: 0 });
    t.notOk('vlanId' in veth.messages[0]!, 'IFLA_INFO_DATA is read only for a VLAN');
  });

  t.test('addresses: IFA_LOCAL over IFA_ADDRESS (the peer of a point-to-point link), IFA_FLAGS over ifa_flags, IPv6', async (t) => {
    const r = p(Buffer.concat([addr4(), addr6(), msg(RTM_DELADDR, Buffer.concat([ifaddr(2, 8, 254, 1), attr(1, Buffer.from([127, 0, 0, 1]))]))]));
    t.same(r.messages, [
      { ifindex: 2, family: 4, local: '10.0.0.5', prefixlen: 24, scope: 0, flags: 0x280, op: 'newaddr', dump: false },
      { ifindex: 2, family: 6, local: 'fe80::1', prefixlen: 64, scope: 253, flags: 0, op: 'newaddr', dump: false },
      { ifindex: 1, family: 4, local: '127.0.0.1', prefixlen: 8, scope: 254, flags: 0, op: 'deladdr', dump: false },
    ]);
  });

  t.test("a dump's messages, its end and its errors are told apart from events by sequence number and port id", async (t) => {
    const dump = Buffer.concat([
      msg(RTM_NEWLINK, vlanLink().subarray(16, vlanLink().readUInt32LE(0)), { flags: NLM_F_MULTI, seq: 7, pid: 1234 }),
      msg(RTM_NEWADDR, addr4().subarray(16), { seq: 7, pid: 99 }),
      msg(NLMSG_DONE, u32(0), { flags: NLM_F_MULTI, seq: 7, pid: 1234 }),
    ]);
    const r = p(dump, 7, 1234);
    t.equal(r.done, true, 'NLMSG_DONE of our dump');
    t.same(
      r.messages.map((m) => m.dump),
      [true, false],
      'an event with our sequence number but another port id is not the dump',
    );
    t.equal(p(dump, 8, 1234).done, false, "another request's DONE is not our dump's end");
    const failed = p(msg(NLMSG_ERROR, Buffer.concat([u32(-1), Buffer.alloc(16)]), { seq: 3, pid: 5 }), 3, 5);
    t.match(failed, { done: true, error: 1 }, 'NLMSG_ERROR: the errno');
    const ack = p(msg(NLMSG_ERROR, Buffer.concat([u32(0), Buffer.alloc(16)]), { seq: 3, pid: 5 }), 3, 5);
    t.match(ack, { done: false, error: 0 }, 'an ack is not an error');
    t.match(p(msg(NLMSG_DONE, u32(-16 >>> 0), { seq: 4, pid: 5 }), 4, 5), { done: true, error: 16 }, "a dump's own error rides in DONE");
    t.match(p(msg(NLMSG_DONE, Buffer.alloc(0), { seq: 4, pid: 5 }), 4, 5), { done: true, error: 0 }, 'DONE without a payload');
    const intr = p(msg(RTM_NEWLINK, vlanLink().subarray(16), { flags: NLM_F_DUMP_INTR, seq: 4, pid: 5 }), 4, 5);
    t.equal(intr.interrupted, true, 'NLM_F_DUMP_INTR: dump again');
    t.equal(p(msg(RTM_NEWLINK, vlanLink().subarray(16), { flags: NLM_F_DUMP_INTR, seq: 4, pid: 6 }), 4, 5).interrupted, false);
    t.equal(p(msg(24, Buffer.alloc(12))).other, 1, 'other message types are counted, not parsed');
  });

  t.test('every length is checked', async (t) => {
    const good = vlanLink();
    const cases: Array<[string, Buffer, number]> = [
      ['a header cut short', good.subarray(0, 10), 0],
      ['nlmsg_len past the datagram', Buffer.concat([good.subarray(0, 4).map((_, i) => (i === 0 ? 0xff : 0)), good.subarray(4, 40)]), 1],
      [
        'nlmsg_len below the header',
        (() => {
          const b = Buffer.from(good);
          b.writeUInt32LE(8, 0);
          return b;
        })(),
        1,
      ],
      ['a body shorter than ifinfomsg', msg(RTM_NEWLINK, Buffer.alloc(8)), 1],
      [
        'an attribute longer than its message',
        (() => {
          const b = Buffer.from(good);
          b.writeUInt16LE(0x7000, 32);
          return b;
        })(),
        1,
      ],
      [
        'an attribute length below its header',
        (() => {
          const b = Buffer.from(good);
          b.writeUInt16LE(2, 32);
          return b;
        })(),
        1,
      ],
      ['a name of 16 characters', msg(RTM_NEWLINK, Buffer.concat([ifinfo(3, 0), attr(3, str('x'.repeat(16)))])), 1],
      ['an empty name', msg(RTM_NEWLINK, Buffer.concat([ifinfo(3, 0), attr(3, Buffer.from([0]))])), 1],
      ['ifindex 0', msg(RTM_NEWLINK, Buffer.concat([ifinfo(0, 0), attr(3, str('x'))])), 1],
      ['a nest that overruns', msg(RTM_NEWLINK, Buffer.concat([ifinfo(3, 0), attr(3, str('x')), attr(18, Buffer.from([40, 0, 1, 0, 0, 0, 0, 0]))])), 1],
      ['an IPv4 prefix of 33', msg(RTM_NEWADDR, Buffer.concat([ifaddr(2, 33, 0, 2), attr(2, Buffer.from([1, 2, 3, 4]))])), 1],
      ['an address of the wrong length', msg(RTM_NEWADDR, Buffer.concat([ifaddr(10, 64, 0, 2), attr(1, Buffer.from([1, 2, 3, 4]))])), 1],
      ['another family', msg(RTM_NEWADDR, Buffer.concat([ifaddr(7, 8, 0, 2), attr(1, Buffer.from([1]))])), 1],
    ];
    for (const [what, bytes, malformed] of cases) {
      const r = p(bytes);
      t.equal(r.messages.length, 0, `${what}: nothing read`);
      t.equal(r.malformed, malformed, `${what}: counted`);
    }
    const short = msg(RTM_NEWLINK, Buffer.concat([ifinfo(4, 0), attr(4, Buffer.from([1, 2])), attr(3, str('ok'))]));
    t.match(p(short).messages, [{ name: 'ok', ifindex: 4 }], 'a too-short MTU is ignored, the rest read');
    t.notOk('mtu' in p(short).messages[0]!);
    const vid = msg(
      RTM_NEWLINK,
      Buffer.concat([ifinfo(4, 0), attr(3, str('v')), attr(18, Buffer.concat([attr(1, str('vlan')), attr(2, attr(1, u16(5000)))]))]),
    );
    t.notOk('vlanId' in p(vid).messages[0]!, 'a VID above 4095 is not one');
    const two = Buffer.concat([good, addr4()]);
    t.equal(p(two).messages.length, 2, 'two messages in one datagram');
    t.equal(p(Buffer.concat([two, Buffer.alloc(3)])).messages.length, 2, 'trailing padding');
    t.throws(() => p(Buffer.from(good), 'x' as unknown as number), TypeError);
    t.throws(() => p([1, 2] as unknown as Uint8Array), TypeError);
  });

  t.test('random mutations of valid datagrams never yield out-of-range values', async (t) => {
    const rand = prng(20);
    const seeds = [
      Buffer.concat([vlanLink(), addr4(), addr6()]),
      Buffer.concat([msg(RTM_DELLINK, Buffer.concat([ifinfo(9, 0), attr(3, str('veth9'))])), msg(NLMSG_DONE, u32(0), { seq: 1, pid: 1 })]),
    ];
    let messages = 0;
    for (let i = 0; i < 20_000; i++) {
      const seed = seeds[i % seeds.length]!;
      const b = Buffer.from(seed.subarray(0, rand() < 0.2 ? Math.floor(rand() * seed.length) : seed.length));
      const flips = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < flips && b.length > 0; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const r = p(b, 1, 1);
      for (const m of r.messages) {
        messages++;
        if (!((m.ifindex as number) > 0)) t.fail(`ifindex ${String(m.ifindex)}`);
        if (typeof m.name === 'string' && (m.name.length === 0 || m.name.length > 15)) t.fail(`name ${m.name}`);
        if (m.family === 4 && !((m.prefixlen as number) <= 32 && /^\d+\.\d+\.\d+\.\d+$/.test(m.local as string))) t.fail(`v4 ${JSON.stringify(m)}`);
        if (m.family === 6 && !((m.prefixlen as number) <= 128 && (m.local as string).includes(':'))) t.fail(`v6 ${JSON.stringify(m)}`);
        if (m.vlanId !== undefined && !((m.vlanId as number) < 4096)) t.fail(`vid ${JSON.stringify(m.vlanId)}`);
        if (typeof m.address === 'string' && m.address.length > 32 * 3) t.fail('address too long');
      }
    }
    t.ok(messages > 1000, `${messages} messages read from the mutations, all in range`);
  });
}
