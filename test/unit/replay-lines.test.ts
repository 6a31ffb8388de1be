/**
 * LineSplitter, which cuts a journal's bytes into lines for replay: against
 * readline's rule (LF, CRLF or a lone CR ends a line) applied to the whole
 * text, whatever the buffers' cuts, with buffers reused after each push as
 * the plain-file reader reuses its one.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LineSplitter, replayJournalFile } from '../../src/cli/journal-file';
import { vector } from '../helpers/corpus';
import { prng } from '../helpers/prng';

/** The lines of `text` by readline's rule; a last line without its end counts, an empty tail does not. */
function expected(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Splits `bytes` cut at random places, each piece copied into one reused buffer that is scribbled over after the push. */
function split(bytes: Buffer, rand: () => number, maxPiece: number): string[] {
  const out: string[] = [];
  const lines = new LineSplitter((line) => out.push(line));
  const reused = Buffer.alloc(maxPiece);
  for (let at = 0; at < bytes.length;) {
    const n = Math.min(bytes.length - at, 1 + Math.floor(rand() * maxPiece));
    bytes.copy(reused, 0, at, at + n);
    lines.push(reused.subarray(0, n));
    reused.fill(0x41);
    at += n;
  }
  lines.end();
  return out;
}

t.test('lines by LF, CRLF and lone CR, UTF-8 whole, wherever the buffers are cut and however they are reused', async (t) => {
  const rand = prng(15);
  const pieces = ['{"a": 1}', '', 'ens3ü€', 'x', '{"b": "\u2028"}', '  '];
  const ends = ['\n', '\r\n', '\r', '\n\n', '\r\r\n'];
  for (let round = 0; round < 200; round++) {
    let text = '';
    const count = Math.floor(rand() * 12);
    for (let i = 0; i < count; i++) text += pieces[Math.floor(rand() * pieces.length)]! + ends[Math.floor(rand() * ends.length)]!;
    if (rand() < 0.3) text += pieces[Math.floor(rand() * pieces.length)]!; // no end on the last line
    const bytes = Buffer.from(text, 'utf8');
    const want = expected(text);
    for (const maxPiece of [1, 2, 3, 7, 64]) {
      const got = split(bytes, rand, maxPiece);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.same(got, want, `${JSON.stringify(text)} in pieces of at most ${maxPiece}`);
        return;
      }
    }
  }
  t.pass('200 texts, each in pieces of at most 1, 2, 3, 7 and 64 bytes');
  t.same(split(Buffer.alloc(0), rand, 4), [], 'no bytes, no lines');
});

t.test('a plain file read in 1 MiB pieces gives the lines a stream gives', async (t) => {
  // Over 1 MiB, CRLF line ends, so that lines and CRLFs straddle the reads.
  const lines = readFileSync(vector('journal.jsonl'), 'utf8').trimEnd().split('\n');
  let text = '';
  while (text.length < 2.5 * 1024 * 1024) text += lines.join('\r\n') + '\r\n';
  const dir = t.testdir({});
  const file = join(dir, 'big.jsonl');
  writeFileSync(file, text);
  const fromFile = await replayJournalFile(file);
  const fromStream = await replayJournalFile('-', { stdin: Readable.from([Buffer.from(text)]) });
  t.equal(fromFile.error, undefined);
  t.same(fromFile.replay.summary(), fromStream.replay.summary());
  t.same(fromFile.replay.hints(), fromStream.replay.hints());
  t.ok(fromFile.replay.summary().received > 1000);
});
