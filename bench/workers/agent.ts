/**
 * The agent daemon (src/agent/daemon.ts) on one interface, for the latency
 * case: the real Agent with a real live capture, in the bench's receiver
 * namespace. Prints {"event":"ready"} once the interface is captured, then
 * {"event":"hint", "hint": {…}, "t": ms} for every hint_added, where t is
 * this host's wall clock with sub-millisecond precision (comparable with
 * the flood worker's send stamps: same clock, same host). Stops on stdin
 * end or "close".
 * Usage: agent.js --engine native|tcpdump --if IFNAME --key HEX --socket PATH
 */
import { performance } from 'node:perf_hooks';
import { Agent } from '../../src/agent/daemon';
import type { LiveCapture } from '../../src/capture/live';
import { NativeLiveCapture } from '../../src/capture/live-native';
import { TcpdumpLiveCapture } from '../../src/capture/live-tcpdump';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { keyObjects } from '../../src/protocol/fernet';
import { keyFromHex } from '../lib/inputs';
import { flag, workerMain } from '../lib/worker-args';

const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
const wallMs = (): number => performance.timeOrigin + performance.now();

workerMain(async () => {
  const engine = flag('--engine');
  const ifname = flag('--if');
  const key = keyFromHex(flag('--key'));
  let capture: LiveCapture;
  if (engine === 'native') capture = new NativeLiveCapture(key);
  else if (engine === 'tcpdump') capture = new TcpdumpLiveCapture(new JsBatchVerifier(key));
  else throw new Error(`unknown engine ${engine}`);
  const agent = new Agent({
    keys: keyObjects(key),
    capture,
    engine: engine === 'native' ? 'native' : 'js',
    engineWhy: 'chosen by the bench',
    selection: { include: [ifname], exclude: [] },
    socketPath: flag('--socket'),
    pollMs: 200,
    log: (level, msg) => {
      if (level === 'error' || level === 'warn' || process.env.NBB_DEBUG) process.stderr.write(`agent ${level}: ${msg}\n`);
    },
  });
  agent.on('event', (e: { event: string; hint?: unknown }) => {
    if (process.env.NBB_DEBUG) process.stderr.write(JSON.stringify(e) + '\n');
    if (e.event === 'hint_added') say({ event: 'hint', hint: e.hint, t: wallMs() });
  });
  await agent.start();
  const deadline = Date.now() + 15_000;
  while (!capture.stats()[ifname]) {
    if (Date.now() > deadline) throw new Error(`the agent did not start capturing on ${ifname}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  say({ event: 'ready' });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await agent.stop();
    say({ event: 'closed' });
    process.exit(0);
  };
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('close')) void stop();
  });
  process.stdin.on('end', () => void stop());
});
