import t from 'tap';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { HintSet, formatHintsJson, hintKey, makeHint, sortHints, type TopologyHint } from '../../src/topology/hints';
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

t.test('HintSet dedupes, sorts and refuses past its bound', async (t) => {
  const set = new HintSet(2);
  const a: TopologyHint = { ifname: 'eth1', hint: 'same_local_fabric_as', related_ifname: 'eth0' };
  const b: TopologyHint = { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1' };
  const c: TopologyHint = { ifname: 'eth2', hint: 'routable_to' };
  t.ok(set.add(a));
  t.notOk(set.add({ ...a }), 'equal by value');
  t.ok(set.add(b));
  t.notOk(set.add(c), 'full: refused');
  t.notOk(set.add(c));
  t.equal(set.size, 2);
  t.equal(set.refused, 2);
  t.same(set.values(), [b, a]);
  const unbounded = new HintSet();
  for (let i = 0; i < 100; i++) unbounded.add({ ifname: `e${i}`, hint: 'routable_to' });
  t.equal(unbounded.size, 100);
});

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass']);
    return true;
  } catch {
    return false;
  }
}
