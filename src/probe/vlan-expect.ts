/**
 * The expect file of `netbeacon vlans --expect FILE`: which VLANs should
 * reach which peer from the probed interface. YAML (JSON is YAML too):
 *
 *   version: 1                  # optional; the only version there is
 *   interface: eth0             # optional; when given, must be the --interface
 *   peers:
 *     "52:54:00:0a:00:02": [10, 20, "30-40"]   # the peer interface's MAC: its VIDs
 *     "52:54:00:0a:00:03": "10,20"            # or the same as one string
 *     "52:54:00:0a:00:04": []                 # must answer on none of the probed VIDs
 *
 * A peer is named by the MAC of the interface its answers come from (the
 * `mac` column of `netbeacon vlans`). Mistakes are usage errors (exit 2)
 * naming the file and the key path, e.g.
 * `vlans.yaml: peers["52:54:00:0a:00:02"][2]: "40-30" is a range whose start is above its end`.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors';
import { describeFsError } from '../errors';
import { fail, failGot, ifname, isMapping, mapping, parseYaml, type KeyPath, type Source } from '../policy/validate';
import type { VlanExpect } from './vlan-report';
import { parseVidList, vidItemProblem } from './vids';

export const VLAN_EXPECT_ERROR = 'E_VLAN_EXPECT';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function readVlanExpectFile(file: string): VlanExpect {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(VLAN_EXPECT_ERROR, `expect file ${file} ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
  return parseVlanExpect(text, file);
}

export function parseVlanExpect(text: string, file: string): VlanExpect {
  const src: Source = { name: file, code: VLAN_EXPECT_ERROR };
  const value = parseYaml(src, text);
  if (value === null || value === undefined) throw new UsageError(VLAN_EXPECT_ERROR, `${file}: is empty; it needs a "peers" mapping`);
  const top = mapping(src, value, [], ['version', 'interface', 'peers'], ['peers']);
  if (top.version !== undefined && top.version !== 1) failGot(src, ['version'], 'must be 1', top.version);
  const iface = top.interface === undefined ? undefined : ifname(src, top.interface, ['interface']);
  if (!isMapping(top.peers)) failGot(src, ['peers'], 'must be a mapping of peer MAC to VIDs', top.peers);
  const peers = new Map<string, number[]>();
  for (const [key, body] of Object.entries(top.peers)) {
    const at: KeyPath = ['peers', key];
    if (!MAC.test(key)) fail(src, at, `"${key}" is not a MAC address like 52:54:00:0a:00:01 (quote it in YAML)`);
    const mac = key.toLowerCase();
    if (peers.has(mac)) fail(src, at, `${mac} is listed twice (MACs are compared without regard to case)`);
    peers.set(mac, readVids(src, body, at));
  }
  return { file, ...(iface !== undefined ? { interface: iface } : {}), peers };
}

function readVids(src: Source, v: unknown, path: KeyPath): number[] {
  if (typeof v === 'string') {
    try {
      return v.trim() === '' ? [] : parseVidList(v);
    } catch (err) {
      return fail(src, path, (err as Error).message);
    }
  }
  if (!Array.isArray(v)) return failGot(src, path, 'must be a list of VIDs and "A-B" ranges, or a string like "10,20,30-40"', v);
  const out = new Set<number>();
  v.forEach((item, i) => {
    const text = typeof item === 'number' && Number.isInteger(item) ? String(item) : typeof item === 'string' ? item : undefined;
    if (text === undefined) return failGot(src, [...path, i], 'must be a VID (1-4094) or a range "A-B"', item);
    const problem = vidItemProblem(text);
    if (problem) fail(src, [...path, i], problem);
    for (const vid of parseVidList(text)) out.add(vid);
  });
  return [...out].sort((a, b) => a - b);
}
