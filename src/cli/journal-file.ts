/**
 * The I/O half of a journal replay: reads a journal file (or stdin) line by
 * line and feeds it to a JournalReplay. The format and the correlation are
 * pure and live in src/topology/.
 *
 * A gzip'd journal (`journal.jsonl.gz`, or gzip'd bytes on stdin) is
 * recognised by its first two bytes (1f 8b, gzip's magic), whatever its
 * name, and decompressed as it is read. Lines end in LF, CRLF or a lone CR,
 * as readline splits them.
 */
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
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

/** Replays the journal at `path` ('-' = stdin). Throws E_JOURNAL_IO only if it cannot be opened. */
export async function replayJournalFile(path: string, opts: ReadJournalOptions = {}): Promise<ReplayedJournal> {
  const source = path === '-' ? 'stdin' : path;
  const replay = new JournalReplay();
  const input = path === '-' ? (opts.stdin ?? process.stdin) : await openFile(path);
  const bytes = new JournalBytes(input);
  let line = 0;
  let error: JournalError | undefined;
  try {
    for await (const lines of bytes.lines()) {
      for (const text of lines) {
        line++;
        const record = parseJournalLine(text, { source, line });
        if (record) replay.feed(record, line);
      }
    }
  } catch (err) {
    const after = line === 0 ? '' : ` after line ${line}`;
    if (err instanceof JournalError) error = err;
    else if (bytes.gzip && isZlibError(err))
      error = new JournalError('E_JOURNAL_IO', `journal ${source} is gzip'd but does not decompress (${err.message})${after}`);
    else error = new JournalError('E_JOURNAL_IO', `journal ${source} ${describeFsError(err as NodeJS.ErrnoException)}${after}`);
  }
  bytes.close();
  return error ? { source, replay, error } : { source, replay };
}

async function openFile(path: string): Promise<NodeJS.ReadableStream> {
  // Opened first, so that a missing or unreadable file fails here, by itself.
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new JournalError('E_JOURNAL_IO', `journal ${path} ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
  // The stream owns the handle from here and closes it at its end or when destroyed.
  return fh.createReadStream({ highWaterMark: 256 * 1024 });
}

function isZlibError(err: unknown): err is Error {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).code!.startsWith('Z_');
}

/** The input's bytes, gunzipped when they start with gzip's magic, as batches of lines. */
class JournalBytes {
  gzip = false;
  readonly #input: NodeJS.ReadableStream;
  #gunzip: ReturnType<typeof createGunzip> | undefined;

  constructor(input: NodeJS.ReadableStream) {
    this.#input = input;
  }

  /**
   * One array of complete lines per chunk read; the last line may lack its
   * end. Lines are found in the bytes (LF and CR are ASCII, never inside a
   * UTF-8 sequence), and each chunk's complete lines are decoded at once.
   */
  async *lines(): AsyncGenerator<string[]> {
    let carry: Buffer | undefined;
    // A CR that ended the last chunk's text may be the first half of a CRLF.
    let pendingCr = false;
    for await (const chunk of this.#bytes()) {
      let buf = chunk;
      if (pendingCr && buf.length > 0) {
        if (buf[0] === 10) buf = buf.subarray(1);
        pendingCr = false;
      }
      const out: string[] = [];
      if (carry) {
        // Only the line the last chunk left unfinished is joined to its
        // end, not the whole chunk: one small copy instead of 256 KiB.
        const first = firstLineEnd(buf);
        if (first < 0) {
          carry = Buffer.concat([carry, buf]);
          continue;
        }
        pendingCr = splitLines(Buffer.concat([carry, buf.subarray(0, first + 1)]).toString('utf8'), out);
        carry = undefined;
        buf = buf.subarray(first + 1);
        if (pendingCr && buf.length > 0) {
          if (buf[0] === 10) buf = buf.subarray(1);
          pendingCr = false;
        }
      }
      const end = Math.max(buf.lastIndexOf(10), buf.lastIndexOf(13));
      if (end < 0) {
        if (buf.length > 0) carry = buf;
      } else {
        carry = end + 1 < buf.length ? buf.subarray(end + 1) : undefined;
        pendingCr = splitLines(buf.toString('utf8', 0, end + 1), out);
      }
      if (out.length > 0) yield out;
    }
    if (carry && carry.length > 0) yield [carry.toString('utf8')];
  }

  close(): void {
    this.#gunzip?.destroy();
    const input = this.#input as NodeJS.ReadableStream & { destroy?: () => void };
    if (input !== process.stdin) input.destroy?.();
  }

  async *#bytes(): AsyncGenerator<Buffer> {
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
      const gunzip = (this.#gunzip = createGunzip());
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

/** Where the first LF or CR is in `buf`, or -1. */
function firstLineEnd(buf: Buffer): number {
  const lf = buf.indexOf(10);
  const cr = buf.indexOf(13);
  return lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
}

/**
 * The lines of `s`, which ends in a line end, onto `out`; true when it
 * ended in a CR (the next byte may be its LF).
 */
function splitLines(s: string, out: string[]): boolean {
  let start = 0;
  let pendingCr = false;
  // The next CR, found once and again only when passed (CRs are rare).
  let cr = s.indexOf('\r');
  if (cr < 0) {
    // LF only, as the agent writes journals: a loop with nothing else in it
    // (the general one below runs several times slower on V8).
    while (start < s.length) {
      const lf = s.indexOf('\n', start);
      out.push(s.slice(start, lf));
      start = lf + 1;
    }
    return false;
  }
  while (start < s.length) {
    if (cr >= 0 && cr < start) cr = s.indexOf('\r', start);
    const lf = s.indexOf('\n', start);
    const nl = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
    out.push(s.slice(start, nl));
    if (nl !== cr) start = nl + 1;
    else if (nl + 1 === s.length) {
      pendingCr = true;
      start = nl + 1;
    } else start = s.charCodeAt(nl + 1) === 10 ? nl + 2 : nl + 1;
  }
  return pendingCr;
}
