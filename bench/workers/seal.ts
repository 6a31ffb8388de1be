/**
 * The seal case's worker: one 128-interface multicast round of v2 beacons
 * (an IPv4 and an IPv6 beacon per interface, payloads as the sender builds
 * them), sealed as one batch by each engine in turn, rounds interleaved so
 * that both see the same machine, for about --seconds. The BSON is made
 * once: both engines are handed the same documents. Prints, per engine,
 * {"beaconsPerSecond", "cpuUsPerBeacon", "beacons"}.
 */
import { createSealer } from '../../src/engine/sealer';
import type { EngineName } from '../../src/engine/types';
import { beaconBson, newUlid, type SealItem } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { BEACON_TYPES } from '../../src/protocol/header';
import { readInputs } from '../lib/inputs';
import { answer, flag, numberFlag, workerMain } from '../lib/worker-args';

const INTERFACES = 128;

workerMain(() => {
  const keys = keyObjects(readInputs(flag('--inputs')).key);
  const now = Date.now();
  const items: SealItem[] = [];
  for (let i = 0; i < INTERFACES; i++)
    for (const subnet of [`10.${i >> 8}.${i & 255}.0/24`, `fd00:${i.toString(16)}::/64`]) {
      const remote = {
        type: 'physical',
        mac_address: `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        parents: [],
        name: `nb${i}`,
        subnet,
      };
      items.push({ bson: beaconBson('solicitation', { remote }, newUlid(now)), type: BEACON_TYPES.solicitation, timeSeconds: now / 1000 });
    }
  const engines: EngineName[] = ['native', 'js'];
  const sealers = engines.map((e) => createSealer(e));
  const spent = engines.map(() => ({ wallNs: 0, cpuUs: 0, beacons: 0 }));
  const round = (k: number) => {
    const cpu = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    sealers[k]!.sealV2(keys, items);
    const wall = Number(process.hrtime.bigint() - t0);
    const used = process.cpuUsage(cpu);
    return { wall, cpu: used.user + used.system };
  };
  const warmupEnd = Date.now() + numberFlag('--warmup') * 1000;
  while (Date.now() < warmupEnd) for (let k = 0; k < engines.length; k++) round(k);
  const end = Date.now() + numberFlag('--seconds') * 1000;
  while (Date.now() < end)
    for (let k = 0; k < engines.length; k++) {
      const r = round(k);
      spent[k]!.wallNs += r.wall;
      spent[k]!.cpuUs += r.cpu;
      spent[k]!.beacons += items.length;
    }
  answer(
    Object.fromEntries(
      engines.map((e, k) => {
        const s = spent[k]!;
        return [e, { beaconsPerSecond: (s.beacons * 1e9) / s.wallNs, cpuUsPerBeacon: s.cpuUs / s.beacons, beacons: s.beacons }];
      }),
    ),
  );
});
