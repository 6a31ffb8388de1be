// The host's interfaces from both sources, inside a test namespace: the
// rtnetlink watcher (kept open, so that what it shows later has come from
// events), and `ip -j -d addr show` read afresh each time. On each stdin
// line `both` it prints {netlink: HostInterface[], ip: HostInterface[],
// batches}; on `close` (or stdin end) it exits. Prints {ready} first.
// Plain JS over the compiled dist/, like live-receiver.js.
'use strict';
const dist = require('node:path').resolve(__dirname, '..', '..', 'dist', 'src');
const { NetlinkInterfaceWatcher } = require(`${dist}/net/netlink.js`);
const { readInterfaces } = require(`${dist}/net/discover.js`);

const say = (o) => void process.stdout.write(JSON.stringify(o) + '\n');

async function main() {
  const w = new NetlinkInterfaceWatcher();
  w.on('error', (e) => say({ event: 'error', message: e.message }));
  w.on('change', () => say({ event: 'change', at: Date.now() }));
  await w.start();
  say({ event: 'ready' });
  let buf = '';
  const stop = () => {
    w.stop();
    process.exit(0);
  };
  process.stdin.setEncoding('utf8').on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (cmd === 'close') stop();
      if (cmd === 'both') void readInterfaces().then((ip) => say({ event: 'both', netlink: w.current, ip, batches: w.batches }));
    }
  });
  process.stdin.on('end', stop);
}

main().catch((err) => {
  say({ event: 'fatal', message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
});
