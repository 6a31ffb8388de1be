/**
 * The driver of `netbeacon vlans`: one tagged solicitation per VID (802.1Q,
 * inside an 802.1ad tag with --outer-vid) to the IPv4 beacon group, sent
 * raw and paced, then a wait for the answers. Each probe carries
 * `vlan_probe`, so a netbeacon peer that hears it on a VLAN it has no
 * interface for answers raw with the same tags; a MAAS rack answers by
 * dgram, untagged, which still shows the VLAN reached it (and is listed as
 * a reply whose tag differs).
 *
 * Bounded: at most one frame per VID (4094 at most), at `rate` frames a
 * second (default 200), in bursts of a tenth of a second.
 */
import type { HostInterface } from '../topology/interfaces';
import { vlanStack } from '../protocol/frame-build';
import { Pacer } from './pace';
import { buildProbeFrame } from './probe-frame';
import { sleep, type ProbeSession } from './session';
import { VlanCollector, type VlanReport } from './vlan-report';

export interface VlanRunOptions {
  readonly vids: readonly number[];
  readonly outerVid?: number;
  /** Frames per second. */
  readonly rate: number;
  /** How long to listen after the last frame (ms). */
  readonly waitMs: number;
}

export async function runVlans(s: ProbeSession, iface: HostInterface, o: VlanRunOptions): Promise<VlanReport> {
  const collector = new VlanCollector(iface.name, o.outerVid);
  const stop = s.onRecord((r) => collector.add(r));
  const pacer = new Pacer(o.rate, Date.now(), o.vids.length);
  try {
    let next = 0;
    while (next < o.vids.length) {
      // A whole burst per send: each raw send call costs ~10 ms whatever it carries.
      const wait = pacer.waitMs(Date.now(), o.vids.length - next);
      // Always yield, even when nothing to wait for: the capture's batches
      // (the answers) are delivered on this thread, and a ring whose blocks
      // are not handed back freezes and drops.
      await sleep(wait);
      const n = pacer.grant(o.vids.length - next, Date.now());
      const frames: Buffer[] = [];
      for (const vid of o.vids.slice(next, next + n)) {
        const extra = { vlan_probe: o.outerVid === undefined ? { vid } : { vid, outer_vid: o.outerVid } };
        const p = buildProbeFrame(s.key.objects, { iface, tags: vlanStack(vid, o.outerVid), vid, extra, nowMs: Date.now() });
        collector.noteSent(p.ulid, vid);
        frames.push(p.frame);
      }
      if (frames.length) s.raw!.sendBatch(iface.name, frames);
      next += n;
    }
    await sleep(o.waitMs);
  } finally {
    stop();
  }
  return collector.report();
}
