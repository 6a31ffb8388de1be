/** `netbeacon replay` and `netbeacon topology --journal`: output, help, and how they fail. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describeFsError } from '../../src/errors';
import { replayJournalFile } from '../../src/cli/journal-file';
import { vector } from '../helpers/corpus';
import { runInProcess } from '../helpers/inprocess';

const JOURNAL = vector('journal.jsonl');
const LINES = readFileSync(JOURNAL, 'utf8').trimEnd().split('\n');

t.test('replay --table prints a table and what happened', async (t) => {
  const r = await runInProcess(['replay', '--table', JOURNAL]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^HINT +IFNAME +VID +RELATED_IFNAME +RELATED_VID +RELATED_MAC$/m);
  t.match(r.stdout, /^on_remote_network +eth0 +42 +ens5\.42 +42 +52:54:00:77:00:03$/m);
  t.equal(r.stdout.split('\n').filter((l) => /^(on_remote|routable|rx_own|same_local)/.test(l)).length, 10);
  t.match(r.stdout, /: 1 sent, 7 received \(2 own, 1 duplicate, 3 new, 0 replayed, 1 dropped\); 10 hints; 3 replies would have been sent$/m);
  t.match(r.stdout, /journal\.jsonl:8: dropped 01M7Q5CQK4TDSZ6D8WWC3VB7SS on eth1: protocol version below 2$/m);
});

t.test('a bad line: the hints before it are printed, then the error names file:line (exit 3)', async (t) => {
  const dir = t.testdir({ 'bad.jsonl': [...LINES.slice(0, 3), '', '{"direction": "rx", "oops"', ...LINES.slice(3)].join('\n') + '\n' });
  const file = join(dir, 'bad.jsonl');
  const json = await runInProcess(['replay', file]);
  t.equal(json.code, 3);
  t.same(
    JSON.parse(json.stdout),
    [
      { hint: 'rx_own_beacon_on_other_interface', ifname: 'eth0', related_ifname: 'eth1' },
      { hint: 'rx_own_beacon_on_tx_interface', ifname: 'eth0', related_ifname: 'eth0' },
      { hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth1' },
      { hint: 'same_local_fabric_as', ifname: 'eth1', related_ifname: 'eth0' },
    ],
    'what lines 1-3 imply; the lines after the bad one are not read',
  );
  t.match(json.stderr, new RegExp(`^netbeacon: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: not JSON`));
  const table = await runInProcess(['replay', '--table', file]);
  t.equal(table.code, 3);
  t.match(table.stdout, /1 sent, 2 received/);
});

t.test('a journal that cannot be read (exit 3)', async (t) => {
  const missing = await runInProcess(['replay', '/nonexistent/journal.jsonl']);
  t.equal(missing.code, 3);
  t.equal(missing.stdout, '', 'nothing was read, nothing is printed');
  t.equal(missing.stderr, 'netbeacon: journal /nonexistent/journal.jsonl does not exist\n');
  const dir = t.testdir({});
  const isDir = await runInProcess(['replay', dir]);
  t.equal(isDir.code, 3);
  t.equal(isDir.stdout, '[]\n');
  t.equal(isDir.stderr, `netbeacon: journal ${dir} is a directory\n`);
});

t.test('usage: help, and a missing argument (exit 2)', async (t) => {
  const help = await runInProcess(['replay', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: netbeacon replay \[options\] <journal>/);
  t.match(help.stdout, /--table/);
  t.match(help.stdout, /Exit codes: 0 done, 2 usage error, 3 journal/);
  t.equal((await runInProcess(['replay'])).code, 2);
  t.equal((await runInProcess(['topology', '--help'])).code, 0);
});

t.test('topology --journal prints the fabrics', async (t) => {
  const r = await runInProcess(['topology', '--journal', JOURNAL]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^fabric-0: 3 segments, 2 peer interfaces$/m);
  t.match(r.stdout, /^fabric-1: 1 segment, 1 peer interface$/m);
  t.match(r.stdout, /^ {2}52:54:00:77:00:02 {2}ens4 {7}- {4}eth1 \(routable_to, not joined\)$/m);
  const json = await runInProcess(['topology', '--journal', JOURNAL, '--json']);
  t.equal(json.code, 0);
  const topo = JSON.parse(json.stdout) as { fabrics: Array<{ name: string; segments: unknown[] }> };
  t.same(
    topo.fabrics.map((f) => [f.name, f.segments]),
    [
      ['fabric-0', [{ ifname: 'eth0' }, { ifname: 'eth1' }, { ifname: 'eth2' }]],
      ['fabric-1', [{ ifname: 'eth0', vid: 42 }]],
    ],
  );
  const joined = await runInProcess(['topology', '--journal', JOURNAL, '--json', '--join-routable']);
  t.match(joined.stdout, /"joins": true,\s+"hints": \[\s+\{\s+"ifname": "eth1",\s+"hint": "routable_to"/);
});

t.test('topology with a bad journal fails like replay (exit 3)', async (t) => {
  const dir = t.testdir({ 'bad.jsonl': `${LINES[0]}\n${LINES[1]}\n[]\n` });
  const bad = await runInProcess(['topology', '--journal', join(dir, 'bad.jsonl')]);
  t.equal(bad.code, 3);
  t.match(bad.stdout, /^fabric-0: 2 segments, 0 peer interfaces$/m, 'the fabric from the lines before');
  t.match(bad.stderr, /bad\.jsonl:3: not a JSON object/);
});

t.test('replayJournalFile reads "-" from the stream it is given', async (t) => {
  const stdin = Readable.from([LINES.slice(0, 4).join('\r\n'), '\r\n', '\n', LINES.slice(4).join('\n')]);
  const r = await replayJournalFile('-', { stdin });
  t.equal(r.source, 'stdin');
  t.equal(r.error, undefined);
  t.same(r.replay.hints(), JSON.parse(readFileSync(vector('hints.json'), 'utf8')), 'CRLF and blank lines are fine');
  const bad = await replayJournalFile('-', { stdin: Readable.from(['{}\n']) });
  t.match(bad.error?.message, /^stdin:1: "direction" must be/);
  let reads = 0;
  const broken = new Readable({
    read() {
      if (reads++ === 0) this.push(`${LINES[0]}\n${LINES[1]}\n`);
      else this.destroy(Object.assign(new Error('boom'), { code: 'EIO' }));
    },
  });
  const io = await replayJournalFile('-', { stdin: broken });
  t.equal(io.error?.code, 'E_JOURNAL_IO');
  t.equal(io.error?.message, 'journal stdin cannot be read (EIO) after line 2');
  t.same([io.replay.summary().transmitted, io.replay.summary().received], [1, 1], 'the lines before the failure were replayed');
  t.equal(io.replay.hints().length, 1);
});

t.test('lines end in LF, CRLF or a lone CR, wherever the chunks are cut', async (t) => {
  const text = `${LINES[0]}\r${LINES[1]}\r\n${LINES.slice(2).join('\n')}`;
  const whole = await replayJournalFile('-', { stdin: Readable.from([text]) });
  t.same(whole.replay.hints(), JSON.parse(readFileSync(vector('hints.json'), 'utf8')));
  // One byte at a time: a CRLF split across two chunks is still one line end.
  const bytes = Buffer.from(text);
  const trickle = await replayJournalFile('-', { stdin: Readable.from([...bytes].map((b) => Buffer.from([b]))) });
  t.equal(trickle.error, undefined);
  t.same(trickle.replay.summary().received, whole.replay.summary().received);
  t.same(trickle.replay.hints(), whole.replay.hints());
  // Lines are cut in the bytes: a UTF-8 character split across chunks stays whole.
  const utf8 = Buffer.from(text.replaceAll('ens3', 'ens3ü€'));
  const split = await replayJournalFile('-', { stdin: Readable.from([...utf8].map((b) => Buffer.from([b]))) });
  t.equal(split.error, undefined);
  t.ok(
    split.replay.hints().some((h) => h.related_ifname === 'ens3ü€'),
    'the name decoded whole',
  );
  t.same(split.replay.hints().length, whole.replay.hints().length);
  const empty = await replayJournalFile('-', { stdin: Readable.from([]) });
  t.same([empty.error, empty.replay.summary().received], [undefined, 0], 'an empty journal');
});

t.test('a gzip journal is recognised by its magic, and a broken one is named as such', async (t) => {
  const gz = gzipSync(readFileSync(JOURNAL));
  const dir = t.testdir({ 'j.bin': gz, 'cut.gz': gz.subarray(0, gz.length - 30), 'bad.gz': Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6]) });
  const ok = await runInProcess(['replay', join(dir, 'j.bin')]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, readFileSync(vector('hints.json'), 'utf8'), 'whatever the file is called');
  const cut = await runInProcess(['replay', join(dir, 'cut.gz')]);
  t.equal(cut.code, 3);
  t.match(cut.stderr, /cut\.gz is gzip'd but does not decompress \(unexpected end of file\)/);
  const bad = await runInProcess(['replay', join(dir, 'bad.gz')]);
  t.equal(bad.code, 3);
  t.match(bad.stderr, /bad\.gz is gzip'd but does not decompress/);
  t.equal(bad.stdout, '[]\n');
  // A read error under the decompression is a read error.
  let reads = 0;
  const broken = new Readable({
    read() {
      if (reads++ === 0) this.push(gz.subarray(0, 40));
      else this.destroy(Object.assign(new Error('boom'), { code: 'EIO' }));
    },
  });
  const io = await replayJournalFile('-', { stdin: broken });
  t.equal(io.error?.message, 'journal stdin cannot be read (EIO)');
});

t.test('file errors in words', async (t) => {
  const err = (o: object): NodeJS.ErrnoException => Object.assign(new Error('raw message'), o);
  t.equal(describeFsError(err({ code: 'EACCES' })), 'is not readable (permission denied)');
  t.equal(describeFsError(err({ code: 'EPERM' })), 'is not readable (permission denied)');
  t.equal(describeFsError(err({})), 'cannot be read (raw message)');
});
