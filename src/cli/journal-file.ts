/**
 * The I/O half of a journal replay: reads a journal file (or stdin) line by
 * line and feeds it to a JournalReplay. The format and the correlation are
 * pure and live in src/topology/.
 *
 * A gzip'd journal (`journal.jsonl.gz`, or gzip'd bytes on stdin) is
 * recognised by its first two bytes (1f 8b, gzip's magic), whatever its
 * name, and decompressed as it is read. Lines end in LF, CRLF or a lone CR,
 * as readline splits them.
 *
 * A plain file is read synchronously, a MiB at a time: replay has nothing
 * else to do meanwhile, and a stream's promises and chunk objects cost more
 * than the reading. stdin and gzip'd input are streamed.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Gunzip } from 'node:zlib';
import { JournalError, parseJournalLine } from '../topology/journal';
import { JournalReplay } from '../topology/replay';
import { describeFsError } from '../errors';

export interface ReplayedJournal {
  /** The name messages use for the input: the path, or "stdin". */
  readonly source: string;
  readonly replay: JournalReplay;
  /**
   * Set when the journal stopped at a bad line or a read error; the replay
   * holds everything before it, for the caller to report before failing.
   */
  readonly error?: JournalError;
}

export interface ReadJournalOptions {
  /** What '-' reads instead of process.stdin (tests). */
  readonly stdin?: NodeJS.ReadableStream;
}

/** Bytes read at a time from a plain file, and decompressed at a time from a gzip'd one. */
const READ_SIZE = 1024 * 1024;

/** Replays the journal at `path` ('-' = stdin). Throws E_JOURNAL_IO only if it cannot be opened. */
export async function replayJournalFile(path: string, opts: ReadJournalOptions = {}): Promise<ReplayedJournal> {
  const source = path === '-' ? 'stdin' : path;
  const replay = new JournalReplay();
  const fd = path === '-' ? undefined : openFile(path);
  let line = 0;
  const lines = new LineSplitter((text) => {
    line++;
    const record = parseJournalLine(text, { source, line });
    if (record) replay.feed(record, line);
  });
  let bytes: JournalBytes | undefined;
  let error: JournalError | undefined;
  try {
    if (fd !== undefined && readPlainFile(fd, lines)) lines.end();
    else {
      // stdin, or a gzip'd file: streamed (the file from its start, the stream owning the descriptor).
      const input = fd === undefined ? (opts.stdin ?? process.stdin) : createReadStream('', { fd, start: 0, highWaterMark: 256 * 1024 });
      bytes = new JournalBytes(input);
      for await (const chunk of bytes.chunks()) lines.push(chunk);
      lines.end();
    }
  } catch (err) {
    const after = line === 0 ? '' : ` after line ${line}`;
    if (err instanceof JournalError) error = err;
    else if (bytes?.gzip && isZlibError(err))
      error = new JournalError('E_JOURNAL_IO', `journal ${source} is gzip'd but does not decompress (${err.message})${after}`);
    else error = new JournalError('E_JOURNAL_IO', `journal ${source} ${describeFsError(err as NodeJS.ErrnoException)}${after}`);
  }
  if (bytes) bytes.close();
  else if (fd !== undefined) closeSync(fd);
  return error ? { source, replay, error } : { source, replay };
}

function openFile(path: string): number {
  // Opened first, so that a missing or unreadable file fails here, by itself.
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new JournalError('E_JOURNAL_IO', `journal ${path} ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
}

/**
 * Reads the file at `fd` into `lines`, unless it is gzip'd: false then,
 * before any line, for the caller to stream it. Read errors are thrown.
 */
function readPlainFile(fd: number, lines: LineSplitter): boolean {
  const buf = Buffer.allocUnsafe(READ_SIZE);
  let first = true;
  for (;;) {
    let n = readSync(fd, buf, 0, buf.length, null);
    if (first) {
      // Enough of the start to see the magic (a read may return less than asked).
      while (n < 2) {
        const more = n === 0 ? 0 : readSync(fd, buf, n, buf.length - n, null);
        if (more === 0) break;
        n += more;
      }
      if (n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return false;
      first = false;
    }
    if (n === 0) return true;
    lines.push(buf.subarray(0, n));
  }
}

function isZlibError(err: unknown): err is Error {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).code!.startsWith('Z_');
}

/**
 * Cuts bytes into lines and hands each, decoded, to `onLine`. Lines are
 * found in the bytes (LF and CR are ASCII, never inside a UTF-8 sequence)
 * and each is decoded by itself, so that no string outlives its line. The
 * buffers pushed may be reused once push() returns: the unfinished last
 * line is copied.
 */
export class LineSplitter {
  readonly #onLine: (text: string) => void;
  #carry: Buffer | undefined;
  /** A CR ended the last buffer: it may be the first half of a CRLF. */
  #pendingCr = false;

  constructor(onLine: (text: string) => void) {
    this.#onLine = onLine;
  }

  push(buf: Buffer): void {
    let start = 0;
    if (this.#pendingCr && buf.length > 0) {
      if (buf[0] === 10) start = 1;
      this.#pendingCr = false;
    }
    if (this.#carry) {
      // Only the line the last buffer left unfinished is joined to its end.
      const first = firstLineEnd(buf, start);
      if (first < 0) {
        this.#carry = Buffer.concat([this.#carry, buf.subarray(start)]);
        return;
      }
      const carry = this.#carry;
      this.#carry = undefined;
      this.#onLine(Buffer.concat([carry, buf.subarray(start, first)]).toString('utf8'));
      start = this.#after(buf, first);
    }
    const onLine = this.#onLine;
    if (buf.indexOf(13, start) < 0) {
      // LF only, as the agent writes journals: a loop with nothing else in it.
      for (let lf = buf.indexOf(10, start); lf >= 0; lf = buf.indexOf(10, start)) {
        onLine(buf.toString('utf8', start, lf));
        start = lf + 1;
      }
    } else {
      for (let end = firstLineEnd(buf, start); end >= 0; end = firstLineEnd(buf, start)) {
        onLine(buf.toString('utf8', start, end));
        start = this.#after(buf, end);
      }
    }
    if (start < buf.length) this.#carry = Buffer.from(buf.subarray(start));
  }

  /** The last line, when the input does not end in a line end. */
  end(): void {
    const carry = this.#carry;
    this.#carry = undefined;
    if (carry && carry.length > 0) this.#onLine(carry.toString('utf8'));
  }

  /** Where the next line starts after the line end at `end`. */
  #after(buf: Buffer, end: number): number {
    if (buf[end] !== 13) return end + 1;
    if (end + 1 === buf.length) {
      this.#pendingCr = true;
      return end + 1;
    }
    return buf[end + 1] === 10 ? end + 2 : end + 1;
  }
}

/** Where the first LF or CR from `from` is in `buf`, or -1. */
function firstLineEnd(buf: Buffer, from: number): number {
  const lf = buf.indexOf(10, from);
  const cr = buf.indexOf(13, from);
  return lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
}

/** A stream's bytes, gunzipped when they start with gzip's magic. */
class JournalBytes {
  gzip = false;
  readonly #input: NodeJS.ReadableStream;
  #gunzip: Gunzip | undefined;

  constructor(input: NodeJS.ReadableStream) {
    this.#input = input;
  }

  close(): void {
    this.#gunzip?.destroy();
    const input = this.#input as NodeJS.ReadableStream & { destroy?: () => void };
    if (input !== process.stdin) input.destroy?.();
  }

  async *chunks(): AsyncGenerator<Buffer> {
    let head: Buffer | undefined;
    const it = (this.#input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    // Enough of the start to see the magic (a stream may hand over one byte at a time).
    while (head === undefined || head.length < 2) {
      const r = await it.next();
      if (r.done) break;
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
    }
    if (head === undefined) return;
    const rest = async function* (): AsyncGenerator<Buffer> {
      yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
      }
    };
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      this.gzip = true;
      // Loaded only for a gzip'd journal.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createGunzip } = require('node:zlib') as typeof import('node:zlib');
      const gunzip = (this.#gunzip = createGunzip({ chunkSize: READ_SIZE }));
      const feed = (async () => {
        for await (const chunk of rest()) if (!gunzip.write(chunk)) await new Promise((res) => gunzip.once('drain', res));
        gunzip.end();
      })();
      // A read error of the input ends the decompression with it.
      feed.catch((err: Error) => gunzip.destroy(err));
      yield* gunzip as AsyncIterable<Buffer>;
      await feed;
      return;
    }
    yield* rest();
  }
}
