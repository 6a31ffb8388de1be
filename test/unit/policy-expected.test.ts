/** The expected-topology file: the format, and every mistake reported with its key path. */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../../src/errors';
import { declarations, parseExpected, readExpected } from '../../src/policy/expected';
import { describe, formatPath, parseJson } from '../../src/policy/validate';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'policy', 'expected.yaml');

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts `text` is refused with exactly `message` (after "x.yaml: "), as a usage error. */
function refuses(t: Test, text: string, message: string): void {
  const err = thrown(() => parseExpected(text, 'x.yaml'));
  t.type(err, UsageError, message);
  t.match(err, { code: 'E_EXPECTED_FORMAT', exitCode: 2 });
  t.equal((err as Error | undefined)?.message, `x.yaml: ${message}`);
}

t.test('the fixture parses into the documented structure', async (t) => {
  const e = parseExpected(readFileSync(FIXTURE, 'utf8'), FIXTURE);
  t.same(e, {
    fabrics: [
      {
        name: 'mgmt',
        interfaces: [
          { ifname: 'eth0', vlans: { untagged: true, vids: [42] } },
          { ifname: 'eth1', vlans: { untagged: true, vids: [] } },
        ],
      },
      { name: 'storage', interfaces: [{ ifname: 'eth2' }] },
    ],
    alone: [{ ifname: 'eth3' }],
  });
  t.same(
    [...declarations(e).entries()],
    [
      ['eth0', { ifname: 'eth0', vlans: { untagged: true, vids: [42] }, fabric: 'mgmt' }],
      ['eth1', { ifname: 'eth1', vlans: { untagged: true, vids: [] }, fabric: 'mgmt' }],
      ['eth2', { ifname: 'eth2', fabric: 'storage' }],
      ['eth3', { ifname: 'eth3' }],
    ],
  );
});

t.test('the example from the issue, ranges, null entries and defaults', async (t) => {
  const e = parseExpected(
    [
      'fabrics:',
      '  mgmt:',
      '    interfaces:',
      '      eth0: { untagged: true, vids: [10, 20] }',
      '  storage:',
      '    interfaces: [eth2, eth3]',
      'alone: [eth4]',
    ].join('\n'),
    'x.yaml',
  );
  t.same(e.fabrics[0], { name: 'mgmt', interfaces: [{ ifname: 'eth0', vlans: { untagged: true, vids: [10, 20] } }] });
  t.same(e.alone, [{ ifname: 'eth4' }]);
  const r = parseExpected(
    'fabrics:\n  trunk:\n    interfaces:\n      bond0: { untagged: false, vids: [30, "100-102", 101, 5] }\n      eth9:\nalone:\n  eth4: {}\n',
    'x.yaml',
  );
  t.same(r.fabrics[0]!.interfaces, [{ ifname: 'bond0', vlans: { untagged: false, vids: [5, 30, 100, 101, 102] } }, { ifname: 'eth9' }]);
  t.same(r.alone, [{ ifname: 'eth4', vlans: { untagged: true, vids: [] } }]);
  t.same(parseExpected('alone: [eth4]', 'x').fabrics, [], 'fabrics may be left out');
  t.same(parseExpected('version: 1\nfabrics: {}', 'x'), { fabrics: [], alone: [] });
});

t.test('every mistake names the file and the key path', async (t) => {
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: [10, "x"] }\n',
    'fabrics.mgmt.interfaces.eth0.vids[1]: must be an integer 1-4094, got "x"',
  );
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: [0] }\n', 'fabrics.mgmt.interfaces.eth0.vids[0]: must be an integer 1-4094, got 0');
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: [4095] }\n', 'fabrics.mgmt.interfaces.eth0.vids[0]: must be an integer 1-4094, got 4095');
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: [1.5] }\n', 'fabrics.mgmt.interfaces.eth0.vids[0]: must be an integer 1-4094, got 1.5');
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: ["20-10"] }\n',
    'fabrics.mgmt.interfaces.eth0.vids[0]: must be a range "A-B" with 1 <= A <= B <= 4094, got "20-10"',
  );
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: ["0-10"] }\n',
    'fabrics.mgmt.interfaces.eth0.vids[0]: must be a range "A-B" with 1 <= A <= B <= 4094, got "0-10"',
  );
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: ["1-5000"] }\n',
    'fabrics.mgmt.interfaces.eth0.vids[0]: must be a range "A-B" with 1 <= A <= B <= 4094, got "1-5000"',
  );
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: 10 }\n', 'fabrics.mgmt.interfaces.eth0.vids: must be a list, got 10');
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { untagged: yes }\n', 'fabrics.mgmt.interfaces.eth0.untagged: must be true or false, got "yes"');
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { tagged: [1] }\n',
    'fabrics.mgmt.interfaces.eth0.tagged: unknown key (expected "untagged", "vids")',
  );
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: 10\n', 'fabrics.mgmt.interfaces.eth0: must be a mapping, got 10');
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces: eth0\n',
    'fabrics.mgmt.interfaces: must be a list of interface names or a mapping of interface name to VLANs, got "eth0"',
  );
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces: []\n', 'fabrics.mgmt.interfaces: must name at least one interface');
  refuses(t, 'fabrics:\n  mgmt: {}\n', 'fabrics.mgmt.interfaces: is required');
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces: [eth0]\n    vlan: 3\n', 'fabrics.mgmt.vlan: unknown key (expected "interfaces")');
  refuses(t, 'fabrics:\n  mgmt: [eth0]\n', 'fabrics.mgmt: must be a mapping, got a list');
  refuses(t, 'fabrics:\n  "my fabric":\n    interfaces: [eth0, 7]\n', 'fabrics["my fabric"].interfaces[1]: must be a non-empty string, got 7');
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces: ["eth0 "]\n',
    'fabrics.mgmt.interfaces[0]: must be an interface name (1-15 bytes, no "/" or whitespace), got "eth0 "',
  );
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces: [a-very-long-interface-name]\n',
    'fabrics.mgmt.interfaces[0]: must be an interface name (1-15 bytes, no "/" or whitespace), got "a-very-long-interface-name"',
  );
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces: [".."]\n',
    'fabrics.mgmt.interfaces[0]: must be an interface name (1-15 bytes, no "/" or whitespace), got ".."',
  );
  refuses(
    t,
    'fabrics:\n  mgmt:\n    interfaces: [eth0]\n  storage:\n    interfaces: [eth1, eth0]\n',
    'fabrics.storage.interfaces[1]: eth0 is already declared at fabrics.mgmt.interfaces[0]',
  );
  refuses(t, 'fabrics:\n  mgmt:\n    interfaces: { eth0: {} }\nalone: [eth0]\n', 'alone[0]: eth0 is already declared at fabrics.mgmt.interfaces.eth0');
  refuses(t, 'fabric:\n  mgmt: {}\n', 'fabric: unknown key (expected "version", "fabrics", "alone")');
  refuses(t, 'version: 2\nalone: [eth0]\n', 'version: must be 1, got 2');
  refuses(t, 'version: 1\n', '(top level): declare at least one of "fabrics", "alone"');
  refuses(t, '[eth0]\n', '(top level): must be a mapping, got a list');
  refuses(t, 'fabrics: [mgmt]\n', 'fabrics: must be a mapping, got a list');
  refuses(t, 'alone: eth0\n', 'alone: must be a list of interface names or a mapping of interface name to VLANs, got "eth0"');
  refuses(t, '# nothing\n', 'is empty; declare at least one of "fabrics", "alone"');
});

t.test('YAML syntax errors and duplicate keys name the line and column', async (t) => {
  const dup = thrown(() => parseExpected('alone: [eth0]\nalone: [eth1]\n', 'x.yaml'));
  t.type(dup, UsageError);
  t.equal((dup as Error).message, 'x.yaml:2:1: not valid YAML: Map keys must be unique');
  const bad = thrown(() => parseExpected('fabrics:\n  mgmt: {a: 1}}\n', 'x.yaml')) as Error;
  t.match(bad.message, /^x\.yaml:2:15: not valid YAML: /);
  const alias = thrown(() => parseExpected(`a: &a [x]\nb: [${Array(200).fill('*a').join(', ')}]\n`, 'x.yaml')) as Error;
  t.type(alias, UsageError, 'an alias bomb is a usage error, not a crash');
  t.match(alias.message, /^x\.yaml: not valid YAML: .*alias/i);
});

t.test('readExpected takes an already-parsed value (a JSON file, say)', async (t) => {
  const src = { name: 'x.json', code: 'E_X' };
  t.same(readExpected(src, parseJson(src, '{"alone": {"eth0": null}}')), { fabrics: [], alone: [{ ifname: 'eth0' }] });
  const err = thrown(() => parseJson(src, '{nope')) as UsageError;
  t.equal(err.code, 'E_X');
  t.match(err.message, /^x\.json: not valid JSON: /);
});

t.test('formatPath and describe', async (t) => {
  t.equal(formatPath([]), '(top level)');
  t.equal(formatPath(['a', 'b-c', 0, 'd e', 'x_1']), 'a.b-c[0]["d e"].x_1');
  t.equal(formatPath([0, 'a']), '[0].a');
  t.equal(describe(undefined), 'nothing');
  t.equal(describe('x'.repeat(100)), `"${'x'.repeat(56)}...`);
  t.equal(describe(null), 'null');
});
