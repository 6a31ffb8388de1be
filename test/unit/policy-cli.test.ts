/** `netbeacon check` and `netbeacon place` over journals: output, JSON and exit codes. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInProcess } from '../helpers/inprocess';
import { runCli } from '../helpers/cli';

const FIX = (name: string): string => resolve(__dirname, '..', 'fixtures', 'policy', name);
const REFERENCE_JOURNAL = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas', 'journal.jsonl');

t.test('check: no drift exits 0', async (t) => {
  const r = await runInProcess(['check', '--expected', FIX('expected-clean.yaml'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'no drift: what the beacons show agrees with the declared topology\n');
  const json = await runInProcess(['check', '--expected', FIX('expected-clean.yaml'), '--journal', FIX('journal-clean.jsonl'), '--json']);
  t.equal(json.code, 0);
  t.same(JSON.parse(json.stdout), { ok: true, drift: [], undeclared: [] });
});

t.test('check: drift exits 1 and names each finding with its proof (the reference journal)', async (t) => {
  const r = await runInProcess(['check', '--expected', FIX('expected.yaml'), '--journal', REFERENCE_JOURNAL]);
  t.equal(r.code, 1, r.stderr);
  t.match(
    r.stdout,
    /^3 drift events:\nfabrics_merged: fabrics mgmt and storage are one fabric: eth0, eth1, eth2 are joined\n {4}eth0 -> eth2: same_local_fabric_as x2\n/,
  );
  t.match(r.stdout, /\nloop: eth0: our own beacon came back/);
  const json = await runInProcess(['check', '--expected', FIX('expected.yaml'), '--journal', REFERENCE_JOURNAL, '--json']);
  t.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as { ok: boolean; drift: { kind: string }[] };
  t.equal(report.ok, false);
  t.same(
    report.drift.map((d) => d.kind),
    ['fabrics_merged', 'interface_missing', 'loop'],
  );
});

t.test('check: the real process exits 1 on drift, reading the journal from stdin', async (t) => {
  const r = await runCli(['check', '--expected', FIX('expected.yaml'), '--journal', '-'], { input: readFileSync(REFERENCE_JOURNAL) });
  t.equal(r.status, 1, r.stderr);
  t.match(r.stdout, /^3 drift events:/);
});

t.test('check: usage errors exit 2, a bad journal exits 3 after the report', async (t) => {
  const noJournal = await runInProcess(['check', '--expected', FIX('expected.yaml')]);
  t.equal(noJournal.code, 2);
  t.match(noJournal.stderr, /give --journal FILE/);
  t.equal((await runInProcess(['check', '--journal', FIX('journal-clean.jsonl')])).code, 2, '--expected is required');
  const missing = await runInProcess(['check', '--expected', FIX('nope.yaml'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /expected file .*nope\.yaml does not exist/);
  const dir = await runInProcess(['check', '--expected', FIX(''), '--journal', FIX('journal-clean.jsonl')]);
  t.match(dir.stderr, /is a directory/);
  const under = await runInProcess(['check', '--expected', `${FIX('known.json')}/x`, '--journal', FIX('journal-clean.jsonl')]);
  t.match(under.stderr, /cannot be read \(ENOTDIR\)/);
  const badYaml = await runInProcess(['check', '--expected', FIX('known.json'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(badYaml.code, 2);
  t.match(badYaml.stderr, /known\.json: eth0: unknown key \(expected "version", "fabrics", "alone"\)/);
  const badJournal = await runInProcess(['check', '--expected', FIX('expected-clean.yaml'), '--journal', FIX('expected.yaml')]);
  t.equal(badJournal.code, 3);
  t.match(badJournal.stderr, /expected\.yaml:1: not JSON/);
  t.match(badJournal.stdout, /interface_missing/, 'the report for what was read is still printed');
});

t.test('place: from a known map and from the expected file', async (t) => {
  const r = await runInProcess(['place', '--known', FIX('known.json'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      "eth1: fabric mgmt, untagged VLAN (MAAS's rule agrees)",
      '    eth1 -> eth0: same_local_fabric_as x2',
      'not placed (joined to nothing known): eth2',
      '',
    ].join('\n'),
  );
  const json = await runInProcess(['place', '--known', FIX('known.json'), '--journal', FIX('journal-clean.jsonl'), '--json']);
  const result = JSON.parse(json.stdout) as { placements: { ifname: string; fabric: string; vid: number; rule: string }[]; unplaced: string[] };
  t.match(result.placements, [{ ifname: 'eth1', fabric: 'mgmt', vid: 0, rule: 'maas' }]);
  t.same(result.unplaced, ['eth2']);
  const fromExpected = await runInProcess(['place', '--expected', FIX('expected-clean.yaml'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(fromExpected.code, 0);
  t.equal(fromExpected.stdout, 'nothing to place: every interface seen is known\n');
});

t.test('place: usage errors', async (t) => {
  const both = await runInProcess(['place', '--known', FIX('known.json'), '--expected', FIX('expected.yaml'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(both.code, 2);
  t.match(both.stderr, /exactly one of --known/);
  t.equal((await runInProcess(['place', '--journal', FIX('journal-clean.jsonl')])).code, 2, 'neither');
  t.match((await runInProcess(['place', '--known', FIX('known.json')])).stderr, /give --journal/);
  const missing = await runInProcess(['place', '--known', FIX('nope.json'), '--journal', FIX('journal-clean.jsonl')]);
  t.match(missing.stderr, /known file .*nope\.json does not exist/);
  const notJson = await runInProcess(['place', '--known', FIX('expected.yaml'), '--journal', FIX('journal-clean.jsonl')]);
  t.equal(notJson.code, 2);
  t.match(notJson.stderr, /expected\.yaml: not valid JSON/);
  const badJournal = await runInProcess(['place', '--expected', FIX('expected.yaml'), '--journal', FIX('known.json')]);
  t.equal(badJournal.code, 3);
});
