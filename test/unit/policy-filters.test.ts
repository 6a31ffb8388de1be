/** Receive filters: allow and deny lists of MACs and VIDs, per interface glob. */
import t from 'tap';
import { UsageError } from '../../src/errors';
import { BeaconFilter, globToRegExp, parseFilterRules, parseVidSpec, type FilterDecision, type FilterInput } from '../../src/policy/filters';

const SRC = { name: 'agent.yaml', code: 'E_CONFIG' };
const b = (iface: string, sourceMac: string, vid?: number): FilterInput =>
  vid === undefined ? { interface: iface, sourceMac } : { interface: iface, sourceMac, vid };
const ACCEPT = { kind: 'accept' };
const ruleOf = (d: FilterDecision): string | undefined => (d.kind === 'drop' ? d.rule : undefined);
const reasonOf = (d: FilterDecision): string | undefined => (d.kind === 'drop' ? d.reason : undefined);

t.test('no rules accept everything', async (t) => {
  const f = new BeaconFilter([]);
  t.ok(f.empty);
  t.same(f.check(b('eth0', '52:54:00:00:00:01')), ACCEPT);
});

t.test('MAC allowlist: exact and OUI prefix, case-insensitive', async (t) => {
  const f = new BeaconFilter([{ allowMacs: ['52:54:00:*', 'AA:BB:CC:DD:EE:FF'] }]);
  t.notOk(f.empty);
  t.same(f.check(b('eth0', '52:54:00:12:34:56')), ACCEPT, 'inside the OUI');
  t.same(f.check(b('eth0', '52:54:01:12:34:56')), { kind: 'drop', rule: 'filters[0].allow_macs', reason: 'mac-not-allowed' });
  t.same(f.check(b('eth0', 'aa:bb:cc:dd:ee:ff')), ACCEPT, 'exact, other case');
  t.same(f.check(b('eth0', 'aa:bb:cc:dd:ee:fe')).kind, 'drop');
  t.same(f.check(b('eth0', 'not a mac')).kind, 'drop', 'a malformed MAC matches no allow entry');
});

t.test('MAC denylist names the first matching item; prefixes of every length', async (t) => {
  const f = new BeaconFilter([{ denyMacs: ['02:*', '52:54:00:12:34:*', '52:54:00:12:34:56', '52:*'] }]);
  t.same(
    f.check(b('eth0', '52:54:00:12:34:56')),
    { kind: 'drop', rule: 'filters[0].deny_macs[1]', reason: 'mac-denied' },
    'the earliest item wins, not the longest',
  );
  t.same(f.check(b('eth0', '52:55:00:00:00:00')), { kind: 'drop', rule: 'filters[0].deny_macs[3]', reason: 'mac-denied' });
  t.same(ruleOf(f.check(b('eth0', '02:00:00:00:00:01'))), 'filters[0].deny_macs[0]', 'one-octet prefix');
  t.same(f.check(b('eth0', '04:00:00:00:00:01')), ACCEPT);
  t.same(f.check(b('eth0', 'junk')), ACCEPT, 'a malformed MAC matches no deny entry');
  const dup = new BeaconFilter([{ denyMacs: ['52:54:00:*', '52:54:00:*', 'aa:aa:aa:aa:aa:aa', 'AA:AA:AA:AA:AA:AA'] }]);
  t.same(ruleOf(dup.check(b('x', '52:54:00:00:00:01'))), 'filters[0].deny_macs[0]', 'a repeated prefix keeps its first index');
  t.same(ruleOf(dup.check(b('x', 'aa:aa:aa:aa:aa:aa'))), 'filters[0].deny_macs[2]', 'a repeated address keeps its first index');
});

t.test('VID lists: single VIDs, ranges, untagged, VID 0 is a VID', async (t) => {
  const allow = new BeaconFilter([{ allowVids: ['untagged', 10, '100-199'] }]);
  t.same(allow.check(b('eth0', '52:54:00:00:00:01')), ACCEPT, 'untagged listed');
  t.same(allow.check(b('eth0', '52:54:00:00:00:01', 10)), ACCEPT);
  t.same(allow.check(b('eth0', '52:54:00:00:00:01', 100)), ACCEPT, 'range start');
  t.same(allow.check(b('eth0', '52:54:00:00:00:01', 199)), ACCEPT, 'range end');
  t.same(allow.check(b('eth0', '52:54:00:00:00:01', 200)), { kind: 'drop', rule: 'filters[0].allow_vids', reason: 'vid-not-allowed' });
  t.same(allow.check(b('eth0', '52:54:00:00:00:01', 0)).kind, 'drop', 'a priority tag is not untagged');
  t.same(allow.check(b('eth0', '52:54:00:00:00:01', 5000)).kind, 'drop', 'an impossible VID matches nothing');
  const deny = new BeaconFilter([{ denyVids: ['1-5', 3, 4095, 'untagged', 'untagged'] }]);
  t.same(deny.check(b('eth0', 'x', 3)), { kind: 'drop', rule: 'filters[0].deny_vids[0]', reason: 'vid-denied' }, 'first covering item');
  t.same(ruleOf(deny.check(b('eth0', 'x', 4095))), 'filters[0].deny_vids[2]');
  t.same(ruleOf(deny.check(b('eth0', 'x'))), 'filters[0].deny_vids[3]', 'untagged denied, first mention');
  t.same(deny.check(b('eth0', 'x', 6)), ACCEPT);
  const noUntagged = new BeaconFilter([{ denyVids: [7] }]);
  t.same(noUntagged.check(b('eth0', 'x')), ACCEPT, 'untagged is not in a list that does not name it');
});

t.test('interface globs choose the rules; every matching rule applies, in order', async (t) => {
  const f = new BeaconFilter(
    [{ interfaces: ['eth*'], allowVids: ['untagged'] }, { interfaces: ['bond?', 'br-a.b'], denyMacs: ['52:54:00:*'] }, { denyMacs: ['de:ad:be:ef:00:01'] }],
    'policy.filters',
  );
  t.same(f.check(b('eth1', '52:54:00:00:00:01', 7)), { kind: 'drop', rule: 'policy.filters[0].allow_vids', reason: 'vid-not-allowed' });
  t.same(f.check(b('eth1', '52:54:00:00:00:01')), ACCEPT);
  t.same(ruleOf(f.check(b('bond0', '52:54:00:00:00:01', 7))), 'policy.filters[1].deny_macs[0]');
  t.same(f.check(b('bond10', '52:54:00:00:00:01', 7)), ACCEPT, '? is one character');
  t.same(f.check(b('br-a.b', '52:54:00:00:00:01')).kind, 'drop', 'dots are literal');
  t.same(f.check(b('br-aXb', '52:54:00:00:00:01')), ACCEPT);
  t.same(ruleOf(f.check(b('eth1', 'de:ad:be:ef:00:01'))), 'policy.filters[2].deny_macs[0]', 'a rule without interfaces applies everywhere');
  t.same(ruleOf(f.check(b('lo', 'de:ad:be:ef:00:01'))), 'policy.filters[2].deny_macs[0]');
  // Within one rule, MACs are judged before VIDs, denies before allows.
  const both = new BeaconFilter([{ allowMacs: ['52:*'], denyMacs: ['52:54:*'], allowVids: [1], denyVids: [2] }]);
  t.same(reasonOf(both.check(b('e', '52:54:00:00:00:00', 2))), 'mac-denied');
  t.same(reasonOf(both.check(b('e', '53:00:00:00:00:00', 2))), 'mac-not-allowed');
  t.same(reasonOf(both.check(b('e', '52:00:00:00:00:00', 2))), 'vid-denied');
  t.same(reasonOf(both.check(b('e', '52:00:00:00:00:00', 3))), 'vid-not-allowed');
  t.same(both.check(b('e', '52:00:00:00:00:00', 1)), ACCEPT);
});

t.test('the per-interface cache stays bounded and correct', async (t) => {
  const f = new BeaconFilter([{ interfaces: ['keep*'], denyVids: [1] }]);
  for (let i = 0; i < 1100; i++) f.check(b(`veth${i}`, 'x', 1));
  t.same(f.check(b('keep0', 'x', 1)).kind, 'drop');
  t.same(f.check(b('veth5', 'x', 1)), ACCEPT);
});

t.test('globToRegExp escapes everything but * and ?', async (t) => {
  t.ok(globToRegExp('a+b(c)[d]{e}|^$\\').test('a+b(c)[d]{e}|^$\\'));
  t.notOk(globToRegExp('eth*').test('xeth0'));
  t.ok(globToRegExp('*').test(''));
});

t.test('parseVidSpec', async (t) => {
  t.same(parseVidSpec(0), { from: 0, to: 0 });
  t.same(parseVidSpec(' 10 - 20 '), { from: 10, to: 20 });
  t.equal(parseVidSpec('untagged'), 'untagged');
  t.match(parseVidSpec('20-10'), /range "A-B" with 0 <= A <= B <= 4095, got "20-10"/);
  t.match(parseVidSpec('1-4096'), /range/);
  t.match(parseVidSpec(4096), /must be a VID 0-4095, a range "A-B" or untagged, got 4096/);
  t.match(parseVidSpec(1.5), /got 1.5/);
  t.match(parseVidSpec('x'), /got "x"/);
});

t.test('bad patterns given in code throw RangeError naming the item', async (t) => {
  t.throws(
    () => new BeaconFilter([{ allowMacs: ['52:54:00'] }]),
    new RangeError('filters[0].allow_macs[0]: must be a MAC like "52:54:00:12:34:56" or a prefix like "52:54:00:*", got "52:54:00"'),
  );
  t.throws(() => new BeaconFilter([{}, { denyVids: ['x'] }]), { message: /^filters\[1\]\.deny_vids\[0\]: must be a VID/ });
});

t.test('parseFilterRules reads the config form', async (t) => {
  const rules = parseFilterRules(SRC, [
    { interfaces: ['eth*'], allow_macs: ['52:54:00:*'], deny_macs: ['52:54:00:00:00:09'], allow_vids: ['untagged', 10, '100-110'], deny_vids: [105] },
    { deny_vids: [] },
  ]);
  t.same(rules, [
    { interfaces: ['eth*'], allowMacs: ['52:54:00:*'], denyMacs: ['52:54:00:00:00:09'], allowVids: ['untagged', 10, '100-110'], denyVids: [105] },
    { denyVids: [] },
  ]);
  const f = new BeaconFilter(rules);
  t.same(ruleOf(f.check(b('eth0', '52:54:00:00:00:01', 105))), 'filters[0].deny_vids[0]');
});

t.test('parseFilterRules: every mistake is a usage error with its key path', async (t) => {
  const bad = (value: unknown, message: string, path?: (string | number)[]): void => {
    let err: unknown;
    try {
      parseFilterRules(SRC, value, path);
    } catch (e) {
      err = e;
    }
    t.type(err, UsageError, message);
    t.match(err, { code: 'E_CONFIG', exitCode: 2 });
    t.equal((err as Error | undefined)?.message, message);
  };
  bad({}, 'agent.yaml: filters: must be a list, got a mapping');
  bad([1], 'agent.yaml: filters[0]: must be a mapping, got 1');
  bad([{ allow_mac: [] }], 'agent.yaml: filters[0].allow_mac: unknown key (expected "interfaces", "allow_macs", "deny_macs", "allow_vids", "deny_vids")');
  bad([{ interfaces: ['eth0'] }], 'agent.yaml: filters[0]: a rule needs at least one of allow_macs, deny_macs, allow_vids, deny_vids');
  bad(
    [{ interfaces: [], deny_vids: [1] }],
    'agent.yaml: filters[0].interfaces: is empty, so the rule would apply nowhere; leave the key out for every interface',
  );
  bad([{ interfaces: 'eth0', deny_vids: [1] }], 'agent.yaml: filters[0].interfaces: must be a list, got "eth0"');
  bad([{ interfaces: [''], deny_vids: [1] }], 'agent.yaml: filters[0].interfaces[0]: must be a non-empty string, got ""');
  bad([{ allow_macs: [] }], 'agent.yaml: filters[0].allow_macs: is empty, which would drop everything; leave the key out instead');
  bad([{ allow_vids: [] }], 'agent.yaml: filters[0].allow_vids: is empty, which would drop everything; leave the key out instead');
  bad([{ allow_macs: ['52:54:00:*', 42] }], 'agent.yaml: filters[0].allow_macs[1]: must be a non-empty string, got 42');
  bad(
    [{ deny_macs: ['52:54:0*'] }],
    'agent.yaml: filters[0].deny_macs[0]: must be a MAC like "52:54:00:12:34:56" or a prefix like "52:54:00:*", got "52:54:0*"',
  );
  bad([{ deny_macs: [null] }], 'agent.yaml: filters[0].deny_macs[0]: must be a MAC like "52:54:00:12:34:56" or a prefix like "52:54:00:*", got null');
  bad([{ deny_vids: [1, 'x'] }], 'agent.yaml: filters[0].deny_vids[1]: must be a VID 0-4095, a range "A-B" or untagged, got "x"');
  bad([{ allow_vids: ['9-3'] }], 'agent.yaml: filters[0].allow_vids[0]: must be a range "A-B" with 0 <= A <= B <= 4095, got "9-3"');
  bad([{ deny_vids: 5 }], 'agent.yaml: filters[0].deny_vids: must be a list, got 5');
  bad([{ deny_vids: 5 }], 'agent.yaml: policy["rx filters"][0].deny_vids: must be a list, got 5', ['policy', 'rx filters']);
});
