/**
 * The incremental model (src/fleet/model/incremental.ts) is buildFleetModel's
 * answer: random fleets take random sequences of report changes (hints
 * added and removed, a MAC moved to another host, duplicate and unknown
 * MACs, hosts going stale, coming and going), and after every step the
 * builder's model is compared with a full computation from scratch, named
 * from the same names: the topology document byte for byte (fabric names,
 * placements, findings, order) and the derived state.
 */
import t from 'tap';
import { buildFleetModel, type ModelInput } from '../../src/fleet/model/model';
import { FleetModelBuilder, topologyJson } from '../../src/fleet/model/cache';
import type { TopologyHint } from '../../src/topology/hints';
import type { ReportInterface } from '../../src/fleet/model/report';
import type { FleetModel, HostRecord } from '../../src/fleet/model/types';
import { iface, record, report, T0 } from '../helpers/fleet-reports';
import { prng } from '../helpers/prng';

const HINTS = ['on_remote_network', 'routable_to', 'same_local_fabric_as', 'rx_own_beacon_on_other_interface', 'rx_own_beacon_on_tx_interface'] as const;
const IFNAMES = ['eth0', 'eth1', 'eth2', 'eth3'];

interface Host {
  name: string;
  interfaces: ReportInterface[];
  hints: TopologyHint[];
  receivedAtMs: number;
}

function sorted(m: ReadonlyMap<string, unknown>): Array<[string, unknown]> {
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function same(a: FleetModel, b: FleetModel): boolean {
  return (
    topologyJson(a.topology).equals(Buffer.from(JSON.stringify(b.topology))) &&
    JSON.stringify(sorted(a.derived.fabrics)) === JSON.stringify(sorted(b.derived.fabrics)) &&
    JSON.stringify(sorted(a.derived.placements)) === JSON.stringify(sorted(b.derived.placements)) &&
    JSON.stringify(sorted(a.derived.presence)) === JSON.stringify(sorted(b.derived.presence)) &&
    a.validUntilMs === b.validUntilMs
  );
}

function run(seed: number, steps: number): { incremental: number; mismatches: string[] } {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const macPool = Array.from({ length: 14 }, (_, i) => `52:54:00:00:00:${i.toString(16).padStart(2, '0')}`);
  /** MACs no host ever reports: a MAAS rack, an agent outside the fleet. */
  const unknown = ['02:00:00:00:00:01', '02:00:00:00:00:02'];
  const randomHint = (h: Host): TopologyHint => {
    const kind = pick(HINTS);
    const own = pick(h.interfaces.length ? h.interfaces.map((i) => i.name) : IFNAMES);
    const base: TopologyHint = { hint: kind, ifname: own };
    const vid = r() < 0.25 ? { vid: pick([7, 8]) } : {};
    if (kind === 'same_local_fabric_as' || kind === 'rx_own_beacon_on_other_interface' || kind === 'rx_own_beacon_on_tx_interface') {
      return { ...base, ...vid, related_ifname: pick(IFNAMES), ...(r() < 0.2 ? { related_vid: pick([7, 8]) } : {}) };
    }
    const mac = r() < 0.2 ? pick(unknown) : pick(macPool);
    return { ...base, ...vid, related_mac: mac, ...(r() < 0.8 ? { related_ifname: pick(IFNAMES) } : {}), ...(r() < 0.2 ? { related_vid: pick([7, 8]) } : {}) };
  };
  const randomIface = (name: string): ReportInterface =>
    r() < 0.15
      ? iface(name, pick(macPool), { type: 'vlan', vid: pick([7, 8]) })
      : iface(name, r() < 0.05 ? null : pick(macPool), { vids: r() < 0.3 ? [pick([7, 8])] : [] });
  const hosts: Host[] = [];
  const newHost = (name: string): Host => {
    const h: Host = { name, interfaces: [], hints: [], receivedAtMs: T0 };
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) h.interfaces.push(randomIface(IFNAMES[i]!));
    for (let i = 0; i < Math.floor(r() * 6); i++) h.hints.push(randomHint(h));
    return h;
  };
  for (let i = 0; i < 7; i++) hosts.push(newHost(`rack${i}`));
  let now = T0;
  let seq = 1;
  const records = (): HostRecord[] => hosts.map((h) => record(report(h.name, h.interfaces, h.hints, { seq, period_seconds: 30 }), h.receivedAtMs, T0));

  const b = new FleetModelBuilder();
  let names: ReadonlyMap<string, string> = new Map();
  let incremental = 0;
  const mismatches: string[] = [];
  for (let step = 0; step < steps; step++) {
    seq++;
    now += 5_000;
    const what = Math.floor(r() * 9);
    const h = pick(hosts);
    let change: string;
    if (what === 0 || what === 1) {
      h.hints = [...h.hints, randomHint(h)];
      change = `add a hint to ${h.name}`;
    } else if (what === 2 && h.hints.length) {
      const i = Math.floor(r() * h.hints.length);
      h.hints = h.hints.filter((_, j) => j !== i);
      change = `remove a hint of ${h.name}`;
    } else if (what === 3 && h.interfaces.length) {
      // An interface's MAC moves to another host (a NIC moved, a VM migrated).
      const other = pick(hosts);
      const i = Math.floor(r() * h.interfaces.length);
      const moved = h.interfaces[i]!;
      h.interfaces = h.interfaces.filter((_, j) => j !== i);
      const name = IFNAMES.find((n) => !other.interfaces.some((x) => x.name === n));
      if (name) other.interfaces = [...other.interfaces, { ...moved, name }];
      change = `move ${moved.mac} from ${h.name} to ${other.name}`;
    } else if (what === 4) {
      // A duplicate MAC: an interface takes a MAC another host reports.
      const other = pick(hosts);
      const theirs = other.interfaces.find((i) => i.mac !== null);
      if (theirs && h.interfaces.length) {
        const i = Math.floor(r() * h.interfaces.length);
        h.interfaces = h.interfaces.map((x, j) => (j === i ? { ...x, mac: theirs.mac } : x));
      }
      change = `duplicate a MAC on ${h.name}`;
    } else if (what === 5) {
      h.hints = [...h.hints, { hint: 'on_remote_network', ifname: pick(IFNAMES), related_mac: pick(unknown), related_ifname: pick(IFNAMES) }];
      change = `${h.name} hears an unknown MAC`;
    } else if (what === 6) {
      // Hosts report (or not): some go stale, some come back.
      for (const x of hosts) if (r() < 0.7) x.receivedAtMs = now;
      now += r() < 0.3 ? 100_000 : 0;
      change = 'time passes';
    } else if (what === 7 && hosts.length > 2 && r() < 0.5) {
      hosts.splice(hosts.indexOf(h), 1);
      change = `${h.name} goes away`;
    } else if (what === 7) {
      const name = `rack${hosts.length + step}`;
      hosts.push(newHost(name));
      change = `${name} joins`;
    } else {
      const i = Math.floor(r() * IFNAMES.length);
      const name = IFNAMES[i]!;
      h.interfaces = h.interfaces.some((x) => x.name === name) ? h.interfaces.filter((x) => x.name !== name) : [...h.interfaces, randomIface(name)];
      change = `toggle ${h.name}/${name}`;
    }
    h.receivedAtMs = now;
    const input: ModelInput = { hosts: records(), names, nowMs: now };
    const got = b.build(input);
    if (b.lastKind === 'incremental') incremental++;
    const want = buildFleetModel(input);
    if (!same(got, want)) mismatches.push(`seed ${seed} step ${step} (${b.lastKind}): ${change}`);
    // The service names the next model from this one's names once stored; until
    // then from the older ones, and another server may have stored others.
    const roll = r();
    if (roll < 0.5) names = got.derived.fabrics;
    // Read back from the database: the same names in another map.
    else if (roll < 0.6) names = new Map(got.derived.fabrics);
    else if (roll < 0.75) names = new Map([...got.derived.fabrics].map(([k, v]) => [k, r() < 0.3 ? `fabric-${Math.floor(r() * 6)}` : v]));
  }
  return { incremental, mismatches };
}

t.test('random sequences of report changes: the incremental model is the full one', (t) => {
  let incremental = 0;
  let steps = 0;
  const mismatches: string[] = [];
  for (let seed = 1; seed <= 60; seed++) {
    const res = run(seed, 60);
    incremental += res.incremental;
    steps += 60;
    mismatches.push(...res.mismatches);
  }
  t.same(mismatches.slice(0, 10), [], 'no step differs from buildFleetModel');
  t.ok(incremental > steps / 2, `most steps are computed incrementally (${incremental} of ${steps})`);
  t.end();
});

t.test('names other than the last model own (another server stored them) rename the fabrics as a full computation does', (t) => {
  const b = new FleetModelBuilder();
  const hosts = [record(report('a', [iface('eth0', '52:54:00:00:00:01')]), T0)];
  b.build({ hosts, names: new Map(), nowMs: T0 });
  const next = [record(report('a', [iface('eth0', '52:54:00:00:00:01'), iface('eth1', '52:54:00:00:00:02')]), T0)];
  const m = b.build({ hosts: next, names: new Map([['a\u0000eth0', 'fabric-7']]), nowMs: T0 });
  t.equal(b.lastKind, 'incremental');
  t.equal(m.topology.fabrics[0]!.name, 'fabric-7', 'the stored name is taken');
  t.ok(
    topologyJson(m.topology).equals(
      Buffer.from(JSON.stringify(buildFleetModel({ hosts: next, names: new Map([['a\u0000eth0', 'fabric-7']]), nowMs: T0 }).topology)),
    ),
  );
  t.end();
});
