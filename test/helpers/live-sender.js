// Sends a scripted list of datagrams and raw frames from inside a test
// namespace. Usage: node live-sender.js JSON, where JSON is an array of
//   {kind:'udp4', to, port?, via?, hex}   (via: IP_MULTICAST_IF address)
//   {kind:'udp6', to, port?, via?, hex}   (via: interface name for the scope)
//   {kind:'raw', ifname, hex}             (whole Ethernet frame, via the addon)
//   {kind:'flood', ifname, hex, count}    (that frame `count` times, via sendFrames)
// Prints {sent:N} when done. Plain JS over the compiled dist/, like live-receiver.js.
'use strict';
const { createSocket } = require('node:dgram');
const dist = require('node:path').resolve(__dirname, '..', '..', 'dist', 'src');
const { loadBinding } = require(`${dist}/engine/binding.js`);

function addon() {
  const state = loadBinding();
  if (!state.ok) throw new Error(state.detail);
  return state.binding;
}

async function main() {
  const actions = JSON.parse(process.argv[2]);
  const s4 = createSocket({ type: 'udp4', reuseAddr: true });
  const s6 = createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
  await new Promise((r) => s4.bind({ port: 5240 }, r));
  await new Promise((r) => s6.bind({ port: 5240 }, r));
  s4.setMulticastTTL(1);
  s6.setMulticastTTL(1);
  let sent = 0;
  for (const a of actions) {
    const bytes = Buffer.from(a.hex, 'hex');
    if (a.kind === 'raw') {
      addon().sendFrame(a.ifname, bytes);
      sent++;
    } else if (a.kind === 'flood') {
      const data = Buffer.concat(Array.from({ length: a.count }, () => bytes));
      const offsets = Uint32Array.from({ length: a.count + 1 }, (_, i) => i * bytes.length);
      sent += addon().sendFrames(a.ifname, data, offsets);
    } else {
      const s = a.kind === 'udp4' ? s4 : s6;
      if (a.via) s.setMulticastInterface(a.kind === 'udp4' ? a.via : `::%${a.via}`);
      const to = a.kind === 'udp6' && a.to.startsWith('f') && a.via ? `${a.to}%${a.via}` : a.to;
      await new Promise((resolve, reject) => s.send(bytes, a.port ?? 5240, to, (err) => (err ? reject(err) : resolve())));
      sent++;
    }
  }
  s4.close();
  s6.close();
  process.stdout.write(JSON.stringify({ sent }) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
  process.exitCode = 1;
});
