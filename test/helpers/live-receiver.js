// Runs a live capture (any engine) inside a test namespace and reports on
// stdout, one JSON object a line: {event:'ready'} once every interface is
// capturing, {event:'record', ...} per received datagram, {event:'gone'},
// {event:'error'}, and on the stdin command `stats` {event:'stats'} (with
// the native capture's shared ring), `add IFNAME` {event:'added'}, `remove IFNAME` {event:'removed'}; on
// `close` (or stdin end) it closes the capture, prints {event:'closed'} and
// exits. Usage: node live-receiver.js ENGINE KEYHEX IFNAME...
// Plain JS over the compiled dist/ (live-harness.ts checks it is fresh):
// a child under the TypeScript loader takes seconds to start on a busy box.
'use strict';
const dist = require('node:path').resolve(__dirname, '..', '..', 'dist', 'src');
const { JsBatchVerifier } = require(`${dist}/engine/js-verifier.js`);
const { NativeLiveCapture } = require(`${dist}/capture/live-native.js`);
const { TcpdumpLiveCapture } = require(`${dist}/capture/live-tcpdump.js`);
const { UdpLiveCapture } = require(`${dist}/capture/live-udp.js`);

const [engine, keyHex, ...ifnames] = process.argv.slice(2);
const keyBytes = Buffer.from(keyHex, 'hex');
const key = { signing: new Uint8Array(keyBytes.subarray(0, 16)), encryption: new Uint8Array(keyBytes.subarray(16, 32)) };
const say = (o) => void process.stdout.write(JSON.stringify(o) + '\n');

function open() {
  if (engine === 'native') return new NativeLiveCapture(key, process.env.NB_RING ? JSON.parse(process.env.NB_RING) : {});
  if (engine === 'tcpdump') return new TcpdumpLiveCapture(new JsBatchVerifier(key));
  return new UdpLiveCapture(new JsBatchVerifier(key));
}

async function main() {
  const cap = open();
  const slowMs = Number(process.env.NB_SLOW_MS || 0);
  let batches = 0;
  cap.on('beacons', (records) => {
    batches++;
    if (slowMs > 0) {
      // A JS thread too busy to keep up: the capture must push back, not buffer.
      const until = Date.now() + slowMs;
      while (Date.now() < until) {
        /* busy */
      }
      say({ event: 'batch', n: batches, count: records.length, rss: process.memoryUsage().rss });
      return;
    }
    for (const r of records) {
      const v = r.verdict;
      say({
        event: 'record',
        interface: r.interface,
        time: r.time,
        vid: r.frame.vid,
        outerVid: r.frame.outerVid,
        sourceMac: r.frame.sourceMac,
        sourceIp: r.frame.sourceIp,
        destinationIp: r.frame.destinationIp,
        sourcePort: r.frame.sourcePort,
        ok: v.ok,
        reason: v.ok ? undefined : v.reason,
        type: v.ok ? v.type : undefined,
        ulid: v.ok && v.payload ? v.payload.ulid : undefined,
      });
    }
  });
  cap.on('interface-gone', (g) => say({ event: 'gone', ...g }));
  cap.on('error', (e) => say({ event: 'error', message: e.message }));
  for (const ifn of ifnames) await cap.add(ifn);
  say({ event: 'ready' });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    say({ event: 'stats', stats: cap.stats(), ring: cap.sharedRing?.() });
    await cap.close();
    say({ event: 'closed' });
  };
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (cmd === 'stats') say({ event: 'stats', stats: cap.stats(), ring: cap.sharedRing?.() });
      if (cmd === 'close') void close();
      if (cmd.startsWith('add ')) {
        void cap.add(cmd.slice(4)).then(
          () => say({ event: 'added', interface: cmd.slice(4) }),
          (e) => say({ event: 'error', message: e.message }),
        );
      }
      if (cmd.startsWith('remove ')) {
        cap.remove(cmd.slice(7));
        say({ event: 'removed', interface: cmd.slice(7) });
      }
    }
  });
  process.stdin.on('end', () => void close());
}

main().catch((err) => {
  say({ event: 'fatal', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
