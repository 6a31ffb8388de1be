// Driver for scripts/leakcheck-capture.sh: plain JS (valgrind is slow enough
// without a TypeScript loader). Runs inside the receiving namespace; the
// sender is a separate process in the other one. Two rounds of: capture,
// argument errors, a batch of frames, remove, double close; then GC, so
// that everything NativeCapture owns is freed before valgrind's leak check.
// Usage: node --expose-gc capture-churn.js ADDON IFNAME SENDER_NS SENDER_IF
'use strict';
const { execFileSync } = require('node:child_process');
const [addon, ifname, senderNs, senderIf] = process.argv.slice(2);
const b = require(addon);
const key = new Uint8Array(16).fill(7);

function frame(n) {
  // A beacon-shaped datagram whose token fails verification: exercises
  // parsing, verification and records without needing the secret.
  const payload = Buffer.alloc(64 + (n % 50), n & 0xff);
  payload[0] = 2;
  payload[1] = 1;
  payload.writeUInt16BE(payload.length - 4, 2);
  payload[4] = 0x80;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(5240, 0);
  udp.writeUInt16BE(5240, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip[9] = 17;
  return Buffer.concat([Buffer.from('01005e0000765254000a00018100002a0800', 'hex'), ip, udp, payload]);
}

async function round(i) {
  let got = 0;
  const c = new b.NativeCapture({ signingKey: key, encryptionKey: key, blockSize: 65536, blockCount: 4, poolSize: 2 }, (kind, ...a) => {
    if (kind === 'batch') got += a[1];
    else console.log(kind, a);
  });
  c.add(ifname);
  for (const bad of [ifname, 'nosuch9']) {
    try {
      c.add(bad);
    } catch (e) {
      console.log('expected error:', e.code);
    }
  }
  const frames = Array.from({ length: 300 }, (_, n) => frame(n).toString('hex'));
  const script =
    `const b=require(${JSON.stringify(addon)});const f=${JSON.stringify(frames)}.map((h)=>Buffer.from(h,'hex'));` +
    `const o=new Uint32Array(f.length+1);let a=0;f.forEach((x,i)=>{o[i]=a;a+=x.length;});o[f.length]=a;b.sendFrames(${JSON.stringify(senderIf)},Buffer.concat(f),o);`;
  execFileSync('ip', ['netns', 'exec', senderNs, process.execPath, '-e', script], { stdio: 'inherit' });
  for (let w = 0; w < 100 && got < 300; w++) await new Promise((r) => setTimeout(r, 100));
  console.log(`round ${i}: ${got} records`, JSON.stringify(c.stats()));
  if (got !== 300) process.exitCode = 1;
  c.remove(ifname);
  await c.close();
  await c.close();
}

(async () => {
  for (let i = 0; i < 2; i++) await round(i);
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 100));
  }
})();
