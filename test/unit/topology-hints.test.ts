import t from 'tap';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { formatHintsJson, hintKey, makeHint, sortHints, type TopologyHint } from '../../src/topology/hints';
import { HintTable, sortEntries, type HintEntry } from '../../src/topology/hint-table';
import { segment } from '../../src/topology/segment';
import { vector } from '../helpers/corpus';

const REFERENCE = vector('hints.json');

t.test('makeHint leaves out what is absent', async (t) => {
  t.same(makeHint('same_local_fabric_as', segment('eth0'), { ifname: 'eth1' }), { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1' });
  const full = makeHint('on_remote_network', segment('eth0', 0), { ifname: 'ens3', vid: 0, mac: 'aa' });
  t.same(
    full,
    { ifname: 'eth0', vid: 0, hint: 'on_remote_network', related_ifname: 'ens3', related_vid: 0, related_mac: 'aa' },
    'VID 0 is a value, not absence',
  );
  t.same(Object.keys(makeHint('routable_to', segment('x'), {})), ['ifname', 'hint']);
});

t.test('hintKey spells the hint as json.dumps(sort_keys=True) does', async (t) => {
  t.equal(
    hintKey({ ifname: 'eth0', vid: 42, hint: 'on_remote_network', related_ifname: 'ens5.42', related_vid: 42, related_mac: '52:54:00:77:00:03' }),
    '{"hint": "on_remote_network", "ifname": "eth0", "related_ifname": "ens5.42", "related_mac": "52:54:00:77:00:03", "related_vid": 42, "vid": 42}',
  );
  // Escapes as Python's default ensure_ascii: quotes, backslash, controls, DEL and non-ASCII.
  t.equal(
    hintKey({ ifname: 'a"b\\c\n\u0001\u007fé😀', hint: 'routable_to' }),
    '{"hint": "routable_to", "ifname": "a\\"b\\\\c\\n\\u0001\\u007f\\u00e9\\ud83d\\ude00"}',
  );
  t.equal(hintKey({ ifname: '\ud800', hint: 'routable_to' }), '{"hint": "routable_to", "ifname": "\\ud800"}', 'a lone surrogate');
});

t.test('hintKey matches Python byte for byte on awkward names', { skip: hasPython() ? false : 'no python3' }, async (t) => {
  const hints: TopologyHint[] = [
    { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth10' },
    { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1' },
    { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1', related_vid: 5 },
    { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1', related_vid: 42 },
    { ifname: 'eth0', vid: 7, hint: 'same_local_fabric_as', related_ifname: 'eth1' },
    { ifname: 'bré\u007f"x', hint: 'on_remote_network', related_ifname: 'y😀', related_mac: 'm' },
    { ifname: 'Z', hint: 'on_remote_network', related_ifname: 'y' },
  ];
  const script = 'import json,sys\nhs=json.load(sys.stdin)\nprint("\\n".join(sorted(json.dumps(h, sort_keys=True) for h in hs)))';
  const python = execFileSync('python3', ['-c', script], { input: JSON.stringify(hints), encoding: 'utf8' })
    .trimEnd()
    .split('\n');
  t.same(sortHints(hints).map(hintKey), python);
});

t.test('sortHints orders as the reference and drops duplicates', async (t) => {
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as TopologyHint[];
  const shuffled = [...reference].reverse().concat(reference.slice(0, 3).map((h) => ({ ...h })));
  t.same(sortHints(shuffled), reference);
  t.equal(formatHintsJson(shuffled), readFileSync(REFERENCE, 'utf8'), 'printed byte for byte as the reference');
  t.equal(formatHintsJson([]), '[]\n');
});

t.test('HintTable: one entry per distinct hint, sorted as the reference when listed', async (t) => {
  const table = new HintTable(3);
  const eth0 = table.segment('eth0', undefined);
  const eth1 = table.segment('eth1', undefined);
  const a = table.pair('same_local_fabric_as', eth1, eth0)!;
  t.equal(table.pair('same_local_fabric_as', eth1, eth0), a, 'found again from its parts');
  const b = table.pair('same_local_fabric_as', eth0, eth1)!;
  const c = table.remote('routable_to', eth0, 'ens3', 'aa', 7)!;
  t.equal(table.remote('routable_to', eth0, 'ens3', 'aa', 7), c);
  t.equal(table.remote('on_remote_network', eth0, 'ens3', 'aa', 7), undefined, 'full: refused');
  t.equal(table.pair('rx_own_beacon_on_tx_interface', eth0, eth0), undefined);
  t.same([table.size, table.refused], [3, 2]);
  t.same(table.values(), [c.hint, b.hint, a.hint]);
  t.same(c.hint, { ifname: 'eth0', hint: 'routable_to', related_ifname: 'ens3', related_vid: 7, related_mac: 'aa' });
  t.ok(Object.isFrozen(c.hint), 'shared by every reception that supports it: read-only');
  table.remove(b);
  table.remove(b);
  t.equal(table.size, 2, 'removed once');
  t.same(table.values(), [c.hint, a.hint]);
  t.ok(table.pair('rx_own_beacon_on_tx_interface', eth0, eth0), 'room again');
});

t.test('HintTable lists the reference hints in the reference order', async (t) => {
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as TopologyHint[];
  const table = new HintTable();
  for (const h of [...reference].reverse()) {
    const local = table.segment(h.ifname, h.vid);
    if (h.related_mac !== undefined) table.remote(h.hint as 'routable_to', local, h.related_ifname!, h.related_mac, h.related_vid);
    else table.pair(h.hint as 'same_local_fabric_as', local, table.segment(h.related_ifname!, h.related_vid));
  }
  t.same(table.values(), reference);
  t.equal(formatHintsJson(table.values()), readFileSync(REFERENCE, 'utf8'));
});

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass']);
    return true;
  } catch {
    return false;
  }
}

t.test('sortEntries(entries, n) sorts the first n in place and leaves the rest', async (t) => {
  // The correlator's scratch list holds the last reception's entries past n.
  const table = new HintTable();
  const at = table.segment('eth0', undefined);
  const all: HintEntry[] = [];
  for (let i = 0; i < 40; i++) all.push(table.remote('on_remote_network', at, `p${(i * 7) % 40}`, '52:54:00:00:00:01', undefined)!);
  const keys = (es: readonly HintEntry[]): string[] => es.map((e) => hintKey(e.hint));
  for (const n of [0, 1, 2, 3, 16, 17, 39, 40]) {
    const list = all.slice();
    const tail = keys(list.slice(n));
    t.equal(sortEntries(list, n), list, `n = ${n}: in place`);
    t.same(keys(list.slice(0, n)), keys(all.slice(0, n)).sort(), `n = ${n}: the first n sorted`);
    t.same(keys(list.slice(n)), tail, `n = ${n}: the rest untouched`);
  }
  t.same(keys(sortEntries(all.slice())), keys(all).sort(), 'all of them by default');
});
