import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { readCapture, READ_CHUNK_BYTES, type ReadCaptureOptions } from '../../src/capture/file';
import type { CapturedPacket } from '../../src/protocol/packet';
import { CaptureError } from '../../src/errors';
import { writePcap } from '../helpers/pcap-writer';

const VECTORS = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas');
const corpusPcap = readFileSync(resolve(VECTORS, 'corpus.pcap'));
const times = readFileSync(resolve(VECTORS, 'corpus.cases.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { time: number }).time);

interface Run {
  batches: CapturedPacket[][];
  error: unknown;
}

async function collect(path: string, opts?: ReadCaptureOptions): Promise<Run> {
  const batches: CapturedPacket[][] = [];
  try {
    for await (const batch of readCapture(path, opts)) batches.push(batch);
    return { batches, error: undefined };
  } catch (error) {
    return { batches, error };
  }
}

const flat = (run: Run) => run.batches.flat();

/** An async iterable that records whether it was closed. */
function source(chunks: ReadonlyArray<Uint8Array | string>, fail?: unknown): AsyncIterable<Uint8Array | string> & { closed: boolean } {
  const it = {
    closed: false,
    async *[Symbol.asyncIterator]() {
      try {
        for (const c of chunks) yield c;
        // Whatever the stream fails with, Errors or not, is what is under test.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (fail !== undefined) throw fail;
      } finally {
        it.closed = true;
      }
    },
  };
  return it;
}

t.test('a real file', async (t) => {
  const dir = t.testdir({ 'corpus.pcap': corpusPcap });
  const path = join(dir, 'corpus.pcap');

  t.test('read with the default chunk size: one batch', async (t) => {
    t.equal(READ_CHUNK_BYTES, 256 * 1024);
    const run = await collect(path);
    t.equal(run.error, undefined);
    t.equal(run.batches.length, 1);
    t.same(
      flat(run).map((p) => p.time),
      times,
    );
  });

  t.test('small reads: a batch per read that completes packets, nothing lost', async (t) => {
    const run = await collect(path, { chunkBytes: 1000 });
    t.equal(run.error, undefined);
    t.equal(run.batches.length, Math.ceil(corpusPcap.length / 1000));
    t.ok(
      run.batches.every((b) => b.length > 0),
      'no empty batches',
    );
    t.same(
      flat(run).map((p) => p.time),
      times,
    );
    t.same(Buffer.from(flat(run)[3]!.data).toString('hex').slice(24, 36), '8100a02a0800', 'the tagged frame is intact');
  });

  t.test('a consumer that stops early closes the file', async (t) => {
    const run = readCapture(path, { chunkBytes: 500 });
    const first = await run.next();
    t.equal(first.done, false);
    t.same(await run.return(undefined), { done: true, value: undefined });
  });
});

t.test('truncated file: every whole packet is yielded, then E_CAPTURE_TRUNCATED', async (t) => {
  const cut = corpusPcap.length - 10;
  const dir = t.testdir({ 'cut.pcap': corpusPcap.subarray(0, cut) });
  const path = join(dir, 'cut.pcap');
  for (const chunkBytes of [READ_CHUNK_BYTES, 777]) {
    const run = await collect(path, { chunkBytes });
    t.equal(flat(run).length, 23, `${chunkBytes}-byte reads: 23 packets first`);
    t.type(run.error, CaptureError);
    t.match(run.error, {
      code: 'E_CAPTURE_TRUNCATED',
      exitCode: 3,
      message: `capture file ${path}: capture is truncated: 23 whole packet(s) read; record 24 (48 of 58 bytes present) at byte offset ${cut - 48} is cut off`,
    });
  }
});

t.test('a corrupt record: the packets before it, then E_CAPTURE_FORMAT naming the file', async (t) => {
  const bad = Buffer.alloc(16);
  bad.writeUInt32LE(0xffffffff, 8);
  const dir = t.testdir({ 'bad.pcap': Buffer.concat([writePcap([{ time: 5, data: new Uint8Array(60) }]), bad]) });
  const run = await collect(join(dir, 'bad.pcap'));
  t.equal(flat(run).length, 1);
  t.match(run.error, { code: 'E_CAPTURE_FORMAT', message: /^capture file .*bad\.pcap: record 2 at byte offset 100 claims 4294967295 captured bytes/ });
});

t.test('empty file', async (t) => {
  const dir = t.testdir({ 'empty.pcap': '' });
  const run = await collect(join(dir, 'empty.pcap'));
  t.equal(run.batches.length, 0);
  t.match(run.error, { code: 'E_CAPTURE_FORMAT', message: /empty\.pcap: empty capture/ });
});

t.test('open and read failures are E_CAPTURE_IO naming the file and the OS error', async (t) => {
  const dir = t.testdir({ sub: {} });
  const missing = join(dir, 'no-such.pcap');
  const run = await collect(missing);
  t.equal(run.batches.length, 0);
  t.type(run.error, CaptureError);
  t.match(run.error, { code: 'E_CAPTURE_IO', exitCode: 3, message: `cannot read capture file ${missing}: ENOENT: no such file or directory` });
  t.match((await collect(join(dir, 'sub'))).error, { code: 'E_CAPTURE_IO', message: /cannot read capture file .*sub: EISDIR/ });
});

t.test("'-' reads standard input", async (t) => {
  t.test('bytes', async (t) => {
    const stdin = source([corpusPcap.subarray(0, 100), corpusPcap.subarray(100)]);
    const run = await collect('-', { stdin });
    t.equal(run.error, undefined);
    t.same(
      flat(run).map((p) => p.time),
      times,
    );
    t.equal(stdin.closed, true);
  });

  t.test('a stream with an encoding set (strings) still gives the bytes', async (t) => {
    const stream = Readable.from([corpusPcap]).setEncoding('latin1');
    const run = await collect('-', { stdin: stream });
    t.equal(run.error, undefined);
    t.same(
      flat(run).map((p) => p.time),
      times,
    );
    t.same(Buffer.from(flat(run)[0]!.data), corpusPcap.subarray(40, 40 + 279));
  });

  t.test('process.stdin when no stream is given', async (t) => {
    const real = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', { configurable: true, get: () => Readable.from([corpusPcap]) });
    t.teardown(() => Object.defineProperty(process, 'stdin', real));
    const run = await collect('-');
    t.equal(run.error, undefined);
    t.equal(flat(run).length, 24);
  });

  t.test('a read error after some packets', async (t) => {
    const stdin = source([corpusPcap.subarray(0, 700)], new Error('EIO: i/o error, read'));
    const run = await collect('-', { stdin });
    t.equal(flat(run).length, 2, 'the packets read before the error');
    t.match(run.error, { code: 'E_CAPTURE_IO', message: 'cannot read standard input: EIO: i/o error, read' });
  });

  t.test('a source that throws something that is not an Error', async (t) => {
    const run = await collect('-', { stdin: source([], 'gone') });
    t.match(run.error, { code: 'E_CAPTURE_IO', message: 'cannot read standard input: gone' });
  });

  t.test('a parse failure closes the source', async (t) => {
    const stdin = source([Buffer.from('not a capture'), corpusPcap]);
    const run = await collect('-', { stdin });
    t.match(run.error, { code: 'E_CAPTURE_FORMAT', message: /^standard input: not a pcap or pcapng capture/ });
    t.equal(stdin.closed, true);
  });

  t.test('a consumer that stops early closes the source', async (t) => {
    const stdin = source([corpusPcap.subarray(0, 400), corpusPcap.subarray(400)]);
    for await (const batch of readCapture('-', { stdin })) {
      t.equal(batch.length, 1);
      break;
    }
    t.equal(stdin.closed, true);
  });

  t.test('an error the consumer throws in comes back unchanged, and the source is closed', async (t) => {
    const stdin = source([corpusPcap.subarray(0, 400), corpusPcap.subarray(400)]);
    const gen = readCapture('-', { stdin });
    t.equal((await gen.next()).done, false);
    const mine = new Error('consumer gave up');
    await t.rejects(gen.throw(mine), mine);
    t.equal(stdin.closed, true);
  });
});
