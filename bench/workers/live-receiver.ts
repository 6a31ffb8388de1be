/**
 * A netbeacon live receiver for the bench: one LiveCapture (native rings,
 * or tcpdump + the JS engine) on one interface, counting what it verifies.
 * Prints one JSON object a line: {"event":"ready"} once capturing, then
 * {"event":"stats", beacons, rejected, packets, drops, skipped} every
 * --interval ms and once more on stdin end / "close", after which it exits.
 *
 * With --agent, the capture is the real agent daemon's (src/agent/daemon.ts,
 * no control socket, no journal): every batch goes through the daemon's own
 * handler into its correlator, as in the agent, and `beacons` is the
 * daemon's count of valid beacons; each report then also carries
 * `correlated` (beacons the correlator took as new: not dropped, not a
 * replay, not own, not a duplicate), `dropped` (by the correlator, by
 * reason), `replays`, `duplicates`, `hints` (held now) and `ringDrops`
 * (the interface's plus the shared ring's).
 * Usage: live-receiver.js --engine native|tcpdump --if IFNAME --key HEX --interval MS [--agent]
 */
import { Agent } from '../../src/agent/daemon';
import type { LiveCapture, LiveRecord } from '../../src/capture/live';
import { NativeLiveCapture } from '../../src/capture/live-native';
import { TcpdumpLiveCapture } from '../../src/capture/live-tcpdump';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { keyObjects } from '../../src/protocol/fernet';
import type { FernetKey } from '../../src/protocol/key';
import { keyFromHex } from '../lib/inputs';
import { flag, numberFlag, workerMain } from '../lib/worker-args';

/** The daemon around the capture, on the one interface; its counters say what it received and correlated. */
function agentOn(cap: LiveCapture, key: FernetKey, ifname: string): Agent {
  return new Agent({
    keys: keyObjects(key),
    capture: cap,
    engine: cap.engine === 'native' ? 'native' : 'js',
    engineWhy: 'chosen by the bench',
    selection: { include: [ifname], exclude: [] },
    log: (level, msg) => {
      if (level === 'error' || level === 'warn') process.stderr.write(`agent ${level}: ${msg}\n`);
    },
  });
}

function agentStats(agent: Agent, cap: LiveCapture, ifname: string): Record<string, unknown> {
  const received = agent.counters.received[ifname] ?? {};
  let rejected = 0;
  const reasons: Record<string, number> = {};
  for (const [k, n] of Object.entries(received))
    if (k !== 'valid') {
      rejected += n;
      reasons[k] = n;
    }
  const c = agent.core.correlator.stats();
  const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
  const s = cap.stats()[ifname];
  const shared = cap.sharedRing?.();
  return {
    event: 'stats',
    beacons: received.valid ?? 0,
    rejected,
    reasons,
    packets: s?.packets ?? 0,
    drops: s?.drops ?? 0,
    ringDrops: (s?.drops ?? 0) + (shared?.drops ?? 0),
    freezes: s?.freezes ?? 0,
    skipped: s?.skipped ?? 0,
    correlatorReceived: c.received,
    correlated: c.received - dropped - c.replays - c.own - c.duplicates,
    dropped: c.dropped,
    replays: c.replays,
    duplicates: c.duplicates,
    hints: c.hints,
  };
}

const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');

workerMain(async () => {
  const engine = flag('--engine');
  const ifname = flag('--if');
  const key = keyFromHex(flag('--key'));
  const interval = numberFlag('--interval');
  let cap: LiveCapture;
  if (engine === 'native') cap = new NativeLiveCapture(key);
  else if (engine === 'tcpdump') cap = new TcpdumpLiveCapture(new JsBatchVerifier(key));
  else throw new Error(`unknown engine ${engine}`);
  const agent = process.argv.includes('--agent') ? agentOn(cap, key, ifname) : undefined;
  let beacons = 0;
  let rejected = 0;
  const reasons: Record<string, number> = {};
  // With the agent, its own handler is the one listener (it counts).
  if (!agent)
    cap.on('beacons', (records: LiveRecord[]) => {
      for (const r of records) {
        if (r.verdict.ok) beacons++;
        else {
          rejected++;
          reasons[r.verdict.reason] = (reasons[r.verdict.reason] ?? 0) + 1;
        }
      }
    });
  cap.on('error', (err: Error) => say({ event: 'error', message: err.message }));
  cap.on('interface-gone', (g: unknown) => say({ event: 'gone', ...(g as object) }));
  if (agent) {
    // The daemon adds the interface once its discovery lists it.
    await agent.start();
    const deadline = Date.now() + 15_000;
    while (!cap.stats()[ifname]) {
      if (Date.now() > deadline) throw new Error(`the agent did not start capturing on ${ifname}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } else await cap.add(ifname);
  const stats = (): Record<string, unknown> => {
    if (agent) return agentStats(agent, cap, ifname);
    const s = cap.stats()[ifname];
    return { event: 'stats', beacons, rejected, reasons, packets: s?.packets ?? 0, drops: s?.drops ?? 0, freezes: s?.freezes ?? 0, skipped: s?.skipped ?? 0 };
  };
  say({ event: 'ready' });
  const timer = setInterval(() => say(stats()), interval);
  let closing = false;
  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    clearInterval(timer);
    const last = stats();
    if (agent) await agent.stop();
    else await cap.close();
    say(last);
    say({ event: 'closed' });
    process.exit(0);
  };
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('close')) void close();
  });
  process.stdin.on('end', () => void close());
});
