/** The raw-send wrapper over a fake addon: argument checks, batching into one buffer, errors reworded per errno. */
import t from 'tap';
import { openRawSender, rawSendUnavailable, RawSendError } from '../../src/capture/raw-send';
import type { BindingState } from '../../src/engine/binding';
import { NetbeaconError } from '../../src/errors';

const sysError = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`sendFrame on eth9: boom (${code})`), { code, ...extra });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function fake(impl: { sendFrame?: unknown; sendFrames?: unknown }): BindingState {
  return { ok: true, path: '/x/netbeacon.node', binding: { abiVersion: 1, ...impl } };
}

t.test('without the addon: a clear "needs the native engine" error with the reason', async (t) => {
  const missing: BindingState = { ok: false, why: 'not-built', detail: 'build/Release/netbeacon.node does not exist (run `npm run build:native`)' };
  t.match(rawSendUnavailable(missing), /needs the native engine.*npm run build:native/);
  const e = thrown(() => openRawSender(missing));
  t.ok(e instanceof NetbeaconError && e.code === 'E_RAW_SEND_UNAVAILABLE' && /does not exist/.test(e.message), 'E_RAW_SEND_UNAVAILABLE');
  const old = fake({});
  t.match(rawSendUnavailable(old), /has no sendFrame: rebuild/);
  t.equal(rawSendUnavailable(fake({ sendFrame: () => undefined, sendFrames: () => 0 })), undefined);
});

t.test('frames go through unchanged; a batch is one buffer with count + 1 offsets', async (t) => {
  const calls: unknown[] = [];
  const s = openRawSender(
    fake({
      sendFrame: (i: string, f: Uint8Array) => void calls.push(['one', i, Buffer.from(f).toString('hex')]),
      sendFrames: (i: string, d: Uint8Array, o: Uint32Array) => {
        calls.push(['batch', i, Buffer.from(d).toString('hex'), [...o]]);
        return o.length - 1;
      },
    }),
  );
  const a = Buffer.alloc(14, 0xaa);
  const b = Buffer.alloc(20, 0xbb);
  s.send('eth0', a);
  t.equal(s.sendBatch('eth0', [a, b]), 2);
  t.equal(s.sendBatch('eth0', []), 0, 'an empty batch sends nothing');
  t.same(calls, [
    ['one', 'eth0', a.toString('hex')],
    ['batch', 'eth0', a.toString('hex') + b.toString('hex'), [0, 14, 34]],
  ]);
});

t.test('bad arguments are refused before the addon is called, naming the interface and frame', async (t) => {
  const s = openRawSender(fake({ sendFrame: () => t.fail('not reached'), sendFrames: () => t.fail('not reached') }));
  t.throws(() => s.send('', Buffer.alloc(14)), TypeError);
  t.throws(() => s.send('a-very-long-interface-name', Buffer.alloc(14)), { message: /not an interface name/ });
  t.throws(() => s.send('eth0', Buffer.alloc(13)), { message: /raw send on eth0: frame 0 is 13 bytes/ });
  t.throws(() => s.sendBatch('eth0', [Buffer.alloc(14), Buffer.alloc(70000)]), { message: /frame 1 is 70000 bytes/ });
  t.throws(() => s.send('eth0', 'abc' as unknown as Uint8Array), { message: /not a Uint8Array/ });
});

t.test('errno codes become sentences an operator can act on', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['EMSGSIZE', /a 1514-byte frame is larger than eth9's MTU allows/],
    ['ENODEV', /eth9 does not exist/],
    ['ENXIO', /eth9 does not exist/],
    ['ENETDOWN', /eth9 is down/],
    ['EPERM', /needs CAP_NET_RAW/],
    ['EIO', /^cannot send on eth9 \(sendFrame on eth9: boom \(EIO\)\)$/],
  ];
  for (const [code, message] of cases) {
    const s = openRawSender(
      fake({
        sendFrame: () => {
          throw sysError(code);
        },
        sendFrames: () => 0,
      }),
    );
    const e = thrown(() => s.send('eth9', Buffer.alloc(1514)));
    t.ok(
      e instanceof RawSendError && e.errno === code && e.interface === 'eth9' && e.code === 'E_RAW_SEND' && message.test(e.message),
      `${code}: ${String(e)}`,
    );
  }
  const batch = openRawSender(
    fake({
      sendFrame: () => undefined,
      sendFrames: () => {
        throw sysError('EMSGSIZE', { sent: 1 });
      },
    }),
  );
  const b = thrown(() => batch.sendBatch('eth9', [Buffer.alloc(100), Buffer.alloc(9100)]));
  t.ok(b instanceof RawSendError && b.sent === 1 && /a 9100-byte frame/.test(b.message), 'the frame that failed is named by its size');
  const plain = openRawSender(
    fake({
      sendFrame: () => {
        // A thrown non-Error is what this case checks the message for.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'weird';
      },
      sendFrames: () => 0,
    }),
  );
  const w = thrown(() => plain.send('eth9', Buffer.alloc(60)));
  t.ok(w instanceof RawSendError && w.errno === undefined && /weird/.test(w.message), 'a non-Error is still reported');
});
