/**
 * The I/O half of a journal replay: reads a journal file (or stdin) line by
 * line and feeds it to a JournalReplay. The format and the correlation are
 * pure and live in src/agent/.
 */
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
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
  const { lines, close } = await openLines(path, opts);
  let line = 0;
  let error: JournalError | undefined;
  try {
    for await (const text of lines) {
      line++;
      const record = parseJournalLine(text, { source, line });
      if (record) replay.feed(record, line);
    }
  } catch (err) {
    const after = line === 0 ? '' : ` after line ${line}`;
    error = err instanceof JournalError ? err : new JournalError('E_JOURNAL_IO', `journal ${source} ${describeFsError(err as NodeJS.ErrnoException)}${after}`);
  }
  await close();
  return error ? { source, replay, error } : { source, replay };
}

async function openLines(path: string, opts: ReadJournalOptions): Promise<{ lines: AsyncIterable<string>; close: () => Promise<void> }> {
  if (path === '-') {
    const rl = createInterface({ input: opts.stdin ?? process.stdin, crlfDelay: Infinity });
    return {
      lines: rl,
      close: () => {
        rl.close();
        return Promise.resolve();
      },
    };
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new JournalError('E_JOURNAL_IO', `journal ${path} ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
  const handle = fh;
  // readLines closes the file at its end; the explicit close covers an early stop.
  return { lines: handle.readLines(), close: () => handle.close().catch(() => undefined) };
}
